// kernels/reduce.cu — deterministic full reductions (sum, Σ|x|, Σx²) and count_correct.
// Math:  sum: out = scale · Σ_i op(x_i), op ∈ {x, |x|, x²}
//        count_correct: Σ_n [argmax_k z[n,k] == y_n], ties → lowest k, NaN never wins
// Reduction tree (sum): level 1, G = clamp(⌈n/4096⌉, 1, 512) blocks of 256 threads; block b reads
//   i = b·256 + t, + G·256, ... (grid stride, coalesced), each thread accumulates in double, then a
//   butterfly over the warp (__shfl_xor_sync) and the 8 warp sums in warp order (shared memory).
//   G == 1: the block writes out directly; else level 2: one block sums the G partials the same
//   way. G depends on n only, so the order of every addition is fixed: bitwise reproducible.
// count_correct: one warp per row (8 rows per 256-thread block); each lane scans k ≡ lane (mod 32)
//   in ascending order keeping (value, index) with the rule "greater, or current is NaN"; lanes
//   are merged by a butterfly that prefers a number over NaN, then the larger value, then the lower
//   index — the same argmax as the sequential CPU loop. A block's count (ballot + popc per warp,
//   summed in shared memory) is added with one integer atomicAdd: exact, order-independent.
// Numerics: double accumulation; relative error ~1e-15·log2(n) before the final cast to float.
#include "kernels/emu/cuda_compat.h"

#include <algorithm>

#include "kernels/reduce.h"
#include "kernels/warp_reduce.cuh"

namespace senet {
namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
constexpr int64_t kPerBlock = 4096;
constexpr int64_t kMaxPartials = 512;

__device__ __forceinline__ double apply_op(float v, reduce_op op) {
  const double d = double(v);
  return op == reduce_op::abs ? fabs(d) : op == reduce_op::square ? d * d : d;
}

// Level 1 (T = float, op applied) and level 2 (T = double partials, op = identity).
template <class T>
__global__ void __launch_bounds__(kBlock)
    reduce_sum_v1_two_level(const T* __restrict__ x, int64_t n, reduce_op op, float scale,
                            double* partials, float* out, double* out_double) {
  __shared__ double scratch[32];
  const int t = int(threadIdx.x);
  double acc = 0;
  const int64_t stride = int64_t(gridDim.x) * kBlock;
  for (int64_t i = int64_t(blockIdx.x) * kBlock + t; i < n; i += stride) {
    if constexpr (sizeof(T) == sizeof(float))
      acc += apply_op(x[i], op);
    else
      acc += x[i];
  }
  const double total = kred::block_sum(acc, t % 32, t / 32, kWarps, scratch);
  if (t == 0) {
    if (gridDim.x > 1) {
      partials[blockIdx.x] = total;
    } else {
      const double r = double(scale) * total;
      out[0] = float(r);
      if (out_double) out_double[0] = r;
    }
  }
}

struct ArgBest {
  float v;
  int64_t k;
};
// Is a better than b? A number beats NaN; then the larger value; then the lower index.
__device__ __forceinline__ bool better(ArgBest a, ArgBest b) {
  const bool an = isnan(a.v), bn = isnan(b.v);
  if (an != bn) return bn;
  if (!an && a.v != b.v) return a.v > b.v;
  return a.k < b.k;
}

__global__ void __launch_bounds__(kBlock) count_correct_v1_warp_per_row(count_correct_params p) {
  __shared__ int warp_counts[kWarps];
  const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
  const int64_t row = int64_t(blockIdx.x) * kWarps + warp;
  bool hit = false;
  if (row < p.N) {  // uniform per warp: the shuffles below see all 32 lanes
    const float* z = p.logits + row * p.K;
    ArgBest best{NAN, INT64_MAX};
    for (int64_t k = lane; k < p.K; k += 32) {
      const ArgBest c{z[k], k};
      if (best.k == INT64_MAX || better(c, best)) best = c;
    }
    for (int d = 16; d > 0; d /= 2) {
      const ArgBest o{__shfl_xor_sync(kred::kFullMask, best.v, d),
                      __shfl_xor_sync(kred::kFullMask, best.k, d)};
      if (better(o, best)) best = o;
    }
    hit = lane == 0 && best.k == int64_t(p.labels[row]);
  }
  const unsigned ballot = __ballot_sync(kred::kFullMask, hit);
  if (lane == 0) warp_counts[warp] = __popc(ballot);
  __syncthreads();
  if (threadIdx.x == 0) {
    int c = 0;
    for (int w = 0; w < kWarps; ++w) c += warp_counts[w];
    if (c) atomicAdd(p.correct, c);
  }
}

}  // namespace

int64_t sum_partials_count(int64_t n) {
  return std::clamp<int64_t>((n + kPerBlock - 1) / kPerBlock, 1, kMaxPartials);
}

cudaError_t sum_launch(sum_params p, cudaStream_t stream) {
  if (p.n < 0 || !p.out || (p.n > 0 && !p.x)) return cudaErrorInvalidValue;
  if (p.op != reduce_op::identity && p.op != reduce_op::abs && p.op != reduce_op::square)
    return cudaErrorInvalidValue;
  const int64_t G = sum_partials_count(p.n);
  if (G > 1 && !p.partials) return cudaErrorInvalidValue;
  const cudaError_t e = launch(reduce_sum_v1_two_level<float>, dim3(unsigned(G)), dim3(kBlock), 0,
                               stream, p.x, p.n, p.op, p.scale, p.partials, p.out, p.out_double);
  if (e != cudaSuccess || G == 1) return e;
  return launch(reduce_sum_v1_two_level<double>, dim3(1), dim3(kBlock), 0, stream,
                static_cast<const double*>(p.partials), G, reduce_op::identity, p.scale,
                static_cast<double*>(nullptr), p.out, p.out_double);
}

cudaError_t sum_single_block_launch(const float* x, int64_t n, float scale, float* out,
                                    cudaStream_t stream) {
  if (n < 0 || !out || (n > 0 && !x)) return cudaErrorInvalidValue;
  return launch(reduce_sum_v1_two_level<float>, dim3(1), dim3(kBlock), 0, stream, x, n,
                reduce_op::identity, scale, static_cast<double*>(nullptr), out,
                static_cast<double*>(nullptr));
}

cudaError_t count_correct_launch(count_correct_params p, cudaStream_t stream) {
  if (p.N < 0 || p.K <= 0 || !p.correct || (p.N > 0 && (!p.logits || !p.labels)))
    return cudaErrorInvalidValue;
  if ((p.N + kWarps - 1) / kWarps > int64_t(INT32_MAX)) return cudaErrorInvalidValue;
  cudaError_t e = p.accumulate ? cudaSuccess : cudaMemsetAsync(p.correct, 0, sizeof(int), stream);
  if (e != cudaSuccess || p.N == 0) return e;
  return launch(count_correct_v1_warp_per_row, dim3(unsigned((p.N + kWarps - 1) / kWarps)),
                dim3(kBlock), 0, stream, p);
}

}  // namespace senet
