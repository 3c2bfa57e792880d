// kernels/implicit_gemm_mma.cuh — the implicit-GEMM main loop on TF32 tensor cores: the same
// contract as implicit_gemm_mainloop (kernels/implicit_gemm_tile.cuh) — one BM×BN tile of
//   C[m, n] = Σ_kk A[m, kk] · B[kk, n],  kk ∈ [k_begin, k_end),  A and B read through a gather —
// with each warp's products done by mma_tf32_m16n8k8 (kernels/mma_tf32.cuh). Device code only.
//
// Tile mma_tile<BM, BN, BK, WM, WN>: (BM/WM)×(BN/WN) warps, each owning a WM×WN sub-tile made of
// (WM/16)×(WN/8) mma tiles. Operands come through a hoisting gather (kernels/conv_gather_fast.cuh)
// and the shared loader (kernels/implicit_gemm_loader.cuh), rounded to TF32 as they are loaded,
// into two shared-memory stages (As[kk][m], Bs[kk][n]), as in the SIMT 128×128 loop
// (implicit_gemm_simt.cuh). Per BK slice:
//   1. the next slice's global loads are issued into registers — they fly while 2 runs;
//   2. for each k8 step: fragments from this stage (a: 4 loads per mma row tile, b: 2 per mma
//      column tile), then (WM/16)·(WN/8) MMAs;
//   3. the registers go to the other stage;  __syncthreads (one per slice).
// Shared-memory rows are padded to BM + 8 and BN + 8 floats (≡ 8 mod 32 banks): a fragment load
// reads [t][g] → bank 8t + g, 32 distinct banks, no conflict.
// Accumulators as a TM×TN register block, TM = 2·WM/16, TN = 2·WN/8, so that epilogues written for
// the SIMT tiles (row(i), col(j), the slot tm of a row group; kernels/implicit_gemm.cuh) work
// unchanged:
//   row(i) = warp_m·WM + (i/2)·16 + (i mod 2)·8 + g,   col(j) = warp_n·WN + (j/2)·8 + 2t + (j mod 2)
//   acc[2mt + r][2nt + c] is mma tile (mt, nt)'s accumulator c[2r + c].
// Numerics: A and B are rounded to TF32 (round to nearest, ties to even) once, when loaded; products
// exact, sums in fp32 in kk ascending order. Exact (bitwise equal to the FP32 kernels) when every
// value is a small integer; on random data within ~1e-3 relative of FP32 (|Δ| ≲ 2⁻¹¹·Σ|a·b|).
#pragma once
#include "kernels/implicit_gemm_loader.cuh"
#include "kernels/mma_tf32.cuh"

namespace senet::detail {

template <int BM_, int BN_, int BK_, int WM_, int WN_>
struct mma_tile {
  static constexpr bool tensor_core = true, hoisted = true;
  static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_;
  static constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
  static constexpr int threads = 32 * WARPS_M * WARPS_N, min_blocks = 2;  // implicit_gemm.cuh
  static constexpr int MT = WM / 16, NT = WN / 8;                         // mma tiles per warp
  static constexpr int TM = 2 * MT, TN = 2 * NT;  // this thread's accumulator block
  static constexpr int TY = 8 * WARPS_M;          // row slots (warp_m, g): see mma_thread::tm
  static constexpr int LDA = BM + 8, LDB = BN + 8;
  static constexpr int smem_a = 2 * BK * LDA, smem_b = 2 * BK * LDB;  // two stages each
  static_assert(BM % WM == 0 && BN % WN == 0 && WM % 16 == 0 && WN % 8 == 0, "warp tiling");
  static_assert(BK % 8 == 0, "k8 steps");
  static_assert(BM % 32 == 0 && BN % 32 == 0, "padding to 8 mod 32 banks");
};

// Where thread tid's accumulators sit in the tile (row(i), col(j) + m0, n0) and its row slot
// tm ∈ [0, TY): the threads of one slot own disjoint columns, and every row of the tile belongs to
// exactly one slot — what the fused BN epilogue needs for its per-column partial sums.
template <class T>
struct mma_thread {
  int warp_m, warp_n, g, t, tm;
  __device__ __forceinline__ explicit mma_thread(int tid) {
    const int warp = tid >> 5, lane = tid & 31;
    warp_m = warp % T::WARPS_M, warp_n = warp / T::WARPS_M;
    g = lane >> 2, t = lane & 3;
    tm = warp_m * 8 + g;
  }
  __device__ __forceinline__ int row(int i) const {
    return warp_m * T::WM + (i >> 1) * 16 + (i & 1) * 8 + g;
  }
  __device__ __forceinline__ int col(int j) const {
    return warp_n * T::WN + (j >> 1) * 8 + 2 * t + (j & 1);
  }
};

// acc (zeroed here) ← the tile's partial product over kk ∈ [k_begin, k_end).
// As: T::smem_a floats, Bs: T::smem_b floats of shared memory. Every thread of the block calls it.
template <class T, class G>
__device__ __forceinline__ void implicit_gemm_mainloop_mma(int tid, int m0, int n0, int M, int Nn,
                                                           int k_begin, int k_end, const G& g,
                                                           float* As, float* Bs,
                                                           float (&acc)[T::TM][T::TN]) {
  const mma_thread<T> th(tid);
#pragma unroll
  for (int i = 0; i < T::TM; ++i)
#pragma unroll
    for (int j = 0; j < T::TN; ++j) acc[i][j] = 0.0f;

  two_stage_pipeline<T, G, true>(
      tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, [&](const float* As_s, const float* Bs_s) {
#pragma unroll
        for (int ks = 0; ks < T::BK; ks += 8) {
          const float* a_k = As_s + (ks + th.t) * T::LDA + th.warp_m * T::WM + th.g;
          const float* b_k = Bs_s + (ks + th.t) * T::LDB + th.warp_n * T::WN + th.g;
          float a[T::MT][4], b[T::NT][2];
#pragma unroll
          for (int mt = 0; mt < T::MT; ++mt) {
            a[mt][0] = a_k[mt * 16];
            a[mt][1] = a_k[mt * 16 + 8];
            a[mt][2] = a_k[4 * T::LDA + mt * 16];
            a[mt][3] = a_k[4 * T::LDA + mt * 16 + 8];
          }
#pragma unroll
          for (int nt = 0; nt < T::NT; ++nt) {
            b[nt][0] = b_k[nt * 8];
            b[nt][1] = b_k[4 * T::LDB + nt * 8];
          }
#pragma unroll
          for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < T::NT; ++nt) {
              float d[4] = {acc[2 * mt][2 * nt], acc[2 * mt][2 * nt + 1], acc[2 * mt + 1][2 * nt],
                            acc[2 * mt + 1][2 * nt + 1]};
              mma_tf32_m16n8k8(d, a[mt], b[nt]);
              acc[2 * mt][2 * nt] = d[0], acc[2 * mt][2 * nt + 1] = d[1];
              acc[2 * mt + 1][2 * nt] = d[2], acc[2 * mt + 1][2 * nt + 1] = d[3];
            }
        }
      });
}

// The TF32 tiles (256 threads, 8 warps of 32×32): 128 rows × 64 columns for fprop and dgrad
// (M = pixels is the long side), 64 × 128 for wgrad (M = output channels is the short side).
using tile_tf32_128x64 = mma_tile<128, 64, 16, 32, 32>;
using tile_tf32_64x128 = mma_tile<64, 128, 16, 32, 32>;

}  // namespace senet::detail
