// kernels/bn_finalize.cu — merge per-tile BatchNorm partials into per-channel μ, 1/σ, scale, shift
// Math (channel k; partials t = 0..T−1 of (n_t, μ_t, M2_t), merged in t order, Chan et al. 1979):
//   n = nₐ + n_b,  δ = μ_b − μₐ,  μ = μₐ + δ·n_b/n,  M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n
//   σ² = M2/M (biased, used to normalise),  invstd = 1/√(σ²+ε),  scale = γ·invstd,
//   shift = β − μ·scale   (z = scale·y + shift = γ(y−μ)/σ + β)
//   running_mean ← (1−m)·running_mean + m·μ;  running_var ← (1−m)·running_var + m·σ²·M/(M−1)
// Eval: μ, σ² = running stats; the same invstd/scale/shift formulas.
// Versions of the training merge (T = partials per channel, ⌈N·P·Q/128⌉ from the fused conv:
// 1,024 for a ResNet-18 layer-1 batch of 128, with only 64 channels):
//   v1_thread_per_channel  one thread per channel merges t = 0, 1, …, T−1 in order; block 128,
//                          grid ⌈K/128⌉. K threads each run a dependent chain of T double-precision
//                          merges: with few channels and many tiles, most of the GPU waits.
//   v2_block_merge         a block of 512 threads per 32 channels: thread (g, l), g < 16, merges
//                          partials t ≡ g (mod 16) of channel 32·blockIdx + l in order (reads
//                          coalesced across l), then thread (0, l) merges the 16 results in g
//                          order from shared memory; grid ⌈K/32⌉. Chains of T/16 + 16 merges.
// Numerics: the merge runs in double, invstd = 1/sqrt in double, then fp32. Deterministic: each
//   version's merge order is fixed by T alone. The two orders differ in the last double bits, far
//   below fp32. Matches engine/ops/batchnorm.cpp's batchnorm_finalize to fp32 rounding.
#include "kernels/bn_finalize.h"

#include "kernels/emu/cuda_compat.h"

namespace senet {

namespace {

// (n, mean, m2) ← the merge of itself and (nb, mb, m2b) (Chan et al.); nb ≤ 0: unchanged.
__device__ __forceinline__ void chan_merge(double& n, double& mean, double& m2, double nb,
                                           double mb, double m2b) {
  if (nb <= 0) return;
  const double delta = mb - mean, n_ab = n + nb;
  mean += delta * (nb / n_ab);
  m2 += m2b + delta * delta * (n * nb / n_ab);
  n = n_ab;
}

// Channel k's outputs from its merged (n, mean, M2).
__device__ __forceinline__ void finalize_channel(const bn_finalize_params& p, int k, double n,
                                                 double mean, double m2,
                                                 const float* __restrict__ gamma,
                                                 const float* __restrict__ beta,
                                                 float* __restrict__ running_mean,
                                                 float* __restrict__ running_var,
                                                 const bn_channel_affine& out) {
  const float var = float(n > 0 ? m2 / n : 0.0);  // rounded once, like the CPU backend's
  const float invstd = float(1.0 / sqrt(double(var) + double(p.eps)));
  const float scale = gamma[k] * invstd;
  out.mean[k] = float(mean);
  out.invstd[k] = invstd;
  out.scale[k] = scale;
  out.shift[k] = beta[k] - float(mean) * scale;
  if (running_mean) {
    const double m = p.momentum, unbias = n > 1 ? n / (n - 1) : 1.0;
    running_mean[k] = float((1 - m) * running_mean[k] + m * double(float(mean)));
    running_var[k] = float((1 - m) * running_var[k] + m * double(var) * unbias);
  }
}

}  // namespace

__global__ void bn_finalize_chan_merge_kernel(bn_finalize_params p, bn_partials part,
                                              const float* __restrict__ gamma,
                                              const float* __restrict__ beta,
                                              float* __restrict__ running_mean,
                                              float* __restrict__ running_var,
                                              bn_channel_affine out) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k >= p.K) return;
  double n = 0, mean = 0, m2 = 0;
  for (int t = 0; t < p.num_partials; ++t) {
    const int64_t o = int64_t(t) * p.K + k;
    chan_merge(n, mean, m2, part.count[o], part.mean[o], part.m2[o]);
  }
  finalize_channel(p, k, n, mean, m2, gamma, beta, running_mean, running_var, out);
}

