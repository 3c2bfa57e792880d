// kernels/wgmma_tf32.cuh — Hopper's warpgroup TF32 tensor-core multiply-accumulate, D = A·B + D,
// with the m64nNk8 shape of PTX `wgmma.mma_async.sync.aligned.m64nNk8.f32.tf32.tf32` (sm_90a), both
// operands read from shared memory through matrix descriptors; and its CPU emulation, so that the
// same sources run in CI. Device code only (included by kernels/*.cu and tests).
//
// Why it exists. mma.sync (kernels/mma_tf32.cuh) is a warp's instruction whose operands come from
// registers: every k8 step a warp loads its fragments from shared memory (LDS) and issues one HMMA
// per 16×8 output tile; on sm_90 the TF32 main loops issue ~6.5 instructions per HMMA
// (kernels/README.md step 13), so the issue slots, more than the tensor cores, are the likely limit
// (how close mma.sync itself comes to the tensor cores' peak on Hopper is for
// tools/bench/bench_tensor_roof.cu to measure). wgmma is one instruction for a 64×N×8 product (N up to 256: 8 to 32 times an m16n8k8's work, for the warpgroup's 4 warps), reads
// A and B from shared memory itself, and runs asynchronously while the warps issue the next
// slice's loads. This header is the primitive and its test; the conv main loop on it is in
// kernels/implicit_gemm_wgmma.cuh (kernels/README.md step 18).
//
// The operation (a warpgroup = 4 consecutive warps whose first warp index is a multiple of 4; all
// 128 threads execute every call, with the same descriptors):
//   D[m][n] = Σ_{k<8} A[m][k]·B[k][n] + (accumulate ? D[m][n] : 0),   m < 64, n < N
// in fp32 with TF32 operands (only their 19 high bits are read, as by mma.sync).
//
// Shared-memory layout (no swizzle, "K-major" for both operands, the only major order wgmma
// allows for TF32). The unit is the core matrix: 8 rows × 16 bytes (4 TF32 values along k), its
// rows consecutive, 128 contiguous bytes. For A the rows are m, for B they are n; element (r, k)
// of an operand lives at byte
//   (r mod 8)·16 + (k mod 4)·4 + ⌊r/8⌋·SBO + ⌊k/4⌋·LBO      (wgmma_kmajor::offset, in floats)
// from the descriptor's start: SBO ("stride byte offset") steps between core matrices along m or n,
// LBO ("leading byte offset") between the two along k. An m64nNk8 reads 8×2 core matrices of A
// and (N/8)×2 of B; the next k8 step's operands start 2·LBO bytes on.
//
// Matrix descriptor (64 bits; addresses and offsets in 16-byte units, 14 bits each):
//   bits 0–13 start address (shared window) >> 4,  16–29 LBO >> 4,  32–45 SBO >> 4,
//   49–51 base offset (0: no swizzle),  62–63 swizzle mode (0: none).
//
// Accumulators (a thread's N/2 floats; w = warp within the warpgroup, g = lane/4, t = lane mod 4)
// — the m16n8 C fragment of mma.sync, one per 8 columns, the warp owning rows 16w … 16w + 15:
//   d[4j + 0] = D[16w + g][8j + 2t]       d[4j + 1] = D[16w + g][8j + 2t + 1]
//   d[4j + 2] = D[16w + g + 8][8j + 2t]   d[4j + 3] = D[16w + g + 8][8j + 2t + 1]
//
// Ordering (the instruction is asynchronous, so a program states what it waits for):
//   1. shared-memory writes by ordinary stores are made visible to wgmma's reads (the async proxy)
//      with fence_async_smem() by each writer, then a __syncthreads;
//   2. fence() (wgmma.fence) before the first mma of a batch, when d was written since;
//   3. mma(...) calls, then commit() closes them into a group;
//   4. wait<P>(d) returns when at most P groups are still in flight; only then may d be read and
//      the shared memory those groups read be overwritten.
//
// Emulation (g++): the pipe object keeps the issued products in a queue, and wait<P> computes
// them — when the hardware may have run them at the latest. So a program that reads d, or
// overwrites the operands' shared memory, before the matching wait, gets what a GPU could give it
// and what the schedule changes: the race checks (kernels/emu/race_check.h) see it. Each product
// is one fp32 FMA chain per output over k ascending, from the TF32 bits of the operands, as the
// mma.sync emulation does.
#pragma once
#include <cstdint>

