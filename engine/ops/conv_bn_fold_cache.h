// engine/ops/conv_bn_fold_cache.h — BN folded into the conv, computed once until the weights change.
// Inference (eval without gradients) runs conv → BN → act as one conv with
//   w'[k,·] = w[k,·]·s_k,  b'[k] = β_k − μ_k·s_k,  s_k = γ_k/√(running_var_k + ε)
// (engine/ops/conv_bn_act.cpp). Folding every call costs a pass over the weights (and on a GPU a
// launch) per layer per batch; this cache keeps (w', b') per conv weight and recomputes it only
// when w, γ, β or the running statistics changed — known from their storages' (id, version)
// (engine/core/storage.h): any write (an optimizer step, a training-mode forward updating the
// running statistics, a checkpoint load, a user's write through Tensor::data) takes a writable
// pointer first, which advances the version. A miss replaces the layer's entry; there is at most one
// entry per conv weight, and the cache is emptied when it holds more than kMaxEntries (models
// destroyed and rebuilt).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/core/tensor.h"
#include "engine/ops/batchnorm.h"

namespace senet {

struct FoldedConvBn {
  Tensor w;  // K×C×R×S on the weight's device
  Tensor b;  // K
};

// The folded weights of (w, γ, β, running stats, ε); `fold` computes them on a miss (it must read
// its inputs with Tensor::read, which does not advance their versions).
FoldedConvBn folded_conv_bn(const Tensor& w, const Tensor& gamma, const Tensor& beta,
                            const BatchNormState& st, const std::function<FoldedConvBn()>& fold);

struct FoldCacheStats {
  int64_t hits = 0, misses = 0, entries = 0;
};
FoldCacheStats fold_cache_stats();
void clear_fold_cache();

}  // namespace senet
