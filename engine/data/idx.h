// engine/data/idx.h — the IDX format of MNIST / Fashion-MNIST, raw or gzipped.
// IDX: 4-byte big-endian magic 0x000008dd (08 = unsigned byte, dd = number of dims), then dd
// big-endian uint32 sizes, then the bytes in row-major order. Images are idx3 (magic 0x00000803:
// count, rows, cols), labels are idx1 (magic 0x00000801: count). Files are read whole, so the byte
// count is checked against the header before any pixel is touched.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace senet::data {

// Images (1×rows×cols) with their labels; every label must be < num_classes.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int num_classes);
// The parser on its own (load_idx = read_file_raw of both files + this; tests/fuzz/fuzz_idx.cpp):
// the two files' bytes as stored (each raw or gzipped); the names are only used in messages.
Dataset parse_idx(const std::vector<uint8_t>& images, const std::string& images_name,
                  const std::vector<uint8_t>& labels, const std::string& labels_name,
                  int num_classes);

// Fashion-MNIST from `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-* for the test
// split; each raw or with a .gz suffix). The 28×28 images are zero-padded to pad_to×pad_to,
// centred; channels = 3 replicates the gray plane into R, G and B.
Dataset load_fashion_mnist(const std::string& dir, bool train, int pad_to = 32, int channels = 1);

}  // namespace senet::data
