// engine/ops/cross_entropy.h — softmax cross-entropy over integer labels, with autograd.
//   L = −(1/N) Σ_n log softmax(z_n)[y_n]      (log-sum-exp with the row max subtracted)
//   ∂L/∂z = dL · (softmax(z) − onehot(y)) / N
// logits f32 N×K, labels i32 [N] with values in [0,K) (else senet::Error naming index and value).
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);

}  // namespace senet
