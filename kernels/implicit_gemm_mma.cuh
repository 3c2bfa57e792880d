// kernels/implicit_gemm_mma.cuh — the implicit-GEMM main loop on TF32 tensor cores: the same
// contract as implicit_gemm_mainloop (kernels/implicit_gemm_tile.cuh) — one BM×BN tile of
//   C[m, n] = Σ_kk A[m, kk] · B[kk, n],  kk ∈ [k_begin, k_end),  A and B read through a gather —
// with each warp's products done by mma_tf32_m16n8k8 (kernels/mma_tf32.cuh). Device code only.
//
// Tile mma_tile<BM, BN, BK, WM, WN>: (BM/WM)×(BN/WN) warps, each owning a WM×WN sub-tile made of
// (WM/16)×(WN/8) mma tiles. Operands come through a hoisting gather (kernels/conv_gather_fast.cuh)
// and the shared loader (kernels/implicit_gemm_loader.cuh), rounded to TF32 as they are stored,
// into two shared-memory stages, as in the SIMT 128×128 loop (implicit_gemm_simt.cuh). Per slice:
//   1. the next slice's global loads are issued into registers — they fly while 2 runs;
//   2. for each k8 step: this warp's fragments from this stage, one LDS.128 per mma row tile (A)
//      and one LDS.64 per mma column tile (B), then (WM/16)·(WN/8) MMAs;
//   3. the registers go to the other stage;  __syncthreads (one per slice).
// Shared memory in fragment order (a_index, b_index). A lane's A fragment of one mma tile and k8
// step — A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4] (kernels/mma_tf32.cuh) — is 4 consecutive
// floats, read with one LDS.128; its B fragment B[t][g], B[t+4][g] 2, one LDS.64. The first
// version stored the tiles as rows As[kk][m], Bs[kk][n] padded to BM + 8 and BN + 8 floats and read
// each fragment value with its own LDS: 32 per slice per warp, as many as all other loop
// instructions but the gathers; now (BK/8)·(MT + NT) = 12 for the 32×32 warp tile.
//   A: group (kk/8, m/16) of 160 floats; lane (g, t)'s fragment at 4g + 40t, A[g + 8·hi][t + 4·khi]
//      at + hi + 2·khi. 40t, not 16t: a quarter warp's LDS.128 (8 lanes: g ∈ {2q, 2q + 1}, every
//      t) starts at banks 4·(g + 2t) mod 32, all distinct. And every part of the index is a sum
//      of what depends on m and what depends on kk, so the loader's eight stores of a thread (one
//      row m, kk = kk₀ + 2l) are one address plus constants. Their price: a warp's store (32
//      consecutive m, one kk) hits 16 banks (4g + hi; 160 ≡ 0 mod 32), 2-way conflicted.
//   B: group (kk/8, n/8) of 64 floats; lane slot (4g + t) ⊕ (8·(kk/8 mod 2)), B[t + 4·khi][g] at
//      2·slot + khi. A thread's B elements (one kk, n = n₀ + 16l) are one address plus constants
//      whatever the swizzle; the XOR on kk/8 makes a warp's store (16 kk of 2 adjacent n) hit 32
//      banks, and a half warp's LDS.64 (16 lanes) reads 16 distinct slots mod 16.
// Accumulators as a TM×TN register block, TM = 2·WM/16, TN = 2·WN/8, so that epilogues written for
// the SIMT tiles (row(i), col(j), the slot tm of a row group; kernels/implicit_gemm.cuh) work
// unchanged:
//   row(i) = warp_m·WM + (i/2)·16 + (i mod 2)·8 + g,   col(j) = warp_n·WN + (j/2)·8 + 2t + (j mod 2)
//   acc[2mt + r][2nt + c] is mma tile (mt, nt)'s accumulator c[2r + c].
// Numerics: A and B are rounded to TF32 (round to nearest, ties to even) once, when loaded; products
// exact, sums in fp32 in kk ascending order. Exact (bitwise equal to the FP32 kernels) when every
// value is a small integer; on random data within ~1e-3 relative of FP32 (|Δ| ≲ 2⁻¹¹·Σ|a·b|).
#pragma once
#include "kernels/host_device.h"
#include "kernels/implicit_gemm_loader.cuh"
#include "kernels/mma_tf32.cuh"

