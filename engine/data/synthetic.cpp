// engine/data/synthetic.cpp — blob-per-class images (see synthetic.h). Every draw is
// rand_*(seed, kSynthetic* stream, counter) so images can be generated in any order.
#include "engine/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/rng.h"
#include "engine/data/streams.h"

namespace senet::data {

Dataset make_synthetic(int64_t n, int c, int h, int w, int num_classes, uint64_t seed) {
  SENET_CHECK(n >= 0 && c > 0 && h > 0 && w > 0 && num_classes > 0,
              "make_synthetic: expected n >= 0 and positive c, h, w, num_classes; found n=", n,
              " c=", c, " h=", h, " w=", w, " num_classes=", num_classes);
  Dataset d;
  d.name = "synthetic";
  d.n = n;
  d.c = c;
  d.h = h;
  d.w = w;
  d.num_classes = num_classes;
  d.pixels.resize(size_t(n * image_size(d)));
  d.labels.resize(size_t(n));
  const int grid = int(std::ceil(std::sqrt(double(num_classes))));
  const float sigma = std::max(1.0f, 0.35f * float(std::min(h, w)) / float(grid));
  std::vector<float> tint(size_t(num_classes) * c, 1.0f);  // per (class, channel), in [0.35, 1]
  if (c > 1)
    for (size_t k = 0; k < tint.size(); ++k)
      tint[k] = 0.35f + 0.65f * rand_uniform(seed, kSyntheticTint, k);
  std::vector<float> blob(size_t(h) * w);
  for (int64_t i = 0; i < n; ++i) {
    const int k = int(i % num_classes);
    d.labels[size_t(i)] = k;
    const int jy = int(rand_below(seed, kSyntheticJitter, 2 * uint64_t(i), 3)) - 1;
    const int jx = int(rand_below(seed, kSyntheticJitter, 2 * uint64_t(i) + 1, 3)) - 1;
    const float cy = (float(k / grid) + 0.5f) * float(h) / float(grid) + float(jy);
    const float cx = (float(k % grid) + 0.5f) * float(w) / float(grid) + float(jx);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float dy = float(y) + 0.5f - cy, dx = float(x) + 0.5f - cx;
        blob[size_t(y) * w + x] = std::exp(-(dy * dy + dx * dx) / (2 * sigma * sigma));
      }
    const uint64_t base = uint64_t(i) * uint64_t(image_size(d));
    uint8_t* img = d.pixels.data() + i * image_size(d);
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < h * w; ++p) {
        const uint64_t at = base + uint64_t(ch) * h * w + p;
        const float noise = 64.0f * rand_uniform(seed, kSyntheticNoise, at);
        const float v = noise + 190.0f * tint[size_t(k) * c + ch] * blob[size_t(p)];
        img[size_t(ch) * h * w + p] = uint8_t(std::min(255.0f, v));
      }
  }
  return d;
}

}  // namespace senet::data
