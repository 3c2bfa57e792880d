// kernels/implicit_gemm_wgmma.cuh — the implicit-GEMM main loop on Hopper's warpgroup MMA
// (kernels/wgmma_tf32.cuh): the same contract as the other loops (kernels/implicit_gemm.cuh) —
// one BM×BN tile of C[m, n] = Σ_kk A[m, kk]·B[kk, n], kk ∈ [k_begin, k_end), A and B through a
// hoisting gather — for sm_90a, and under emulation. Device code only. kernels/README.md step 18.
//
// Tile wgmma_tile<BN, BK, kARuns>: 128 rows, 256 threads = 2 warpgroups; warpgroup wg computes rows
// 64·wg … 64·wg + 63 × all BN columns with BK/8 wgmma.m64nBNk8 per slice, both operands read by
// the tensor cores from shared memory. Per slice:
//   1. the next slice's global loads are issued into registers (the shared loader,
//      kernels/implicit_gemm_loader.cuh);
//   2. wgmma.fence, BK/8 products on this stage, commit — asynchronous: they run while
//   3. the registers go to the other stage (TF32-rounded, fenced for the async proxy), then
//   4. wait for the products, __syncthreads (one per slice).
// Shared memory, K-major core matrices without swizzle (the layout in kernels/wgmma_tf32.cuh):
//   A (128 rows × BK): element (kk, m) at (m mod 8)·4 + kk mod 4 + ⌊m/8⌋·8·BK + ⌊kk/4⌋·32 floats
//     (LBO 128 B: a row group's k blocks adjacent; SBO 32·BK bytes). The loader gives each thread
//     8 consecutive kk of one row (T::a_kk_runs) and stores them as two float4: 8 lanes of 8
//     consecutive rows write one contiguous 128 bytes, no bank conflict.
//   B (BN rows n × BK): element (kk, n) at (n mod 8)·4 + kk mod 4 + ⌊n/8⌋·40·BK/4 + ⌊kk/4⌋·40
//     (LBO 160 B: each k block 8 floats past the 128-byte core matrix, so that the loader's warp —
//     16 kk of 2 adjacent n — hits 32 distinct banks: 4·(n mod 8) + 8·⌊kk/4⌋ + kk mod 4).
// Accumulators: a thread's wgmma fragment d[4j + 2r + c] = C[64·wg + 16·w + g + 8r][8j + 2t + c]
// (w = warp within the warpgroup, g = lane/4, t = lane mod 4) is the mma tile's layout with
// 8 warps of 16 × BN (mma_thread<wgmma_tile>: row(r), col(2j + c)), so every epilogue written for
// the other tiles works unchanged: acc[r][2j + c] = d[4j + 2r + c].
// Numerics: as the TF32 mma loop — operands rounded to TF32 once when stored, products exact, fp32
// sums; the order of the tensor core's sums is not documented (bitwise equal to the FP32 kernels
// on small integers, where every partial sum is exact).
#pragma once
#include "kernels/host_device.h"
#include "kernels/implicit_gemm_loader.cuh"
#include "kernels/wgmma_tf32.cuh"

