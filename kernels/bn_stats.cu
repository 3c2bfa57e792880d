// kernels/bn_stats.cu — per-channel (count, mean, M2) partials of y for BatchNorm statistics
// Math (y: N×K×P×Q; channel k has M = N·P·Q values v, the (n,p,q) flattened as m = n·PQ + pq):
//   tile t = m ∈ [t·T, min(M, (t+1)·T)), T = kBnStatsTile = 1024
//   count = |tile|,  mean = Σv / count,  M2 = Σ(v − mean)²   (two passes over the tile)
// The tiles are merged by bn_finalize with Chan et al.'s formula. Never Σv²/M − μ²: with |μ| ≫ σ
//   (a +1e3 mean offset) that cancels catastrophically; the two-pass M2 and Chan's merge do not.
// Launch: block 256 (8 warps), grid (⌈M/T⌉, K); each thread strides the tile by 256.
//   Pass 1: thread sums → block_sum (warp shuffles + 32 floats smem) → mean; pass 2 likewise → M2.
//   y is read twice (the second read hits L2 for T = 1024 floats per block).
// Versions: v1 only (memory-bound; the fused path computes the same partials in the conv epilogue).
// Numerics: fp32 sums of ≤ 4 values per thread then a fixed-order tree: deterministic.
#include "kernels/bn_stats.h"

#include "kernels/block_reduce.cuh"
#include "kernels/emu/cuda_compat.h"

namespace senet {

__global__ void __launch_bounds__(256)
    bn_stats_two_pass_tile_kernel(bn_stats_params p, const float* __restrict__ y, bn_partials out) {
  __shared__ float scratch[32];
  const int tid = int(threadIdx.x), nthreads = int(blockDim.x);
  const int k = int(blockIdx.y), t = int(blockIdx.x);
  const int64_t m_begin = int64_t(t) * kBnStatsTile;
  const int64_t m_end = p.M() < m_begin + kBnStatsTile ? p.M() : m_begin + kBnStatsTile;
  auto at = [&](int64_t m) {
    const int64_t n = m / p.PQ, pq = m - n * p.PQ;
    return y[(n * p.K + k) * p.PQ + pq];
  };
  float s = 0.0f;
  for (int64_t m = m_begin + tid; m < m_end; m += nthreads) s += at(m);
  const float count = float(m_end - m_begin);
  const float mean = detail::block_sum(s, scratch, tid, nthreads) / count;
  float d2 = 0.0f;
  for (int64_t m = m_begin + tid; m < m_end; m += nthreads) {
    const float d = at(m) - mean;
    d2 = fmaf(d, d, d2);
  }
  const float m2 = detail::block_sum(d2, scratch, tid, nthreads);
  if (tid == 0) {
    const int64_t o = int64_t(t) * p.K + k;
    out.count[o] = count;
    out.mean[o] = mean;
    out.m2[o] = m2;
  }
}

cudaError_t bn_stats_partials(bn_stats_params p, const float* y, bn_partials out,
                              cudaStream_t stream) {
  if (p.N < 1 || p.K < 1 || p.PQ < 1 || p.K > 65535 || !y || !out.count || !out.mean || !out.m2)
    return cudaErrorInvalidValue;
  const int64_t tiles = bn_stats_num_partials(p);
  if (tiles > 0x7fffffff) return cudaErrorInvalidValue;
  return launch(bn_stats_two_pass_tile_kernel, dim3(unsigned(tiles), unsigned(p.K)), dim3(256), 0,
                stream, p, y, out);
}

}  // namespace senet
