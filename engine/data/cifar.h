// engine/data/cifar.h — CIFAR-10 and CIFAR-100, official binary versions.
// CIFAR-10:  data_batch_1.bin .. data_batch_5.bin (train), test_batch.bin (test); each record is
//            1 label byte + 3072 pixel bytes (1024 R, then 1024 G, then 1024 B, rows of 32).
// CIFAR-100: train.bin / test.bin; each record is coarse label, fine label, 3072 pixel bytes.
// The pixel planes are already CHW, so records copy straight into Dataset::pixels. `dir` is the
// folder holding the .bin files (or its parent holding cifar-10-batches-bin / cifar-100-binary).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace senet::data {

Dataset load_cifar10(const std::string& dir, bool train);
// fine_labels: the 100 fine classes; otherwise the 20 coarse superclasses.
Dataset load_cifar100(const std::string& dir, bool train, bool fine_labels = true);

// One record file's bytes as stored (raw or gzipped) → its records; the loaders above append these
// file by file (tests/fuzz/fuzz_cifar*.cpp). `name` is only used in error messages.
Dataset parse_cifar10(const std::vector<uint8_t>& bytes, const std::string& name);
Dataset parse_cifar100(const std::vector<uint8_t>& bytes, const std::string& name,
                       bool fine_labels);

}  // namespace senet::data
