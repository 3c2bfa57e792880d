// kernels/implicit_gemm_tile.cuh — the shared-memory, register-blocked GEMM main loop that the conv
// kernels instantiate (fprop v2/v3, dgrad v2, wgrad v2, the fused conv→BN epilogues). Device code
// only, included by kernels/*.cu (never by a host .h): templates, so no ODR trouble in either build.
//
// C[m, n] = Σ_kk A[m, kk] · B[kk, n] over kk ∈ [k_begin, k_end), for one BM×BN tile at (m0, n0).
// A and B are never materialised: a gather's g.a(m, kk) and g.b(kk, n) read them (the "implicit" GEMM:
// e.g. fprop's A is im2col(x), read straight from x, with 0 for padded taps).
//
// Threads: T = (BM/TM)·(BN/TN); thread t owns rows  m0 + tm + i·(BM/TM), i < TM,  tm = t mod (BM/TM)
//                                         and cols  n0 + tn + j·(BN/TN), j < TN,  tn = t div (BM/TM)
// (strided, so consecutive threads own consecutive m: coalesced NCHW stores for fprop/dgrad, and
// conflict-free shared-memory reads). Per BK slice:
//   1. all threads fill As[BK][BM] (m fastest) and Bs[BK][BN] (kk fastest: the weights' contiguous
//      C·R·S axis is read by consecutive threads), 0 outside [0,M)×[k_begin,k_end)×[0,Nn)
//   2. __syncthreads;  3. acc[i][j] += As[kk][row i]·Bs[kk][col j] for kk < BK;  4. __syncthreads
// Summation order per output: kk ascending, one fp32 FMA chain (exact for small integers).
#pragma once
#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct gemm_tile {
  // The later tiles: simt_tile (implicit_gemm_simt.cuh), mma_tile (TF32, implicit_gemm_mma.cuh).
  static constexpr bool tensor_core = false, hoisted = false;
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int TY = BM / TM;  // threads along m
  static constexpr int TX = BN / TN;  // threads along n
  static constexpr int threads = TY * TX;
  static constexpr int smem_a = BK * BM, smem_b = BK * BN;  // floats of As, Bs
  static_assert(BM % TM == 0 && BN % TN == 0, "tile must divide into per-thread blocks");
  static_assert((BK * BM) % threads == 0 && (BK * BN) % threads == 0, "loads must divide evenly");
};

// The per-thread coordinates of gemm_tile T for a thread id (passed in, never read here).
template <class T>
struct gemm_thread {
  int tm, tn;
  __device__ __forceinline__ explicit gemm_thread(int tid) : tm(tid % T::TY), tn(tid / T::TY) {}
  __device__ __forceinline__ int row(int i) const { return tm + i * T::TY; }  // + m0
  __device__ __forceinline__ int col(int j) const { return tn + j * T::TX; }  // + n0
};

// acc (zeroed here) ← the tile's partial product over kk ∈ [k_begin, k_end).
// As: BK·BM floats, Bs: BK·BN floats of shared memory.
// G: a gather with g.a(m, kk) and g.b(kk, n), called only inside [0,M)×[k_begin,k_end)×[0,Nn).
template <class T, class G>
__device__ __forceinline__ void implicit_gemm_mainloop(int tid, int m0, int n0, int M, int Nn,
                                                       int k_begin, int k_end, const G& g,
                                                       float* As, float* Bs,
                                                       float (&acc)[T::TM][T::TN]) {
  const gemm_thread<T> th(tid);
#pragma unroll
  for (int i = 0; i < T::TM; ++i)
#pragma unroll
    for (int j = 0; j < T::TN; ++j) acc[i][j] = 0.0f;

  for (int k0 = k_begin; k0 < k_end; k0 += T::BK) {
#pragma unroll
    for (int e = tid; e < T::BK * T::BM; e += T::threads) {
      const int mm = e % T::BM, kk = e / T::BM;
      const int m = m0 + mm, k = k0 + kk;
      As[kk * T::BM + mm] = (m < M && k < k_end) ? g.a(m, k) : 0.0f;
    }
#pragma unroll
    for (int e = tid; e < T::BK * T::BN; e += T::threads) {
      const int kk = e % T::BK, nn = e / T::BK;
      const int n = n0 + nn, k = k0 + kk;
      Bs[kk * T::BN + nn] = (n < Nn && k < k_end) ? g.b(k, n) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < T::BK; ++kk) {
      float a[T::TM], b[T::TN];
#pragma unroll
      for (int i = 0; i < T::TM; ++i) a[i] = As[kk * T::BM + th.row(i)];
#pragma unroll
      for (int j = 0; j < T::TN; ++j) b[j] = Bs[kk * T::BN + th.col(j)];
#pragma unroll
      for (int i = 0; i < T::TM; ++i)
#pragma unroll
        for (int j = 0; j < T::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
}

// The two tiles the conv kernels use (256 threads each).
using tile_16x16 = gemm_tile<16, 16, 16, 1, 1>;  // v2: one output per thread
using tile_64x64 = gemm_tile<64, 64, 8, 4, 4>;   // v3: 4×4 outputs per thread

// fprop's gathers: A = im2col(x) [N·P·Q, C·R·S], B = wᵀ [C·R·S, K] (all int: params are checked).
struct conv2d_fprop_gather {
  const float* __restrict__ x;
  const float* __restrict__ w;
  int C, H, W, R, S, stride, pad, P, Q, CRS;
  __device__ __forceinline__ float a(int m, int kk) const {
    const int PQ = P * Q, n = m / PQ, pq = m - n * PQ, p = pq / Q, q = pq - p * Q;
    const int RS = R * S, c = kk / RS, rs = kk - c * RS, r = rs / S, s = rs - r * S;
    const int h = p * stride - pad + r, ww = q * stride - pad + s;
    if (h < 0 || h >= H || ww < 0 || ww >= W) return 0.0f;  // padded tap
    return x[((int64_t(n) * C + c) * H + h) * W + ww];
  }
  __device__ __forceinline__ float b(int kk, int k) const { return w[int64_t(k) * CRS + kk]; }
};

// Output index of GEMM row m (an (n,p,q) triple) and column k in N×K×P×Q.
__device__ __forceinline__ int64_t nkpq_index(int m, int k, int K, int PQ) {
  const int n = m / PQ, pq = m - n * PQ;
  return (int64_t(n) * K + k) * PQ + pq;
}

}  // namespace senet::detail
