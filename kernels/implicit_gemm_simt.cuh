// kernels/implicit_gemm_simt.cuh — the fast FP32 (CUDA-core) implicit-GEMM main loop: the step
// after v3's 64×64 tile (kernels/implicit_gemm_tile.cuh), same contract — one BM×BN tile of
//   C[m, n] = Σ_kk A[m, kk] · B[kk, n],  kk ∈ [k_begin, k_end),  A and B read through a gather —
// with what the SASS of v3 showed missing (kernels/README.md, "From the math to the fastest
// version"). Device code only.
//  * Bigger tile, more reuse: 128×128, 256 threads, 8×8 outputs per thread → per kk, 16 shared
//    loads (4 LDS.128) feed 64 FMAs (v3: 8 loads for 16).
//  * Vector shared-memory reads: a thread's 8 rows are two runs of 4 consecutive rows (tm·4 and
//    64 + tm·4), likewise its columns, so each run is one 16-byte LDS.128. Rows padded to BM + 4
//    floats keep the float4s aligned and the transposing B store conflict-free.
//  * No division in the loop: a hoisting gather (kernels/conv_gather_fast.cuh) through the shared
//    loader (kernels/implicit_gemm_loader.cuh).
//  * Double buffering: two shared-memory stages. While slice s is multiplied out of stage s mod 2,
//    slice s+1's global loads are in flight into registers, then stored to the other stage; one
//    __syncthreads per slice (v3: two, and the loads wait for the math).
// Threads: tm = tid mod 16 (rows), tn = tid div 16 (columns); m-fastest, so a warp's 32 lanes read
// 16 distinct float4 of A (512 consecutive bytes, no bank conflict) and 2 broadcast float4 of B.
//   row(i) = (i div 4)·BM/2 + 4·tm + i mod 4,   col(j) = (j div 4)·BN/2 + 4·tn + j mod 4
// tm is the row slot of the fused BN epilogue (the threads of one slot own disjoint columns).
// Numerics: one fp32 FMA chain per output, kk ascending — like v1–v3, bitwise equal to the CPU on
// small integers.
#pragma once
#include "kernels/emu/cuda_compat.h"
#include "kernels/host_device.h"
#include "kernels/implicit_gemm_loader.cuh"

namespace senet::detail {

template <int BM_, int BN_, int BK_>
struct simt_tile {
  static constexpr bool tensor_core = false, hoisted = true;
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = 8, TN = 8;
  static constexpr int TY = BM / TM, TX = BN / TN;  // threads along m, along n
  static constexpr int threads = TY * TX;
  static constexpr int min_blocks = 2;  // per SM (kernels/implicit_gemm.cuh)
  static constexpr int LDA = BM + 4, LDB = BN + 4;
  static constexpr int smem_a = 2 * BK * LDA, smem_b = 2 * BK * LDB;  // two stages each
  // Where A[kk][m] and B[kk][n] of a stage live (floats from its start): padded rows (linear, so
  // additive over the loader's steps: kernels/implicit_gemm_loader.cuh).
  static constexpr SENET_HD int a_index(int kk, int m) { return kk * LDA + m; }
  static constexpr SENET_HD int b_index(int kk, int n) { return kk * LDB + n; }
  static_assert(BM % 8 == 0 && BN % 8 == 0 && BM / 2 == 4 * TY && BN / 2 == 4 * TX,
                "two runs of 4 rows and of 4 columns per thread");
};

template <class T>
struct simt_thread {
  int tm, tn;
  __device__ __forceinline__ explicit simt_thread(int tid) : tm(tid % T::TY), tn(tid / T::TY) {}
  __device__ __forceinline__ int row(int i) const {
    return (i >> 2) * (T::BM / 2) + 4 * tm + (i & 3);
  }
  __device__ __forceinline__ int col(int j) const {
    return (j >> 2) * (T::BN / 2) + 4 * tn + (j & 3);
  }
};

// acc (zeroed here) ← the tile's partial product over kk ∈ [k_begin, k_end). As: T::smem_a floats,
// Bs: T::smem_b floats of 16-byte-aligned shared memory. Every thread of the block calls it.
template <class T, class G>
__device__ __forceinline__ void implicit_gemm_mainloop_simt(int tid, int m0, int n0, int M, int Nn,
                                                            int k_begin, int k_end, const G& g,
                                                            float* As, float* Bs,
                                                            float (&acc)[T::TM][T::TN]) {
#pragma unroll
  for (int i = 0; i < T::TM; ++i)
#pragma unroll
    for (int j = 0; j < T::TN; ++j) acc[i][j] = 0.0f;
  const simt_thread<T> th(tid);
  two_stage_pipeline<T, G, false>(
      tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, [&](const float* As_s, const float* Bs_s) {
        const float* a_s = As_s + 4 * th.tm;
        const float* b_s = Bs_s + 4 * th.tn;
#pragma unroll
        for (int kk = 0; kk < T::BK; ++kk) {
          const float4 a0 = *reinterpret_cast<const float4*>(a_s + kk * T::LDA);
          const float4 a1 = *reinterpret_cast<const float4*>(a_s + kk * T::LDA + T::BM / 2);
          const float4 b0 = *reinterpret_cast<const float4*>(b_s + kk * T::LDB);
          const float4 b1 = *reinterpret_cast<const float4*>(b_s + kk * T::LDB + T::BN / 2);
          const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
          const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
          for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
      });
}

using tile_simt_128x128 = simt_tile<128, 128, 8>;

}  // namespace senet::detail
