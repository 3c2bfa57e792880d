// engine/core/random.h — tensors filled from a Generator (Philox): element i uses counter base + i,
// so fills are identical on every machine and thread count. Also the standard initialisers.
#pragma once
#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace senet {

Tensor randn(const Shape& shape, Generator& gen, float mean = 0.f, float std = 1.f,
             Device device = Device::CPU);
Tensor rand_uniform(const Shape& shape, Generator& gen, float lo = 0.f, float hi = 1.f,
                    Device device = Device::CPU);
// Kaiming-normal (He) for ReLU networks: std = √(2 / fan_in), fan_in = C·R·S (or in_features).
Tensor kaiming_normal(const Shape& shape, int64_t fan_in, Generator& gen,
                      Device device = Device::CPU);

}  // namespace senet