namespace senet::detail {

template <int BM_, int BN_, int BK_, int WM_, int WN_>
struct mma_tile {
  static constexpr bool tensor_core = true, hoisted = true;
  static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_;
  static constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
  static constexpr int threads = 32 * WARPS_M * WARPS_N;
  static constexpr int min_blocks = WM * WN <= 1024 ? 2 : 1;  // per SM (implicit_gemm.cuh)
  static constexpr int MT = WM / 16, NT = WN / 8;             // mma tiles per warp
  static constexpr int TM = 2 * MT, TN = 2 * NT;              // this thread's accumulator block
  static constexpr int TY = 8 * WARPS_M;  // row slots (warp_m, g): see mma_thread::tm
  static constexpr int LDA = BM / 16 * 160 / 8, LDB = BN;  // a stage: BK·LDA and BK·LDB floats
  static constexpr int smem_a = 2 * BK * LDA, smem_b = 2 * BK * LDB;  // two stages each
  // Where A[kk][m] and B[kk][n] of a stage live (floats from its start): fragment order, above.
  // Additive over the loader's steps (kernels/implicit_gemm_loader.cuh, tested in
  // tests/kernels/test_kernels_mma_tf32.cu): a bit of kk or m is either the thread's or the step's.
  static constexpr SENET_HD int a_index(int kk, int m) {
    return ((kk >> 3) * (BM / 16) + (m >> 4)) * 160 + 4 * (m & 7) + 40 * (kk & 3) + ((m >> 3) & 1) +
           2 * ((kk >> 2) & 1);
  }
  static constexpr SENET_HD int b_index(int kk, int n) {
    const int slot = (4 * (n & 7) + (kk & 3)) ^ (8 * ((kk >> 3) & 1));
    return ((kk >> 3) * (BN / 8) + (n >> 3)) * 64 + 2 * slot + ((kk >> 2) & 1);
  }
  static_assert(BM % WM == 0 && BN % WN == 0 && WM % 16 == 0 && WN % 8 == 0, "warp tiling");
  static_assert(BK % 8 == 0, "k8 steps");
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
  const int a_slot = 4 * th.g + 40 * th.t, b_slot = 4 * th.g + th.t;
#pragma unroll
  for (int i = 0; i < T::TM; ++i)
#pragma unroll
    for (int j = 0; j < T::TN; ++j) acc[i][j] = 0.0f;

  two_stage_pipeline<T, G, true>(
      tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs, [&](const float* As_s, const float* Bs_s) {
#pragma unroll
        for (int ks = 0; ks < T::BK; ks += 8) {
          const float4* a_k = reinterpret_cast<const float4*>(
              As_s + ((ks / 8) * (T::BM / 16) + th.warp_m * T::MT) * 160 + a_slot);
          const float2* b_k = reinterpret_cast<const float2*>(Bs_s) +
                              ((ks / 8) * (T::BN / 8) + th.warp_n * T::NT) * 32 +
                              (b_slot ^ (8 * ((ks / 8) & 1)));
          float a[T::MT][4], b[T::NT][2];
#pragma unroll
          for (int mt = 0; mt < T::MT; ++mt) {
            const float4 v = a_k[mt * 40];  // 160 floats on
            a[mt][0] = v.x, a[mt][1] = v.y, a[mt][2] = v.z, a[mt][3] = v.w;
          }
#pragma unroll
          for (int nt = 0; nt < T::NT; ++nt) {
            const float2 v = b_k[nt * 32];
            b[nt][0] = v.x, b[nt][1] = v.y;
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
// The wide one (8 warps of 64×32): per slice a warp does 32 MMAs where the 128×64 tile's do 16,
// for the same loads per thread (8 A and 8 B elements instead of 8 and 4) and 16 fragment loads
// instead of 12 — for layers whose GEMM N (fprop's K, dgrad's C) fills 128 columns (tf32_wide,
// kernels/implicit_gemm.cuh). 64 accumulators a thread: one block per SM (min_blocks).
using tile_tf32_128x128 = mma_tile<128, 128, 16, 64, 32>;

}  // namespace senet::detail
