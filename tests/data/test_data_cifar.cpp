// tests/data/test_data_cifar.cpp — CIFAR-10 and CIFAR-100 binary files.
// Each record's pixels encode (file, record, channel, position), so the test can check that files
// are concatenated in order and the R, G, B planes land in channels 0, 1, 2 unchanged. Errors: a
// missing batch file, a size that is not a whole number of records, a label out of range.
#include <gtest/gtest.h>

#include <filesystem>

#include "data_test_util.h"
#include "engine/data/cifar.h"

namespace senet::data {
namespace {

using testing::expect_error;
using testing::TempDir;

uint8_t pixel(int file, int rec, int ch, int p) {
  return uint8_t(file * 50 + rec * 13 + ch * 5 + p);
}

// `count` records; labels[r] written at label_at of `label_bytes` label bytes.
std::vector<uint8_t> records(int file, int count, int label_bytes, const std::vector<int>& labels) {
  std::vector<uint8_t> v;
  for (int r = 0; r < count; ++r) {
    for (int k = 0; k < label_bytes; ++k) v.push_back(uint8_t(labels[size_t(r * label_bytes + k)]));
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 1024; ++p) v.push_back(pixel(file, r, ch, p));
  }
  return v;
}

void expect_record(const Dataset& d, int64_t i, int file, int rec) {
  for (int ch = 0; ch < 3; ++ch)
    for (int p = 0; p < 1024; ++p)
      ASSERT_EQ(d.pixels[size_t((i * 3 + ch) * 1024 + p)], pixel(file, rec, ch, p))
          << "image " << i << " channel " << ch << " pixel " << p;
}

void write_cifar10(const std::string& dir) {
  for (int b = 1; b <= 5; ++b)
    testing::write_file(dir + "/data_batch_" + std::to_string(b) + ".bin",
                        records(b, 2, 1, {b % 10, (b + 4) % 10}));
  testing::write_file(dir + "/test_batch.bin", records(9, 3, 1, {7, 8, 9}));
}

TEST(DataCifar10, TrainAndTestRoundTrip) {
  TempDir dir;
  write_cifar10(dir.path.string());
  Dataset d = load_cifar10(dir.path.string(), true);
  EXPECT_EQ(d.name, "cifar10/train");
  EXPECT_EQ(d.n, 10);
  EXPECT_EQ(d.c, 3);
  EXPECT_EQ(d.h, 32);
  EXPECT_EQ(d.w, 32);
  EXPECT_EQ(d.num_classes, 10);
  for (int b = 1; b <= 5; ++b)
    for (int r = 0; r < 2; ++r) {
      const int64_t i = (b - 1) * 2 + r;
      EXPECT_EQ(d.labels[size_t(i)], r == 0 ? b % 10 : (b + 4) % 10);
      expect_record(d, i, b, r);
    }
  Dataset t = load_cifar10(dir.path.string(), false);
  EXPECT_EQ(t.name, "cifar10/test");
  ASSERT_EQ(t.n, 3);
  EXPECT_EQ(t.labels, (std::vector<int32_t>{7, 8, 9}));
  expect_record(t, 2, 9, 2);
}

TEST(DataCifar10, FindsOfficialSubfolder) {
  TempDir dir;
  write_cifar10(dir / "cifar-10-batches-bin");
  EXPECT_EQ(load_cifar10(dir.path.string(), false).n, 3);
}

TEST(DataCifar10, Errors) {
  TempDir dir;
  write_cifar10(dir.path.string());
  std::filesystem::remove(dir / "data_batch_4.bin");
  expect_error([&] { load_cifar10(dir.path.string(), true); }, {dir / "data_batch_4.bin", "open"});
  // Not a multiple of the 3073-byte record.
  auto bytes = records(9, 3, 1, {1, 2, 3});
  bytes.erase(bytes.end() - 100,
              bytes.end());  // (resize: GCC 12 under ASan warned of a huge memset)
  testing::write_file(dir / "test_batch.bin", bytes);
  expect_error([&] { load_cifar10(dir.path.string(), false); },
               {dir / "test_batch.bin", "3073", std::to_string(3 * 3073 - 100)});
  testing::write_file(dir / "test_batch.bin", {});
  expect_error([&] { load_cifar10(dir.path.string(), false); }, {dir / "test_batch.bin", "3073"});
  // Label 10 is out of range.
  testing::write_file(dir / "test_batch.bin", records(9, 2, 1, {3, 10}));
  expect_error([&] { load_cifar10(dir.path.string(), false); },
               {dir / "test_batch.bin", "record 1", "< 10", "found 10"});
}

TEST(DataCifar100, FineAndCoarse) {
  TempDir dir;
  // (coarse, fine) pairs.
  testing::write_file(dir / "train.bin", records(1, 3, 2, {19, 99, 0, 0, 5, 42}));
  testing::write_file(dir / "test.bin", records(2, 1, 2, {7, 77}));
  Dataset fine = load_cifar100(dir.path.string(), true);
  EXPECT_EQ(fine.name, "cifar100/train");
  EXPECT_EQ(fine.num_classes, 100);
  ASSERT_EQ(fine.n, 3);
  EXPECT_EQ(fine.labels, (std::vector<int32_t>{99, 0, 42}));
  for (int r = 0; r < 3; ++r) expect_record(fine, r, 1, r);
  Dataset coarse = load_cifar100(dir.path.string(), true, false);
  EXPECT_EQ(coarse.num_classes, 20);
  EXPECT_EQ(coarse.labels, (std::vector<int32_t>{19, 0, 5}));
  EXPECT_EQ(coarse.pixels, fine.pixels);
  Dataset test = load_cifar100(dir.path.string(), false);
  EXPECT_EQ(test.name, "cifar100/test");
  EXPECT_EQ(test.labels, (std::vector<int32_t>{77}));
  expect_record(test, 0, 2, 0);
}

TEST(DataCifar100, Errors) {
  TempDir dir;
  expect_error([&] { load_cifar100(dir.path.string(), true); }, {dir / "train.bin", "open"});
  testing::write_file(dir / "train.bin", records(1, 2, 1, {1, 2}));  // CIFAR-10 records
  expect_error([&] { load_cifar100(dir.path.string(), true); }, {dir / "train.bin", "3074"});
  testing::write_file(dir / "train.bin", records(1, 2, 2, {1, 2, 3, 100}));
  expect_error([&] { load_cifar100(dir.path.string(), true); },
               {dir / "train.bin", "record 1", "< 100", "found 100"});
  testing::write_file(dir / "train.bin", records(1, 2, 2, {1, 2, 20, 3}));
  expect_error([&] { load_cifar100(dir.path.string(), true, false); },
               {dir / "train.bin", "< 20", "found 20"});
  // The label not used is checked too: a coarse 200 with fine labels, a fine 100 with coarse ones.
  testing::write_file(dir / "train.bin", records(1, 2, 2, {1, 2, 200, 3}));
  expect_error([&] { load_cifar100(dir.path.string(), true); },
               {dir / "train.bin", "record 1", "coarse label", "< 20", "found 200"});
  testing::write_file(dir / "train.bin", records(1, 2, 2, {1, 2, 3, 100}));
  expect_error([&] { load_cifar100(dir.path.string(), true, false); },
               {dir / "train.bin", "record 1", "fine label", "< 100", "found 100"});
}

}  // namespace
}  // namespace senet::data