constexpr int kMergeChannels = 32, kMergeGroups = 16;  // block 512

__global__ void __launch_bounds__(kMergeChannels* kMergeGroups)
    bn_finalize_block_merge_kernel(bn_finalize_params p, bn_partials part,
                                   const float* __restrict__ gamma, const float* __restrict__ beta,
                                   float* __restrict__ running_mean,
                                   float* __restrict__ running_var, bn_channel_affine out) {
  __shared__ double sn[kMergeGroups][kMergeChannels], smean[kMergeGroups][kMergeChannels],
      sm2[kMergeGroups][kMergeChannels];
  const int l = int(threadIdx.x) % kMergeChannels, g = int(threadIdx.x) / kMergeChannels;
  const int k = int(blockIdx.x) * kMergeChannels + l;
  double n = 0, mean = 0, m2 = 0;
  if (k < p.K)
    for (int t = g; t < p.num_partials; t += kMergeGroups) {
      const int64_t o = int64_t(t) * p.K + k;
      chan_merge(n, mean, m2, part.count[o], part.mean[o], part.m2[o]);
    }
  sn[g][l] = n, smean[g][l] = mean, sm2[g][l] = m2;
  __syncthreads();
  if (g != 0 || k >= p.K) return;
  for (int h = 1; h < kMergeGroups; ++h) chan_merge(n, mean, m2, sn[h][l], smean[h][l], sm2[h][l]);
  finalize_channel(p, k, n, mean, m2, gamma, beta, running_mean, running_var, out);
}

__global__ void bn_finalize_eval_kernel(bn_finalize_params p, const float* __restrict__ gamma,
                                        const float* __restrict__ beta,
                                        const float* __restrict__ running_mean,
                                        const float* __restrict__ running_var,
                                        bn_channel_affine out) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k >= p.K) return;
  const float mean = running_mean[k];
  const float invstd = float(1.0 / sqrt(double(running_var[k]) + double(p.eps)));
  const float scale = gamma[k] * invstd;
  out.mean[k] = mean;
  out.invstd[k] = invstd;
  out.scale[k] = scale;
  out.shift[k] = beta[k] - mean * scale;
}

namespace {
bool affine_ok(const bn_channel_affine& o) { return o.mean && o.invstd && o.scale && o.shift; }
}  // namespace

cudaError_t bn_finalize_train(bn_finalize_params p, bn_partials partials, const float* gamma,
                              const float* beta, float* running_mean, float* running_var,
                              bn_channel_affine out, cudaStream_t stream) {
  if (p.K < 1 || p.num_partials < 1 || !(p.eps > 0) || !(p.momentum >= 0 && p.momentum <= 1) ||
      !partials.count || !partials.mean || !partials.m2 || !gamma || !beta || !affine_ok(out) ||
      (running_mean == nullptr) != (running_var == nullptr))
    return cudaErrorInvalidValue;
  if (p.version == bn_finalize_version::v1_thread_per_channel)
    return launch(bn_finalize_chan_merge_kernel, dim3(unsigned((p.K + 127) / 128)), dim3(128), 0,
                  stream, p, partials, gamma, beta, running_mean, running_var, out);
  if (p.version != bn_finalize_version::v2_block_merge) return cudaErrorInvalidValue;
  return launch(bn_finalize_block_merge_kernel,
                dim3(unsigned((p.K + kMergeChannels - 1) / kMergeChannels)),
                dim3(kMergeChannels * kMergeGroups), 0, stream, p, partials, gamma, beta,
                running_mean, running_var, out);
}

const char* bn_finalize_version_name(bn_finalize_version v) {
  switch (v) {
    case bn_finalize_version::v1_thread_per_channel: return "v1_thread_per_channel";
    case bn_finalize_version::v2_block_merge: return "v2_block_merge";
  }
  return "?";
}

cudaError_t bn_finalize_eval(bn_finalize_params p, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var,
                             bn_channel_affine out, cudaStream_t stream) {
  if (p.K < 1 || !(p.eps > 0) || !gamma || !beta || !running_mean || !running_var ||
      !affine_ok(out))
    return cudaErrorInvalidValue;
  return launch(bn_finalize_eval_kernel, dim3(unsigned((p.K + 127) / 128)), dim3(128), 0, stream, p,
                gamma, beta, running_mean, running_var, out);
}

}  // namespace senet
