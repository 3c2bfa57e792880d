// engine/data/cifar.h — CIFAR-10 and CIFAR-100, official binary versions.
// CIFAR-10:  data_batch_1.bin .. data_batch_5.bin (train), test_batch.bin (test); each record is
//            1 label byte + 3072 pixel bytes (1024 R, then 1024 G, then 1024 B, rows of 32).
// CIFAR-100: train.bin / test.bin; each record is coarse label, fine label, 3072 pixel bytes.
// The pixel planes are already CHW, so records copy straight into Dataset::pixels. `dir` is the
// folder holding the .bin files (or its parent holding cifar-10-batches-bin / cifar-100-binary).
#pragma once
#include <string>

#include "engine/data/dataset.h"

namespace senet::data {

Dataset load_cifar10(const std::string& dir, bool train);
// fine_labels: the 100 fine classes; otherwise the 20 coarse superclasses.
Dataset load_cifar100(const std::string& dir, bool train, bool fine_labels = true);

}  // namespace senet::data
