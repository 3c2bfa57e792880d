// senet/bn_recalibration.h — BatchNorm running statistics recomputed for the network as it is now.
// A student whose ReLU mask just changed (stage 2's mask search) computes different activations
// than the ones its running mean/var were gathered on; validating it with the old statistics
// measures the wrong network (the issue: 46.10 % with the stale statistics, 53.90 % recomputed, for
// the same weights and mask). This recomputes them the way BN defines them, without touching a
// weight: every BatchNorm2d's running stats are reset and `batches` training batches run forward in
// train mode without gradients, the k-th with momentum 1/k, so that
//     running_mean = (1/K) Σ_k μ_k,   running_var = (1/K) Σ_k σ²_k · M/(M−1)
// (the plain average over the K batches, K = min(batches, batches per epoch)); the momenta are
// restored afterwards. Deterministic for the loader's seed.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/data/loader.h"
#include "engine/nn/layers.h"
#include "models/model.h"

namespace senet {

// Every BatchNorm2d of `m`'s module tree, in registration order.
std::vector<nn::BatchNorm2d*> batchnorm_layers(const nn::Module& m);

// Returns the number of batches used.
int64_t recompute_bn_statistics(models::Model& model, data::Loader& loader, int64_t epoch,
                                int64_t batches);

}  // namespace senet
