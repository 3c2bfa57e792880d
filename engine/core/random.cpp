// engine/core/random.cpp — Philox fills (element-indexed, thread-count independent).
#include "engine/core/random.h"

#include <cmath>
#include <vector>

#include "engine/core/parallel.h"

namespace senet {

Tensor randn(const Shape& shape, Generator& gen, float mean, float std, Device device) {
  std::vector<float> v(size_t(shape.numel()));
  uint64_t base = gen.reserve(v.size());
  parallel_for(0, int64_t(v.size()), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) v[i] = mean + std * rand_normal(gen.seed, 0, base + i);
  });
  return Tensor::from_vector(v, shape, device);
}

Tensor rand_uniform(const Shape& shape, Generator& gen, float lo, float hi, Device device) {
  std::vector<float> v(size_t(shape.numel()));
  uint64_t base = gen.reserve(v.size());
  parallel_for(0, int64_t(v.size()), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) v[i] = lo + (hi - lo) * rand_uniform(gen.seed, 0, base + i);
  });
  return Tensor::from_vector(v, shape, device);
}

Tensor kaiming_normal(const Shape& shape, int64_t fan_in, Generator& gen, Device device) {
  SENET_CHECK(fan_in > 0, "kaiming_normal: fan_in must be positive, got ", fan_in);
  return randn(shape, gen, 0.f, std::sqrt(2.f / float(fan_in)), device);
}

}  // namespace senet