#include "kernels/emu/cuda_compat.h"
#include "kernels/host_device.h"

namespace senet::detail {

// Where element (r, k) of a K-major, unswizzled operand lives, in floats from the descriptor's
// start; lbo and sbo in bytes (multiples of 16).
struct wgmma_kmajor {
  uint32_t lbo, sbo;
  constexpr SENET_HD uint32_t offset(int r, int k) const {
    return uint32_t((r & 7) * 4 + (k & 3)) + uint32_t(r >> 3) * (sbo / 4) +
           uint32_t(k >> 2) * (lbo / 4);
  }
};

// The descriptor's bits for a start address in the shared window (bytes) and a layout.
constexpr SENET_HD uint64_t wgmma_desc_bits(uint32_t smem_addr, wgmma_kmajor l) {
  return uint64_t((smem_addr >> 4) & 0x3fffu) | (uint64_t((l.lbo >> 4) & 0x3fffu) << 16) |
         (uint64_t((l.sbo >> 4) & 0x3fffu) << 32);
}

struct wgmma_desc {
  uint64_t bits;
#if SENET_CUDA_EMULATION
  const float* start;  // 14 bits of address cannot name a host pointer: the emulation keeps it
#endif
};

// The descriptor of the operand whose element (0, 0) is at `start` (shared memory, 16-byte aligned).
__device__ __forceinline__ wgmma_desc make_wgmma_desc(const float* start, wgmma_kmajor l) {
#if SENET_CUDA_EMULATION
  if (reinterpret_cast<uintptr_t>(start) & 15u) __builtin_trap();  // the field counts 16 bytes
  return {wgmma_desc_bits(uint32_t(reinterpret_cast<uintptr_t>(start)), l), start};
#else
  return {wgmma_desc_bits(uint32_t(__cvta_generic_to_shared(start)), l)};
#endif
}

// The bits of a descriptor `floats` further on (a multiple of 4: the address field counts 16
// bytes): the field plus floats / 4, added in the low 32 bits — the high word (SBO) stays the
// layout's constant. A shared address is below 2¹⁸ bytes, so on a GPU the sum cannot carry out of
// the field's 14 bits; a host address (the emulation) can, into bits 14–15, which carry nothing.
constexpr SENET_HD uint64_t wgmma_desc_advance_bits(uint64_t bits, int floats) {
  return (bits & ~uint64_t(0xffffffffu)) | uint32_t(uint32_t(bits) + uint32_t(floats >> 2));
}

// The descriptor `floats` further on: a loop builds its descriptors once and advances them by a
// stage's and a k step's offset — one 32-bit add where make_wgmma_desc converts, shifts, masks and
// merges. The emulation applies the same bit arithmetic (bits 14–15 cleared, see above) and moves
// its pointer separately; wgmma_pipe::mma traps where the two disagree.
__device__ __forceinline__ wgmma_desc advance_wgmma_desc(wgmma_desc d, int floats) {
#if SENET_CUDA_EMULATION
  if (floats & 3) __builtin_trap();  // not a whole 16-byte step
  return {wgmma_desc_advance_bits(d.bits, floats) & ~uint64_t(0xc000u), d.start + floats};
#else
  return {wgmma_desc_advance_bits(d.bits, floats)};
#endif
}

// fence.proxy.async.shared::cta: this thread's shared-memory stores become visible to wgmma's reads.
__device__ __forceinline__ void fence_async_smem() {
#if !SENET_CUDA_EMULATION && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

#if !SENET_CUDA_EMULATION
// The instruction for each N this engine uses. Its operand list (N/2 accumulator registers) must be
// spelled out in the asm string, so the lists are macros of 32 registers: "%0, …, %31" and the
// matching constraints "+f"(d[0]) … "+f"(d[31]), and the next 32. scale-d = p (accumulate),
// scale-a = scale-b = 1; the descriptors and the accumulate flag follow the registers.
#define SENET_WGMMA_R0_31                                                                      \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define SENET_WGMMA_R32_63                                                                     \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, " \
  "%50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define SENET_WGMMA_D8(o)                                                                     \
  "+f"(d[o]), "+f"(d[o + 1]), "+f"(d[o + 2]), "+f"(d[o + 3]), "+f"(d[o + 4]), "+f"(d[o + 5]), \
      "+f"(d[o + 6]), "+f"(d[o + 7])
#define SENET_WGMMA_D32(o) \
  SENET_WGMMA_D8(o), SENET_WGMMA_D8(o + 8), SENET_WGMMA_D8(o + 16), SENET_WGMMA_D8(o + 24)
// "{\n.reg .pred p; setp.ne.b32 p, %<acc>, 0; wgmma…m64n<N>k8… {regs}, %<a>, %<b>, p, 1, 1;\n}"
#define SENET_WGMMA_TF32_ASM(N, REGS, A, B, ACC)                                      \
  "{\n.reg .pred p;\nsetp.ne.b32 p, %" #ACC                                           \
  ", 0;\n"                                                                            \
  "wgmma.mma_async.sync.aligned.m64n" #N "k8.f32.tf32.tf32 {" REGS "}, %" #A ", %" #B \
  ", p, 1, 1;\n}\n"

template <int N>
__device__ __forceinline__ void wgmma_tf32_issue(float (&d)[N / 2], uint64_t a, uint64_t b,
                                                 int acc);

template <>
__device__ __forceinline__ void wgmma_tf32_issue<8>(float (&d)[4], uint64_t a, uint64_t b,
                                                    int acc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(SENET_WGMMA_TF32_ASM(8, "%0, %1, %2, %3", 4, 5, 6)
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "l"(a), "l"(b), "r"(acc));
#else
  __trap();  // wgmma needs sm_90a
#endif
}

template <>
__device__ __forceinline__ void wgmma_tf32_issue<64>(float (&d)[32], uint64_t a, uint64_t b,
                                                     int acc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(SENET_WGMMA_TF32_ASM(64, SENET_WGMMA_R0_31, 32, 33, 34)
               : SENET_WGMMA_D32(0)
               : "l"(a), "l"(b), "r"(acc));
#else
  __trap();
#endif
}

template <>
__device__ __forceinline__ void wgmma_tf32_issue<128>(float (&d)[64], uint64_t a, uint64_t b,
                                                      int acc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(SENET_WGMMA_TF32_ASM(128, SENET_WGMMA_R0_31 ", " SENET_WGMMA_R32_63, 64, 65, 66)
               : SENET_WGMMA_D32(0), SENET_WGMMA_D32(32)
               : "l"(a), "l"(b), "r"(acc));
#else
  __trap();
#endif
}
#undef SENET_WGMMA_TF32_ASM
#undef SENET_WGMMA_D32
#undef SENET_WGMMA_D8
#undef SENET_WGMMA_R32_63
#undef SENET_WGMMA_R0_31
#endif  // !SENET_CUDA_EMULATION

// The asynchronous products of one thread of a warpgroup (a local object in registers on the GPU;
// under emulation, the queue of products not yet computed).
class wgmma_pipe {
 public:
  // wgmma.fence: register writes to accumulators (and shared-memory ones) before it are ordered
  // before the next mma.
  __device__ __forceinline__ void fence() {
#if !SENET_CUDA_EMULATION && defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
  }

  // Issues D (this thread's d) = A·B + (accumulate ? D : 0), A = 64×8 at a, B = 8×N at b.
  template <int N>
  __device__ __forceinline__ void mma(float (&d)[N / 2], wgmma_desc a, wgmma_desc b,
                                      bool accumulate) {
    static_assert(N == 8 || N == 64 || N == 128, "written out for N = 8, 64, 128");
#if SENET_CUDA_EMULATION
    if (queued_ == kQueue) __builtin_trap();  // more products in flight than this emulation holds
    if (!field_matches(a) || !field_matches(b)) __builtin_trap();  // bits and pointer disagree
    queue_[queued_++] = {d, N, a, b, accumulate, groups_};
#else
    wgmma_tf32_issue<N>(d, a.bits, b.bits, accumulate ? 1 : 0);
#endif
  }

  // wgmma.commit_group: the mma calls since the last commit form one group.
  __device__ __forceinline__ void commit() {
#if SENET_CUDA_EMULATION
    ++groups_;
    if (threadIdx.x % 128 == 0) emu::detail::count_wgmma_commit();  // one a warpgroup
#else
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
#endif
  }

  // wgmma.wait_group P: returns when at most P committed groups are still in flight; d (the
  // accumulators those groups write) may then be read.
  template <int P, int K>
  __device__ __forceinline__ void wait(float (&d)[K]) {
#if SENET_CUDA_EMULATION
    (void)d;
    int done = 0;
    for (int i = 0; i < queued_; ++i)
      if (queue_[i].group < groups_ - P) compute(queue_[i]), done = i + 1;
    for (int i = done; i < queued_; ++i) queue_[i - done] = queue_[i];
    queued_ -= done;
#else
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(P) : "memory");
#endif
    // Keep the compiler from moving reads of d above the wait (d is written by the asynchronous
    // instruction, which the compiler sees as done at the mma).
#pragma unroll
    for (int i = 0; i < K; ++i) asm volatile("" : "+f"(d[i])::"memory");
#endif
  }

#if SENET_CUDA_EMULATION
 private:
  struct op {
    float* d;
    int n;
    wgmma_desc a, b;
    bool accumulate;
    int group;
  };
  static constexpr int kQueue = 16;
  op queue_[kQueue];
  int queued_ = 0, groups_ = 0;

  // The descriptor's address field is its pointer's (the hardware reads only the field; a
  // descriptor advanced wrongly — wgmma_desc_advance_bits — would show here).
  static __device__ bool field_matches(const wgmma_desc& d) {
    return ((d.bits ^ (uint64_t(reinterpret_cast<uintptr_t>(d.start)) >> 4)) & 0x3fffu) == 0;
  }
  static __device__ float tf32_bits(float x) {
    return __uint_as_float(__float_as_uint(x) & 0xffffe000u);
  }
  static __device__ wgmma_kmajor layout(uint64_t bits) {
    return {uint32_t((bits >> 16) & 0x3fffu) << 4, uint32_t((bits >> 32) & 0x3fffu) << 4};
  }
  __device__ void compute(const op& o) const {
    const int tid = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    const int w = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const wgmma_kmajor la = layout(o.a.bits), lb = layout(o.b.bits);
    for (int j = 0; j < o.n / 8; ++j)
      for (int e = 0; e < 4; ++e) {
        const int m = 16 * w + g + 8 * (e >> 1), n = 8 * j + 2 * t + (e & 1);
        float s = o.accumulate ? o.d[4 * j + e] : 0.0f;
        for (int k = 0; k < 8; ++k)
          s = fmaf(tf32_bits(o.a.start[la.offset(m, k)]), tf32_bits(o.b.start[lb.offset(n, k)]), s);
        o.d[4 * j + e] = s;
      }
  }
#endif
};

}  // namespace senet::detail
