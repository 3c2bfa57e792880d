// kernels/mma_tf32.cuh — one warp-wide TF32 tensor-core multiply-accumulate, D = A·B + C, with the
// m16n8k8 shape of PTX `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32` (sm_80 and later), and
// its CPU emulation, so the same kernels run in CI. Device code only (included by kernels/*.cu).
//
// TF32 ("tensor float 32"): fp32's sign and 8-bit exponent, 10 of its 23 mantissa bits — the 13
// low bits are zero. to_tf32(x) rounds to nearest, ties to even (PTX cvt.rn.tf32.f32, sm_90's
// one-instruction F2FP.TF32; cvt.rna, ties away, costs three there — 2 instructions more per
// gathered element of a TF32 main loop — and sm_80 has no cvt.rn.tf32, so it gets the bit form):
//   bits(x) + 0xfff + (bit 13 of x), then clear the 13 low bits (finite x; ±inf and NaN pass).
// A product of two TF32 values has ≤ 22 significant bits, so it is exact in fp32; the products are
// summed in fp32 (the tensor core's internal order is not documented: results equal the FP32
// kernels bitwise only where every partial sum is exact, e.g. small integers).
//
// Fragments (lane = thread id mod 32, g = lane / 4 "groupID", t = lane mod 4 "threadID_in_group"):
//   A (16×8, row-major):  a[0] = A[g][t]    a[1] = A[g+8][t]    a[2] = A[g][t+4]  a[3] = A[g+8][t+4]
//   B (8×8,  "col"):      b[0] = B[t][g]    b[1] = B[t+4][g]
//   C, D (16×8):          c[0] = C[g][2t]   c[1] = C[g][2t+1]   c[2] = C[g+8][2t] c[3] = C[g+8][2t+1]
// so one lane's accumulators are 2 rows × 2 adjacent columns. All 32 lanes of the warp must call
// mma_tf32_m16n8k8 together (it is a warp-collective instruction).
//
// Emulation (g++): each lane fetches the A rows and B columns it needs from the lanes that hold
// them — 16 warp shuffles of two packed floats — and computes its four outputs as one fp32 FMA
// chain per output over k ascending, starting from c. Operands are read as the tensor core reads
// them: only their TF32 bits (the 13 low bits are ignored, as the hardware ignores them).
#pragma once
#include <cstdint>

#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

// x rounded to TF32 (nearest, ties to even), returned as an fp32 with the 13 low bits zero.
__device__ __forceinline__ float to_tf32(float x) {
#if SENET_CUDA_EMULATION || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900)
  // The finite test as one float compare (false for NaN): sm_80 issues FSETP on |x| instead of
  // LOP3 + ISETP on the exponent bits — 5 instructions a value, not 6.
  uint32_t u = __float_as_uint(x);
  if (fabsf(x) < __uint_as_float(0x7f800000u))  // finite
    u = (u + 0xfffu + ((u >> 13) & 1u)) & 0xffffe000u;
  return __uint_as_float(u);
#else
  uint32_t u;
  asm("cvt.rn.tf32.f32 %0, %1;" : "=r"(u) : "f"(x));
  return __uint_as_float(u);
#endif
}

#if SENET_CUDA_EMULATION
namespace emu_mma {
// Two floats in one 8-byte shuffle; the tensor core reads only the TF32 bits of each.
__device__ __forceinline__ uint64_t pack(float lo, float hi) {
  return uint64_t(__float_as_uint(lo) & 0xffffe000u) |
         (uint64_t(__float_as_uint(hi) & 0xffffe000u) << 32);
}
__device__ __forceinline__ float lo(uint64_t v) { return __uint_as_float(uint32_t(v)); }
__device__ __forceinline__ float hi(uint64_t v) { return __uint_as_float(uint32_t(v >> 32)); }
}  // namespace emu_mma
#endif

// d (this lane's c[0..3], accumulated in place) += A·B for the warp's 16×8×8 product.
__device__ __forceinline__ void mma_tf32_m16n8k8(float (&d)[4], const float (&a)[4],
                                                 const float (&b)[2]) {
#if SENET_CUDA_EMULATION
  using namespace emu_mma;
  const int lane = int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) & 31;
  const int g = lane >> 2, t = lane & 3;
  float a_lo[8], a_hi[8];  // A[g][k], A[g+8][k]
  float b_0[8], b_1[8];    // B[k][2t], B[k][2t+1]
  const uint64_t a01 = pack(a[0], a[1]), a23 = pack(a[2], a[3]), b01 = pack(b[0], b[1]);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    // Lane 4g + j holds A[g][j], A[g+8][j] (a[0], a[1]) and A[g][j+4], A[g+8][j+4] (a[2], a[3]).
    const uint64_t v01 = __shfl_sync(0xffffffffu, a01, 4 * g + j);
    const uint64_t v23 = __shfl_sync(0xffffffffu, a23, 4 * g + j);
    a_lo[j] = lo(v01), a_hi[j] = hi(v01), a_lo[j + 4] = lo(v23), a_hi[j + 4] = hi(v23);
    // Lane 4n + j holds B[j][n] and B[j+4][n].
    const uint64_t w0 = __shfl_sync(0xffffffffu, b01, 4 * (2 * t) + j);
    const uint64_t w1 = __shfl_sync(0xffffffffu, b01, 4 * (2 * t + 1) + j);
    b_0[j] = lo(w0), b_0[j + 4] = hi(w0), b_1[j] = lo(w1), b_1[j + 4] = hi(w1);
  }
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    d[0] = fmaf(a_lo[k], b_0[k], d[0]);
    d[1] = fmaf(a_lo[k], b_1[k], d[1]);
    d[2] = fmaf(a_hi[k], b_0[k], d[2]);
    d[3] = fmaf(a_hi[k], b_1[k], d[3]);
  }
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
        "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
#endif
}

}  // namespace senet::detail
