// engine/data/cifar.cpp — CIFAR record files: size must be a whole number of records, every label
// byte must be a valid class; pixels are copied as they are (already planar RGB). See cifar.h.
#include "engine/data/cifar.h"

#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/data/file_bytes.h"

namespace senet::data {
namespace {

constexpr int kPixels = 3 * 32 * 32;

// Appends the records of one file. label_bytes: 1 (CIFAR-10) or 2 (CIFAR-100); label_at picks
// which of them is the label; num_classes bounds it.
void append_records(const std::vector<uint8_t>& stored, const std::string& path, int label_bytes,
                    int label_at, int num_classes, Dataset& d) {
  const std::vector<uint8_t> bytes = maybe_gunzip(stored, path);
  const size_t record = size_t(label_bytes + kPixels);
  SENET_CHECK(bytes.size() % record == 0 && !bytes.empty(), "load_cifar: '", path,
              "': expected a non-empty multiple of ", record, "-byte records, found ", bytes.size(),
              " bytes (", bytes.size() / record, " records + ", bytes.size() % record, " bytes)");
  const int64_t count = int64_t(bytes.size() / record);
  d.pixels.resize(size_t((d.n + count) * kPixels));
  d.labels.resize(size_t(d.n + count));
  for (int64_t r = 0; r < count; ++r) {
    const uint8_t* rec = bytes.data() + size_t(r) * record;
    const int label = rec[label_at];
    SENET_CHECK(label < num_classes, "load_cifar: '", path, "': record ", r,
                " has label out of range: expected < ", num_classes, ", found ", label);
    // CIFAR-100 records carry both labels (coarse, fine): the unused one is checked too, since a
    // byte out of its range means the file is not what it claims to be.
    if (label_bytes == 2) {
      const int other = rec[1 - label_at], bound = label_at == 1 ? 20 : 100;
      SENET_CHECK(other < bound, "load_cifar: '", path, "': record ", r, " has ",
                  label_at == 1 ? "coarse" : "fine", " label out of range: expected < ", bound,
                  ", found ", other);
    }
    d.labels[size_t(d.n + r)] = label;
    std::memcpy(d.pixels.data() + (d.n + r) * kPixels, rec + label_bytes, kPixels);
  }
  d.n += count;
}

// `dir`, or dir/sub when the .bin files are not in `dir` itself but in the official sub-folder.
std::string data_dir(const std::string& dir, const std::string& probe, const std::string& sub) {
  namespace fs = std::filesystem;
  if (!fs::exists(fs::path(dir) / probe) && fs::exists(fs::path(dir) / sub / probe))
    return (fs::path(dir) / sub).string();
  return dir;
}

Dataset empty_cifar(const std::string& name, int num_classes) {
  Dataset d;
  d.name = name;
  d.c = 3;
  d.h = d.w = 32;
  d.num_classes = num_classes;
  return d;
}

}  // namespace

Dataset load_cifar10(const std::string& dir, bool train) {
  namespace fs = std::filesystem;
  const std::string root =
      data_dir(dir, train ? "data_batch_1.bin" : "test_batch.bin", "cifar-10-batches-bin");
  Dataset d = empty_cifar(train ? "cifar10/train" : "cifar10/test", 10);
  if (train) {
    for (int b = 1; b <= 5; ++b) {
      const std::string path =
          (fs::path(root) / ("data_batch_" + std::to_string(b) + ".bin")).string();
      append_records(read_file_raw(path), path, 1, 0, 10, d);
    }
  } else {
    const std::string path = (fs::path(root) / "test_batch.bin").string();
    append_records(read_file_raw(path), path, 1, 0, 10, d);
  }
  return d;
}

Dataset load_cifar100(const std::string& dir, bool train, bool fine_labels) {
  namespace fs = std::filesystem;
  const std::string file = train ? "train.bin" : "test.bin";
  const std::string root = data_dir(dir, file, "cifar-100-binary");
  Dataset d = empty_cifar(train ? "cifar100/train" : "cifar100/test", fine_labels ? 100 : 20);
  const std::string path = (fs::path(root) / file).string();
  append_records(read_file_raw(path), path, 2, fine_labels ? 1 : 0, d.num_classes, d);
  return d;
}

Dataset parse_cifar10(const std::vector<uint8_t>& bytes, const std::string& name) {
  Dataset d = empty_cifar(name, 10);
  append_records(bytes, name, 1, 0, 10, d);
  return d;
}

Dataset parse_cifar100(const std::vector<uint8_t>& bytes, const std::string& name,
                       bool fine_labels) {
  Dataset d = empty_cifar(name, fine_labels ? 100 : 20);
  append_records(bytes, name, 2, fine_labels ? 1 : 0, d.num_classes, d);
  return d;
}

}  // namespace senet::data