namespace senet::detail {

// kARuns false: for gathers whose A is read kk-fastest (wgrad: A[k][(n,p,q)] = dy, consecutive
// pixels), which a warp stores as 16 kk × 2 rows — A then takes B's padded layout (LBO 160 B), which
// is conflict-free for exactly that pattern.
template <int BN_, int BK_, bool kARuns = true>
struct wgmma_tile {
  static constexpr bool tensor_core = true, hoisted = true, wgmma = true;
  static constexpr bool a_kk_runs = kARuns, async_smem = true;  // the loader's flags
  static constexpr int BM = 128, BN = BN_, BK = BK_;
  // The thread ↔ accumulator map of an mma tile with 8 warps of 16 × BN (mma_thread).
  static constexpr int WM = 16, WN = BN, WARPS_M = BM / WM, WARPS_N = 1;
  static constexpr int threads = 32 * WARPS_M;
  // BN/2 accumulators a thread and no fragments: ≤ 128 registers, two blocks an SM (their waits
  // at the barrier and on the products overlap the other's work).
  static constexpr int min_blocks = 2;
  static constexpr int MT = 1, NT = BN / 8, TM = 2, TN = 2 * NT, TY = 8 * WARPS_M;
  // (functions, not static members: device code cannot name a host object)
  static constexpr SENET_HD wgmma_kmajor a_layout() {
    return kARuns ? wgmma_kmajor{128, 32 * BK} : wgmma_kmajor{160, 40 * BK};
  }
  static constexpr SENET_HD wgmma_kmajor b_layout() { return {160, 40 * BK}; }
  static constexpr int LDA = kARuns ? BM : BM / 8 * 10,
                       LDB = BN / 8 * 10;  // a stage: BK·LDA, BK·LDB
  static constexpr int smem_a = 2 * BK * LDA, smem_b = 2 * BK * LDB;
  static constexpr SENET_HD int a_index(int kk, int m) { return int(a_layout().offset(m, kk)); }
  static constexpr SENET_HD int b_index(int kk, int n) { return int(b_layout().offset(n, kk)); }
  static_assert(BK % 8 == 0 && BN % 8 == 0 && BN <= 256, "wgmma m64nBNk8 steps");
  static_assert(LDB * BK == BN / 8 * (BK / 4) * 40, "B stage size (and A's when padded)");
};

// acc (zeroed here) ← the tile's partial product over kk ∈ [k_begin, k_end).
template <class T, class G>
__device__ __forceinline__ void implicit_gemm_mainloop_wgmma(int tid, int m0, int n0, int M, int Nn,
                                                             int k_begin, int k_end, const G& g,
                                                             float* As, float* Bs,
                                                             float (&acc)[T::TM][T::TN]) {
  const int wg = tid >> 7;
  float d[T::BN / 2];
#pragma unroll
  for (int i = 0; i < T::BN / 2; ++i) d[i] = 0.0f;
  wgmma_pipe pipe;
  // Stage 0's descriptors, built once; a slice advances them to its stage and k step.
  const wgmma_desc a0 = make_wgmma_desc(As + T::a_index(0, 64 * wg), T::a_layout());
  const wgmma_desc b0 = make_wgmma_desc(Bs, T::b_layout());
  two_stage_pipeline<T, G, true>(
      tid, m0, n0, M, Nn, k_begin, k_end, g, As, Bs,
      [&](const float* As_s, const float* Bs_s) {
        const wgmma_desc a = advance_wgmma_desc(a0, int(As_s - As));
        const wgmma_desc b = advance_wgmma_desc(b0, int(Bs_s - Bs));
        pipe.fence();
#pragma unroll
        for (int ks = 0; ks < T::BK; ks += 8)
          pipe.mma<T::BN>(d, advance_wgmma_desc(a, T::a_index(ks, 0)),
                          advance_wgmma_desc(b, T::b_index(ks, 0)), true);
        pipe.commit();
      },
      [&] { pipe.wait<0>(d); });
#pragma unroll
  for (int j = 0; j < T::BN / 8; ++j)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      acc[r][2 * j] = d[4 * j + 2 * r];
      acc[r][2 * j + 1] = d[4 * j + 2 * r + 1];
    }
}

// The Hopper TF32 tiles: 128×128 (36 KB of shared memory in two stages) for layers of ≥ 128
// output channels, 128×64 (26 KB) below; BK = 16.
using tile_wgmma_128x128 = wgmma_tile<128, 16>;
using tile_wgmma_128x64 = wgmma_tile<64, 16>;
// wgrad's (A = dy, kk-fastest): 128 rows of dw (K ≥ 128) × 128 columns of C·R·S.
using tile_wgmma_128x128_kk = wgmma_tile<128, 16, false>;

}  // namespace senet::detail
