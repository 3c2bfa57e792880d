// engine/ops/count_correct.h — top-1 accuracy helper (no autograd):
//   Σ_n [argmax_k z_{n,k} = y_n],  ties broken toward the lowest index k (NaN never wins).
// logits f32 N×K, labels i32 [N] in [0,K) (else senet::Error naming index and value).
#pragma once
#include <cstdint>

#include "engine/core/tensor.h"

namespace senet {

int64_t count_correct(const Tensor& logits, const Tensor& labels);

}  // namespace senet
