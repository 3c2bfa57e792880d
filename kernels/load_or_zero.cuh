// kernels/load_or_zero.cuh — p[0] when `in`, else 0.0f, as one predicated global load. Device code
// only (included by the gathers, kernels/conv_gather_*.cuh).
//
// Why it matters: the fast main loops (implicit_gemm_loader.cuh) issue slice s+1's global loads
// into registers, compute slice s out of shared memory, then store the registers — so that the
// loads' latency (hundreds of cycles from L2 or DRAM) hides behind a slice's math. That holds only
// if nothing reads a loaded register before the math. The gathers used to write
//     v = p[in ? off : 0];  return in ? v : 0;      → LDG, then FSEL on the loaded value
// and the select, issued right after the load, made the warp wait for memory before its first
// FFMA/HMMA: tools/gpu/sass_report.py's "ldg cover" found 0 math instructions between every main
// loop's loads and their first use. Here the zero is the load's own: on the GPU a predicated
// `@p ld.global` into a register set to 0 beforehand (PTX below; SASS: a MOV and an @P LDG), so
// the first reader of the value is the shared-memory store after the math.
// The address must be valid only when `in` (the callers keep theirs clamped all the same: under
// the emulation the pointer arithmetic stays inside the tensor). The inline PTX has no memory
// clobber: the gathers read tensors that no thread writes during the kernel.
#pragma once
#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

__device__ __forceinline__ float load_or_zero(const float* p, bool in) {
#if SENET_CUDA_EMULATION
  return in ? *p : 0.0f;
#else
  float v;
  asm("{\n\t"
      ".reg .pred q;\n\t"
      "setp.ne.b32 q, %2, 0;\n\t"
      "mov.f32 %0, 0f00000000;\n\t"
      "@q ld.global.f32 %0, [%1];\n\t"
      "}"
      : "=f"(v)
      : "l"(p), "r"(int(in)));
  return v;
#endif
}

// base[off] when `in`, else 0.0f: load_or_zero with the offset applied here. On the GPU the offset
// is used as it is: a load that is off forms no access, so its address may point anywhere and
// needs no select (`in ? off : 0`). Under the emulation the address is C++ pointer arithmetic,
// which must stay inside the tensor: there the offset is 0 when !in, as the gathers always did.
// Used by wgrad's gathers (conv_gather_fast.cuh, conv_gather_act.cuh), where dropping the select
// shortened every main loop that does not fold the BN backward (sm_90: TF32 317 → 279, 248 → 226
// instructions; SIMT 683 → 665). Tried on fprop's and dgrad's gathers too and left out: ptxas then
// formed their addresses with more instructions (TF32 128×128 fprop 204 → 212) and sank the
// prefetch of a dgrad phase loop (ldg cover 512 → 80/512) — kernels/README.md step 15.
__device__ __forceinline__ float load_or_zero_at(const float* base, int off, bool in) {
#if SENET_CUDA_EMULATION
  return load_or_zero(base + (in ? off : 0), in);
#else
  return load_or_zero(base + off, in);
#endif
}

}  // namespace senet::detail
