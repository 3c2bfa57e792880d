// kernels/bn_finalize.cu — merge per-tile BatchNorm partials into per-channel μ, 1/σ, scale, shift
// Math (channel k; partials t = 0..T−1 of (n_t, μ_t, M2_t), merged in t order, Chan et al. 1979):
//   n = nₐ + n_b,  δ = μ_b − μₐ,  μ = μₐ + δ·n_b/n,  M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n
//   σ² = M2/M (biased, used to normalise),  invstd = 1/√(σ²+ε),  scale = γ·invstd,
//   shift = β − μ·scale   (z = scale·y + shift = γ(y−μ)/σ + β)
//   running_mean ← (1−m)·running_mean + m·μ;  running_var ← (1−m)·running_var + m·σ²·M/(M−1)
// Eval: μ, σ² = running stats; the same invstd/scale/shift formulas.
// Launch: one thread per channel, block 128, grid ⌈K/128⌉ (K ≤ a few thousand: this is tiny).
// Numerics: the merge runs in double (T·K flops; negligible), invstd = 1/sqrt in double, then fp32.
//   Deterministic (fixed merge order). Matches engine/ops/batchnorm.cpp's batchnorm_finalize.
#include "kernels/bn_finalize.h"

#include "kernels/emu/cuda_compat.h"

namespace senet {

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
    const double nb = part.count[o];
    if (nb <= 0) continue;
    const double delta = double(part.mean[o]) - mean, n_ab = n + nb;
    mean += delta * (nb / n_ab);
    m2 += double(part.m2[o]) + delta * delta * (n * nb / n_ab);
    n = n_ab;
  }
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
  return launch(bn_finalize_chan_merge_kernel, dim3(unsigned((p.K + 127) / 128)), dim3(128), 0,
                stream, p, partials, gamma, beta, running_mean, running_var, out);
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
