// engine/data/normalize.cpp — the constants of normalize.h.
#include "engine/data/normalize.h"

#include "engine/core/error.h"

namespace senet::data {

Normalize fashion_mnist_normalize(int channels) {
  SENET_CHECK(channels > 0, "fashion_mnist_normalize: channels must be positive, got ", channels);
  return {std::vector<float>(size_t(channels), 0.2860f),
          std::vector<float>(size_t(channels), 0.3530f)};
}
Normalize cifar10_normalize() { return {{0.4914f, 0.4822f, 0.4465f}, {0.2023f, 0.1994f, 0.2010f}}; }
Normalize cifar100_normalize() {
  return {{0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}};
}
Normalize tiny_imagenet_normalize() { return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}; }

}  // namespace senet::data
