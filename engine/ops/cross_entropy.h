// engine/ops/cross_entropy.h — softmax cross-entropy over integer labels, with autograd.
//   L = −(1/N) Σ_n log softmax(z_n)[y_n]      (log-sum-exp with the row max subtracted)
//   ∂L/∂z = dL · (softmax(z) − onehot(y)) / N
// logits f32 N×K, labels i32 [N] with values in [0,K) (else senet::Error naming index and value).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace senet {

// host_labels: the same labels on the host (e.g. the batch they were uploaded from). They are
// checked here, so for CUDA labels the kernel skips its own check and the host never waits for it.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                             const std::vector<int32_t>* host_labels = nullptr);

}  // namespace senet
