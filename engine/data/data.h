// engine/data/data.h — everything of senet_data in one include.
// Data sets (idx / Fashion-MNIST, CIFAR-10/100, Tiny-ImageNet, synthetic) load into a Dataset of
// uint8 CHW images; split_train_val makes a seeded validation split; Loader turns a Dataset into
// normalised, augmented float batches on a background thread. Every random decision is a stateless
// Philox draw addressed by (seed, stream, index), see streams.h.
#pragma once
#include "engine/data/augment.h"
#include "engine/data/cifar.h"
#include "engine/data/dataset.h"
#include "engine/data/idx.h"
#include "engine/data/loader.h"
#include "engine/data/normalize.h"
#include "engine/data/split.h"
#include "engine/data/synthetic.h"
#include "engine/data/tiny_imagenet.h"
