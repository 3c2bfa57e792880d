// engine/ops/batchnorm.h — BatchNorm over the channels of N×C×H×W (or N×C) tensors, with autograd.
//   training: μ_c, σ²_c = mean and biased variance over N·H·W = M values (stable two-pass/Chan form)
//             running_mean ← (1−m)·running_mean + m·μ;  running_var ← (1−m)·running_var + m·σ²·M/(M−1)
//   eval:     μ, σ² = running_mean, running_var
//   z = γ·(x−μ)/√(σ²+ε) + β
//   ∂/∂β = Σdz,  ∂/∂γ = Σdz·x̂,  ∂/∂x = (γ/σ)(dz − dβ/M − x̂·dγ/M) (training) or (γ/σ)·dz (eval)
// Running stats are updated in place (PyTorch semantics) and never receive gradients. Undefined
// running stats are created on first use (zeros, ones).
#pragma once
#include <memory>
#include <vector>

#include "engine/core/tensor.h"

namespace senet {

struct BatchNormState {
  Tensor running_mean, running_var;
  float momentum = 0.1f;
  float eps = 1e-5f;
};

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, BatchNormState& st,
                    bool training);

// --- shared by the fused ops (bn_act, conv_bn_act)

// Checks (y: N×C×H×W or N×C f32; γ, β, running stats [C] f32, same device; messages name both
// shapes) and creates undefined running stats.
void batchnorm_check(const char* op, const Tensor& y, const Tensor& gamma, const Tensor& beta,
                     BatchNormState& st);

// The per-channel μ and 1/√(σ²+ε) a forward normalises with, kept for its backward.
struct BnStats {
  std::vector<float> mean, invstd;
};
// training: from the batch's μ, σ² (biased) over M values, and updates the running stats;
// eval: from the running stats. `var` is unused in eval.
std::shared_ptr<BnStats> batchnorm_finalize(BatchNormState& st, const float* mean, const float* var,
                                            int64_t M, bool training);

// The forward's statistics of y (N×C×…): in training the batch's — the whole batch's over every
// rank when BN is synchronised (engine/dist/sync_bn.h; `sync`) — else the running ones, finalized
// (running stats updated in training). M: the count the statistics cover (the backward's M).
struct BnForwardStats {
  std::shared_ptr<BnStats> stats;
  int64_t M = 0;
  bool sync = false;
};
BnForwardStats batchnorm_statistics(const Tensor& y, BatchNormState& st, bool training);

// The Σdz·x̂ and Σdz the dx pass of a BN backward divides by M: this rank's own dγ, dβ, or, when
// the forward's statistics spanned several ranks (sync), the whole batch's, gathered into `whole`
// (engine/dist/sync_bn.h). The parameter gradients returned stay this rank's own either way.
struct BnDxSums {
  const float* dgamma;
  const float* dbeta;
};
BnDxSums bn_dx_sums(const Tensor& dgamma, const Tensor& dbeta, bool sync,
                    std::vector<float>& whole);

}  // namespace senet
