// engine/data/normalize.h — per-channel normalisation constants of the data sets.
// A pixel byte v of channel ch becomes (v/255 − mean[ch]) / std[ch]. Empty mean/std means plain
// v/255. The numbers are the customary published ones, not recomputed (e.g. Fashion-MNIST's are
// for the unpadded 28×28 images; the zero padding lowers the real mean a little, which is fine).
#pragma once
#include <vector>

namespace senet::data {

struct Normalize {
  std::vector<float> mean, std;  // one entry per channel
};

Normalize fashion_mnist_normalize(int channels);  // mean 0.2860, std 0.3530 in every channel
Normalize cifar10_normalize();                    // mean .4914 .4822 .4465, std .2023 .1994 .2010
Normalize cifar100_normalize();                   // mean .5071 .4867 .4408, std .2675 .2565 .2761
Normalize tiny_imagenet_normalize();  // ImageNet: mean .485 .456 .406, std .229 .224 .225

}  // namespace senet::data
