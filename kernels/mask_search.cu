// kernels/mask_search.cu — SENet stage 2 (ReLU mask identification): accumulate the teacher/student
// activation mismatch, channel scores, and an exact, deterministic top-k mask.
// Math:  D[l] += Σ_b |A_T[b,l] − A_S[b,l]|        score_c = Σ_hw D[c,hw]
//        mask = 1 at exactly k indices: the k largest scores, ties toward the lower index, i.e. the
//        first k of the order (score descending, index ascending).
// accumulate v1 "thread per position": thread l walks b = 0..B−1 (coalesced along l), fp32 sum in
//   b order then one add into D: deterministic, no atomics. Grid-stride, block 256, grid ≤ 4096.
// channel_scores v1 "block per channel": 256 threads, strided fp32 sums, fixed-order block_sum.
// top-k v1 "radix select + ordered rank" (n ≤ 2³¹−1):
//   key(s) = order-preserving uint32 of the float (sign flip; −0 → +0 so that ±0 tie; NaN → 0);
//   with `magnitude` (a learned site's mask, kernels/straight_through.cu), key(|s|).
//   1. radix select, 4 passes of 8 bits from the top: topk_histogram_v1 counts the next digit of
//      every key that matches the prefix found so far (per-block shared-memory histogram with
//      integer atomics, flushed to a global 256-bin histogram with integer atomics: counts are
//      exact whatever the order); topk_select_digit_v1 (1 block) picks the digit d where the count
//      of larger digits < k_rem ≤ count of digits ≥ d, subtracts the larger ones from k_rem and
//      clears the histogram. After 4 passes τ = the k-th largest key and k_rem = how many keys
//      equal to τ must be taken (1 ≤ k_rem ≤ #{key = τ}).
//   2. topk_tile_count_v1: tiles of 2048 indices (block 256 × 8 rounds), count of keys == τ per
//      tile (__syncthreads_count). topk_tile_scan_v1 (1 block): exclusive prefix of the tile counts.
//   3. topk_write_mask_v1: per tile, in index order, the rank of each key == τ among all keys == τ
//      (tile offset + earlier rounds + earlier warps via shared memory + __ballot_sync/__popc
//      within the warp); mask = key > τ || (key == τ && rank < k_rem).
//   k = 0: a fill with 0. Launches: 1 + 4×2 + 3 = 12, all integer: bitwise deterministic.
//   Workspace: 1 KiB state + histogram, then 2 × ⌈n/2048⌉ uint32 (tile counts and offsets).
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/grid_stride.cuh"
#include "kernels/mask_search.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
static_assert(kBlock == detail::kGridStrideBlock, "grid_for's blocks are this file's");
constexpr int kWarps = kBlock / 32;
constexpr int kRounds = 8;
constexpr int64_t kTile = int64_t(kBlock) * kRounds;  // 2048 indices per tile
constexpr size_t kStateBytes = 2048;

struct topk_state {
  uint32_t prefix;       // key bits chosen so far
  uint32_t prefix_mask;  // which bits of the key are chosen
  uint32_t k_rem;        // how many still to take among keys matching the prefix
  uint32_t pad;
  uint32_t hist[256];
};

__device__ __forceinline__ uint32_t order_key(float s) {
  if (isnan(s)) return 0u;
  const uint32_t u = __float_as_uint(s == 0.f ? 0.f : s);  // −0 → +0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ uint32_t order_key(float s, bool magnitude) {
  return order_key(magnitude ? fabsf(s) : s);
}

__global__ void __launch_bounds__(kBlock)
    mask_accumulate_absdiff_v1_thread_per_position(mask_accumulate_params p) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t l = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; l < p.L; l += stride) {
    float s = 0.f;
    for (int64_t b = 0; b < p.B; ++b) s += fabsf(p.a_t[b * p.L + l] - p.a_s[b * p.L + l]);
    p.D[l] += s;
  }
}

__global__ void __launch_bounds__(kBlock)
    channel_scores_v1_block_per_channel(channel_scores_params p) {
  __shared__ float scratch[32];
  const int t = int(threadIdx.x);
  const float* d = p.D + int64_t(blockIdx.x) * p.HW;
  float s = 0.f;
  for (int64_t i = t; i < p.HW; i += kBlock) s += d[i];
  s = kred::block_sum(s, t % 32, t / 32, kWarps, scratch);
  if (t == 0) p.scores[blockIdx.x] = s;
}

__global__ void __launch_bounds__(kBlock) topk_init_v1(topk_state* st, uint32_t k) {
  st->hist[threadIdx.x] = 0u;
  if (threadIdx.x == 0) {
    st->prefix = 0u;
    st->prefix_mask = 0u;
    st->k_rem = k;
    st->pad = 0u;
  }
}

