// tests/data/test_data_idx.cpp — IDX files (raw and gzipped) and the Fashion-MNIST layout.
// Small files in the official format are written to a temp dir and read back exactly; padding is
// centred zeros, channels = 3 replicates; every broken-file case throws senet::Error naming the
// file and the expected vs found value. The real Fashion-MNIST is used when it is installed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "data_test_util.h"
#include "engine/data/idx.h"

namespace senet::data {
namespace {

using testing::expect_error;
using testing::idx_images;
using testing::idx_labels;
using testing::TempDir;

void expect_pixels(const Dataset& d, uint32_t rows, uint32_t cols) {
  for (int64_t i = 0; i < d.n; ++i)
    for (uint32_t y = 0; y < rows; ++y)
      for (uint32_t x = 0; x < cols; ++x)
        ASSERT_EQ(d.pixels[size_t((i * rows + y) * cols + x)], uint8_t((i * 31 + y * 7 + x) % 256));
}

TEST(DataIdx, RawRoundTrip) {
  TempDir dir;
  testing::write_file(dir / "im", idx_images(5, 3, 4));
  testing::write_file(dir / "lb", idx_labels(5, 10));
  Dataset d = load_idx(dir / "im", dir / "lb", 10);
  EXPECT_EQ(d.n, 5);
  EXPECT_EQ(d.c, 1);
  EXPECT_EQ(d.h, 3);
  EXPECT_EQ(d.w, 4);
  EXPECT_EQ(d.num_classes, 10);
  ASSERT_EQ(d.pixels.size(), 5u * 12);
  expect_pixels(d, 3, 4);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(d.labels[size_t(i)], i * 3 % 10);
  check_dataset(d);
}

TEST(DataIdx, GzipRoundTripDetectedByMagicNotName) {
  TempDir dir;
  testing::write_gz(dir / "im.gz", idx_images(7, 5, 2));
  testing::write_gz(dir / "labels-no-suffix", idx_labels(7, 4));
  Dataset d = load_idx(dir / "im.gz", dir / "labels-no-suffix", 4);
  EXPECT_EQ(d.n, 7);
  expect_pixels(d, 5, 2);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(d.labels[size_t(i)], i * 3 % 4);
}

TEST(DataIdx, Errors) {
  TempDir dir;
  testing::write_file(dir / "im", idx_images(5, 3, 4));
  testing::write_file(dir / "lb", idx_labels(5, 10));
  // Missing file.
  expect_error([&] { load_idx(dir / "nope", dir / "lb", 10); }, {dir / "nope", "cannot open"});
  // Truncated payload: fewer bytes than the header promises.
  auto im = idx_images(5, 3, 4);
  im.resize(im.size() - 7);
  testing::write_file(dir / "short", im);
  expect_error([&] { load_idx(dir / "short", dir / "lb", 10); },
               {dir / "short", "truncated", "60", "53"});
  // Truncated header.
  testing::write_file(dir / "tiny", {0, 0, 8, 3, 0, 0});
  expect_error([&] { load_idx(dir / "tiny", dir / "lb", 10); }, {dir / "tiny", "truncated"});
  // Trailing bytes.
  im = idx_images(5, 3, 4);
  im.push_back(1);
  testing::write_file(dir / "long", im);
  expect_error([&] { load_idx(dir / "long", dir / "lb", 10); }, {dir / "long", "60", "61"});
  // Wrong magic: images and labels swapped.
  expect_error([&] { load_idx(dir / "lb", dir / "im", 10); },
               {dir / "lb", "magic", "0x00000803", "0x00000801"});
  // Count mismatch.
  testing::write_file(dir / "lb4", idx_labels(4, 10));
  expect_error([&] { load_idx(dir / "im", dir / "lb4", 10); },
               {"mismatch", dir / "im", dir / "lb4", "5", "4"});
  // Label out of range: labels go up to 9 (i*3 % 10 = 3, 6, 9, 2).
  expect_error([&] { load_idx(dir / "im", dir / "lb", 5); },
               {dir / "lb", "out of range", "< 5", "found 6"});
  // Bad gzip: the magic bytes then garbage.
  testing::write_file(dir / "bad.gz", {0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  expect_error([&] { load_idx(dir / "bad.gz", dir / "lb", 10); }, {dir / "bad.gz", "gzip"});
  // Truncated gzip: a valid stream cut in half.
  testing::write_gz(dir / "full.gz", idx_images(50, 8, 8));
  auto gz = testing::read_all(dir / "full.gz");
  gz.resize(gz.size() / 2);
  testing::write_file(dir / "half.gz", gz);
  expect_error([&] { load_idx(dir / "half.gz", dir / "lb", 10); },
               {dir / "half.gz", "gzip", "truncated"});
}

// A Fashion-MNIST-shaped folder: n images of 28×28 (gzipped, as Debian ships them).
void write_fashion(const TempDir& dir, const std::string& prefix, uint32_t n) {
  testing::write_gz(dir / (prefix + "-images-idx3-ubyte.gz"), idx_images(n, 28, 28));
  testing::write_gz(dir / (prefix + "-labels-idx1-ubyte.gz"), idx_labels(n, 10));
}

TEST(DataFashionMnist, PaddingIsCentredZeros) {
  TempDir dir;
  write_fashion(dir, "train", 3);
  write_fashion(dir, "t10k", 2);
  Dataset d = load_fashion_mnist(dir.path.string(), true);
  EXPECT_EQ(d.name, "fashion-mnist/train");
  EXPECT_EQ(d.n, 3);
  EXPECT_EQ(d.c, 1);
  EXPECT_EQ(d.h, 32);
  EXPECT_EQ(d.w, 32);
  for (int i = 0; i < 3; ++i)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const uint8_t want = inside ? uint8_t((i * 31 + (y - 2) * 7 + (x - 2)) % 256) : 0;
        ASSERT_EQ(d.pixels[size_t((i * 32 + y) * 32 + x)], want) << i << " " << y << " " << x;
      }
  Dataset t = load_fashion_mnist(dir.path.string(), false);
  EXPECT_EQ(t.name, "fashion-mnist/test");
  EXPECT_EQ(t.n, 2);
}

TEST(DataFashionMnist, NoPadAndThreeChannels) {
  TempDir dir;
  testing::write_file(dir / "t10k-images-idx3-ubyte", idx_images(2, 28, 28));  // raw also works
  testing::write_file(dir / "t10k-labels-idx1-ubyte", idx_labels(2, 10));
  Dataset plain = load_fashion_mnist(dir.path.string(), false, 28, 1);
  EXPECT_EQ(plain.h, 28);
  expect_pixels(plain, 28, 28);
  Dataset rgb = load_fashion_mnist(dir.path.string(), false, 29, 3);
  EXPECT_EQ(rgb.c, 3);
  EXPECT_EQ(rgb.h, 29);
  for (int i = 0; i < 2; ++i)
    for (int ch = 1; ch < 3; ++ch)
      for (int p = 0; p < 29 * 29; ++p)
        ASSERT_EQ(rgb.pixels[size_t((i * 3 + ch) * 29 * 29 + p)],
                  rgb.pixels[size_t((i * 3 + 0) * 29 * 29 + p)]);
  // Odd padding: 1 extra row/column, placed after the image (top-left offset 0).
  EXPECT_EQ(rgb.pixels[0], uint8_t(0));
  EXPECT_EQ(rgb.pixels[size_t(28 * 29 + 0)], uint8_t(0));  // last row is padding
}

TEST(DataFashionMnist, Errors) {
  TempDir dir;
  expect_error([&] { load_fashion_mnist(dir.path.string(), true); },
               {"missing", "train-images-idx3-ubyte", ".gz"});
  write_fashion(dir, "train", 2);
  expect_error([&] { load_fashion_mnist(dir.path.string(), true, 20); }, {"pad_to", "20"});
  expect_error([&] { load_fashion_mnist(dir.path.string(), true, 32, 2); }, {"channels", "2"});
}

TEST(DataFashionMnist, RealTestSplitWhenInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
  Dataset d = load_fashion_mnist(dir, false);
  EXPECT_EQ(d.n, 10000);
  EXPECT_EQ(d.h, 32);
  check_dataset(d);
  std::vector<int> count(10, 0);
  for (int32_t y : d.labels) ++count[size_t(y)];
  for (int k = 0; k < 10; ++k) EXPECT_EQ(count[size_t(k)], 1000);  // the test split is balanced
}

TEST(DataFashionMnist, RealTrainSplitLoads) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
  // No time bound here (speed lives in benchmarks, and a sanitizer build is 3× slower): the time is
  // printed for the reader.
  const auto t0 = std::chrono::steady_clock::now();
  Dataset d = load_fashion_mnist(dir, true);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("load_fashion_mnist(train): %lld images in %.3f s\n", (long long)d.n, s);
  EXPECT_EQ(d.n, 60000);
  std::vector<int64_t> count(10, 0);
  for (int64_t i = 0; i < d.n; ++i) ++count[size_t(d.labels[size_t(i)])];
  for (int k = 0; k < 10; ++k)
    EXPECT_EQ(count[size_t(k)], 6000);  // the train split is balanced too
}

}  // namespace
}  // namespace senet::data
