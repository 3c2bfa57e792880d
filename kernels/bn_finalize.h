// kernels/bn_finalize.h — BatchNorm's per-channel finalize: merge the (count, mean, M2) partials
// (kernels/bn_stats.h) into μ and 1/σ, the affine map z = scale·y + shift, and the running stats.
#pragma once
#include "kernels/bn_stats.h"

namespace senet {

enum class bn_finalize_version {
  v1_thread_per_channel,  // one thread merges a channel's T partials in order: a chain of T steps
  v2_block_merge,         // a block per 32 channels, 16 threads per channel each merge every 16th
                          // partial, then the 16 results in order: chains of T/16 + 16 steps
};
inline constexpr bn_finalize_version kBnFinalizeVersions[] = {
    bn_finalize_version::v1_thread_per_channel, bn_finalize_version::v2_block_merge};
const char* bn_finalize_version_name(bn_finalize_version v);

struct bn_finalize_params {
  int K = 0;
  int num_partials = 0;  // tiles per channel in the partials
  float eps = 1e-5f;
  float momentum = 0.1f;  // PyTorch semantics: running ← (1−momentum)·running + momentum·batch
  bn_finalize_version version = bn_finalize_version::v2_block_merge;  // training merge only
};

// Per-channel outputs, K floats each. invstd = 1/√(σ²+ε), scale = γ·invstd, shift = β − μ·scale.
struct bn_channel_affine {
  float* mean = nullptr;
  float* invstd = nullptr;
  float* scale = nullptr;
  float* shift = nullptr;
};

// Training: merges the partials; updates running_mean/running_var (unbiased σ²·M/(M−1)) when both
// are non-null (both null: no update; one null: invalid).
cudaError_t bn_finalize_train(bn_finalize_params p, bn_partials partials, const float* gamma,
                              const float* beta, float* running_mean, float* running_var,
                              bn_channel_affine out, cudaStream_t stream);

// Eval: μ, σ² = running_mean, running_var (num_partials and momentum unused).
cudaError_t bn_finalize_eval(bn_finalize_params p, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var,
                             bn_channel_affine out, cudaStream_t stream);

}  // namespace senet