__global__ void __launch_bounds__(kBlock)
    topk_histogram_v1(const float* __restrict__ scores, int64_t n, bool magnitude, int shift,
                      topk_state* st) {
  __shared__ uint32_t hist[256];
  const int t = int(threadIdx.x);
  hist[t] = 0u;
  const uint32_t prefix = st->prefix, pmask = st->prefix_mask;
  __syncthreads();
  const int64_t stride = int64_t(gridDim.x) * kBlock;
  for (int64_t i = int64_t(blockIdx.x) * kBlock + t; i < n; i += stride) {
    const uint32_t key = order_key(scores[i], magnitude);
    if ((key & pmask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
  }
  __syncthreads();
  if (hist[t]) atomicAdd(&st->hist[t], hist[t]);
}

__global__ void __launch_bounds__(kBlock) topk_select_digit_v1(int shift, topk_state* st) {
  __shared__ uint32_t hist[256];
  const int t = int(threadIdx.x);
  hist[t] = st->hist[t];
  st->hist[t] = 0u;  // ready for the next pass
  __syncthreads();
  if (t == 0) {
    const uint32_t k = st->k_rem;
    uint32_t above = 0;  // keys with a larger digit
    int d = 255;
    for (; d > 0; --d) {
      if (above + hist[d] >= k) break;
      above += hist[d];
    }
    st->k_rem = k - above;
    st->prefix |= uint32_t(d) << shift;
    st->prefix_mask |= 255u << shift;
  }
}

__global__ void __launch_bounds__(kBlock)
    topk_tile_count_v1(const float* __restrict__ scores, int64_t n, bool magnitude,
                       const topk_state* st, uint32_t* tile_counts) {
  const uint32_t tau = st->prefix;
  const int64_t base = int64_t(blockIdx.x) * kTile;
  uint32_t count = 0;
  for (int r = 0; r < kRounds; ++r) {
    const int64_t i = base + int64_t(r) * kBlock + threadIdx.x;
    const bool eq = i < n && order_key(scores[i], magnitude) == tau;
    count += uint32_t(__syncthreads_count(eq));
  }
  if (threadIdx.x == 0) tile_counts[blockIdx.x] = count;
}

__global__ void __launch_bounds__(kBlock)
    topk_tile_scan_v1(const uint32_t* __restrict__ counts, uint32_t* __restrict__ offsets,
                      int64_t tiles) {
  __shared__ uint32_t part[kBlock];
  const int t = int(threadIdx.x);
  const int64_t chunk = (tiles + kBlock - 1) / kBlock;
  const int64_t b0 = t * chunk < tiles ? t * chunk : tiles;
  const int64_t b1 = b0 + chunk < tiles ? b0 + chunk : tiles;
  uint32_t s = 0;
  for (int64_t b = b0; b < b1; ++b) s += counts[b];
  part[t] = s;
  __syncthreads();
  if (t == 0) {  // exclusive scan of the 256 chunk totals, in order
    uint32_t run = 0;
    for (int i = 0; i < kBlock; ++i) {
      const uint32_t v = part[i];
      part[i] = run;
      run += v;
    }
  }
  __syncthreads();
  uint32_t run = part[t];
  for (int64_t b = b0; b < b1; ++b) {
    offsets[b] = run;
    run += counts[b];
  }
}

__global__ void __launch_bounds__(kBlock)
    topk_write_mask_v1(const float* __restrict__ scores, int64_t n, bool magnitude,
                       const topk_state* st, const uint32_t* __restrict__ offsets,
                       uint8_t* __restrict__ mask) {
  __shared__ uint32_t warp_eq[kWarps];
  const int t = int(threadIdx.x), lane = t % 32, warp = t / 32;
  const uint32_t tau = st->prefix, take = st->k_rem;
  const unsigned lanes_below = (1u << lane) - 1u;
  const int64_t base = int64_t(blockIdx.x) * kTile;
  uint32_t rank_base = offsets[blockIdx.x];  // keys == τ before this round
  for (int r = 0; r < kRounds; ++r) {
    const int64_t i = base + int64_t(r) * kBlock + t;
    uint32_t key = 0;
    if (i < n) key = order_key(scores[i], magnitude);
    const bool eq = i < n && key == tau;
    const unsigned ballot = __ballot_sync(kred::kFullMask, eq);
    if (lane == 0) warp_eq[warp] = uint32_t(__popc(ballot));
    __syncthreads();
    uint32_t before = 0, round_total = 0;
    for (int w = 0; w < kWarps; ++w) {
      if (w < warp) before += warp_eq[w];
      round_total += warp_eq[w];
    }
    if (i < n) {
      const uint32_t rank = rank_base + before + uint32_t(__popc(ballot & lanes_below));
      mask[i] = (key > tau || (eq && rank < take)) ? 1 : 0;
    }
    rank_base += round_total;
    __syncthreads();  // warp_eq is rewritten by the next round
  }
}

__global__ void __launch_bounds__(kBlock) fill_u8_v1_grid_stride(uint8_t* y, int64_t n, uint8_t v) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) y[i] = v;
}

int64_t tiles_for(int64_t n) { return (n + kTile - 1) / kTile; }

using detail::grid_for;

}  // namespace

cudaError_t mask_accumulate_absdiff_launch(mask_accumulate_params p, cudaStream_t stream) {
  if (p.B < 0 || p.L < 0) return cudaErrorInvalidValue;
  if (p.L == 0) return cudaSuccess;
  if (!p.D || (p.B > 0 && (!p.a_t || !p.a_s))) return cudaErrorInvalidValue;
  return launch(mask_accumulate_absdiff_v1_thread_per_position, grid_for(p.L), dim3(kBlock), 0,
                stream, p);
}

cudaError_t channel_scores_launch(channel_scores_params p, cudaStream_t stream) {
  if (p.C < 0 || p.HW <= 0 || p.C > int64_t(INT32_MAX)) return cudaErrorInvalidValue;
  if (p.C == 0) return cudaSuccess;
  if (!p.D || !p.scores) return cudaErrorInvalidValue;
  return launch(channel_scores_v1_block_per_channel, dim3(unsigned(p.C)), dim3(kBlock), 0, stream,
                p);
}

size_t topk_mask_workspace_bytes(int64_t n) {
  if (n < 0) return 0;
  const size_t words = size_t(tiles_for(n));
  return kStateBytes + ((2 * words * sizeof(uint32_t) + 255) / 256) * 256;
}

cudaError_t topk_mask_launch(topk_mask_params p, cudaStream_t stream) {
  static_assert(sizeof(topk_state) <= kStateBytes, "topk_state must fit its workspace slot");
  if (p.n < 0 || p.n > int64_t(INT32_MAX) || p.k < 0 || p.k > p.n) return cudaErrorInvalidValue;
  if (p.n == 0) return cudaSuccess;
  if (!p.scores || !p.mask) return cudaErrorInvalidValue;
  if (p.k == 0)
    return launch(fill_u8_v1_grid_stride, grid_for(p.n), dim3(kBlock), 0, stream, p.mask, p.n,
                  uint8_t(0));
  if (!p.workspace || p.workspace_bytes < topk_mask_workspace_bytes(p.n) ||
      reinterpret_cast<uintptr_t>(p.workspace) % 256 != 0)
    return cudaErrorInvalidValue;
  auto* st = static_cast<topk_state*>(p.workspace);
  const int64_t tiles = tiles_for(p.n);
  auto* tile_counts = reinterpret_cast<uint32_t*>(static_cast<char*>(p.workspace) + kStateBytes);
  uint32_t* tile_offsets = tile_counts + tiles;

  cudaError_t e = launch(topk_init_v1, dim3(1), dim3(kBlock), 0, stream, st, uint32_t(p.k));
  const dim3 hist_grid(unsigned(std::clamp<int64_t>(tiles, 1, 1024)));
  for (int shift = 24; shift >= 0 && e == cudaSuccess; shift -= 8) {
    e = launch(topk_histogram_v1, hist_grid, dim3(kBlock), 0, stream, p.scores, p.n, p.magnitude,
               shift, st);
    if (e == cudaSuccess)
      e = launch(topk_select_digit_v1, dim3(1), dim3(kBlock), 0, stream, shift, st);
  }
  if (e != cudaSuccess) return e;
  const dim3 tile_grid = dim3(unsigned(tiles));
  if ((e = launch(topk_tile_count_v1, tile_grid, dim3(kBlock), 0, stream, p.scores, p.n,
                  p.magnitude, static_cast<const topk_state*>(st), tile_counts)) != cudaSuccess)
    return e;
  if ((e = launch(topk_tile_scan_v1, dim3(1), dim3(kBlock), 0, stream,
                  static_cast<const uint32_t*>(tile_counts), tile_offsets, tiles)) != cudaSuccess)
    return e;
  return launch(topk_write_mask_v1, tile_grid, dim3(kBlock), 0, stream, p.scores, p.n, p.magnitude,
                static_cast<const topk_state*>(st), static_cast<const uint32_t*>(tile_offsets),
                p.mask);
}

}  // namespace senet
