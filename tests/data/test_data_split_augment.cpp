// tests/data/test_data_split_augment.cpp — split, augmentation, normalisation, synthetic data.
// Split: the parts are disjoint, cover every row, depend only on the seed; every image keeps its
// position in the original file (source_index) through the split and later selections.
// Augment: pad 0 without flip is the identity, the window offset moves the image, flipping twice
// gives the image back, draws depend only on (seed, epoch, position). Synthetic data: deterministic and learnable (a
// nearest-class-mean classifier already separates the classes on held-out rows).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data_test_util.h"
#include "engine/data/augment.h"
#include "engine/data/split.h"
#include "engine/data/synthetic.h"

namespace senet::data {
namespace {

// n 1×1×2 images whose two bytes encode the row number, label row mod 7.
Dataset numbered(int64_t n) {
  Dataset d;
  d.name = "numbered";
  d.n = n;
  d.c = 1;
  d.h = 1;
  d.w = 2;
  d.num_classes = 7;
  for (int64_t i = 0; i < n; ++i) {
    d.pixels.push_back(uint8_t(i & 255));
    d.pixels.push_back(uint8_t(i >> 8));
    d.labels.push_back(int32_t(i % 7));
  }
  return d;
}

std::vector<int64_t> rows_of(const Dataset& d) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < d.n; ++i) {
    const int64_t row = d.pixels[size_t(2 * i)] + 256 * d.pixels[size_t(2 * i + 1)];
    EXPECT_EQ(d.labels[size_t(i)], row % 7);  // label travelled with its image
    rows.push_back(row);
  }
  return rows;
}

TEST(DataSplit, DisjointCoveringDeterministic) {
  const Dataset d = numbered(1000);
  auto [train, val] = split_train_val(d, 200, 42);
  EXPECT_EQ(train.name, "numbered/train");
  EXPECT_EQ(val.name, "numbered/val");
  ASSERT_EQ(train.n, 800);
  ASSERT_EQ(val.n, 200);
  check_dataset(train);
  check_dataset(val);
  std::set<int64_t> seen;
  for (int64_t r : rows_of(train)) EXPECT_TRUE(seen.insert(r).second);
  for (int64_t r : rows_of(val)) EXPECT_TRUE(seen.insert(r).second) << "row " << r << " in both";
  EXPECT_EQ(seen.size(), 1000u);
  auto [train2, val2] = split_train_val(d, 200, 42);
  EXPECT_EQ(val2.pixels, val.pixels);
  EXPECT_EQ(train2.pixels, train.pixels);
  auto [train3, val3] = split_train_val(d, 200, 43);
  EXPECT_NE(val3.pixels, val.pixels);
  // Not just the first 200 rows.
  auto vr = rows_of(val);
  EXPECT_GT(*std::max_element(vr.begin(), vr.end()), 500);
}

// source_index follows each image through the split and any later selection: the validation
// split's values are the images' rows in the original data (what eval --dump-logits reports).
TEST(DataSplit, SourceIndexFollowsTheImages) {
  const Dataset d = numbered(1000);
  EXPECT_TRUE(d.source_index.empty());
  EXPECT_EQ(source_index(d, 17), 17);
  auto [train, val] = split_train_val(d, 200, 42);
  EXPECT_EQ(val.source_index, rows_of(val));
  EXPECT_EQ(train.source_index, rows_of(train));
  const int64_t rows[3] = {5, 0, 5};
  const Dataset sub = select_rows(val, rows, 3, "sub");
  EXPECT_EQ(sub.source_index,
            (std::vector<int64_t>{val.source_index[5], val.source_index[0], val.source_index[5]}));
  EXPECT_EQ(sub.source_index, rows_of(sub));
  check_dataset(sub);
  Dataset bad = sub;
  bad.source_index.pop_back();
  testing::expect_error([&] { check_dataset(bad); }, {"sub", "3 source indices", "found 2"});
}

TEST(DataSplit, EdgesAndErrors) {
  const Dataset d = numbered(10);
  EXPECT_EQ(split_train_val(d, 0, 1).second.n, 0);
  EXPECT_EQ(split_train_val(d, 10, 1).first.n, 0);
  testing::expect_error([&] { split_train_val(d, 11, 1); }, {"val_count", "11", "numbered"});
  Dataset broken = d;
  broken.labels[3] = 7;
  testing::expect_error([&] { split_train_val(broken, 2, 1); }, {"label 7", "image 3"});
}

// A 2×3×4 image with byte (ch, y, x) = 1 + ch*12 + y*4 + x.
std::vector<uint8_t> small_image() {
  std::vector<uint8_t> img;
  for (int i = 0; i < 24; ++i) img.push_back(uint8_t(1 + i));
  return img;
}

// Bytes back from write_sample's output with scale 1, shift 0 (exact in float).
std::vector<uint8_t> apply(const std::vector<uint8_t>& img, int pad, AugmentDraw draw) {
  const float scale[2] = {1, 1}, shift[2] = {0, 0};
  std::vector<float> out(24);
  write_sample(img.data(), 2, 3, 4, pad, draw, scale, shift, out.data());
  return std::vector<uint8_t>(out.begin(), out.end());
}

TEST(DataAugment, CropAndFlip) {
  const auto img = small_image();
  EXPECT_EQ(apply(img, 0, {}), img);             // pad 0, no flip: identity
  EXPECT_EQ(apply(img, 2, {2, 2, false}), img);  // centred window: identity
  const auto up = apply(img, 1, {2, 1, false});  // window one row lower: image moves up
  for (int ch = 0; ch < 2; ++ch)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x)
        EXPECT_EQ(up[size_t(ch * 12 + y * 4 + x)],
                  y < 2 ? img[size_t(ch * 12 + (y + 1) * 4 + x)] : 0);
  const auto flipped = apply(img, 0, {0, 0, true});
  EXPECT_EQ(flipped[0], img[3]);
  EXPECT_EQ(flipped[12 + 4 + 1], img[12 + 4 + 2]);
  EXPECT_EQ(apply(flipped, 0, {0, 0, true}), img);  // flip twice: identity
}

TEST(DataAugment, DrawsDependOnSeedEpochPositionOnly) {
  const Augment aug{4, true};
  int flips = 0;
  std::set<int> offsets;
  for (int p = 0; p < 1000; ++p) {
    const AugmentDraw a = draw_augment(aug, 7, 3, p), b = draw_augment(aug, 7, 3, p);
    EXPECT_EQ(a.dy, b.dy);
    EXPECT_EQ(a.dx, b.dx);
    EXPECT_EQ(a.flip, b.flip);
    ASSERT_TRUE(a.dy >= 0 && a.dy <= 8 && a.dx >= 0 && a.dx <= 8);
    flips += a.flip;
    offsets.insert(a.dy);
  }
  EXPECT_EQ(offsets.size(), 9u);
  EXPECT_GT(flips, 400);
  EXPECT_LT(flips, 600);
  int same = 0;
  for (int p = 0; p < 100; ++p) {
    const AugmentDraw a = draw_augment(aug, 7, 3, p), b = draw_augment(aug, 7, 4, p);
    same += a.dy == b.dy && a.dx == b.dx && a.flip == b.flip;
  }
  EXPECT_LT(same, 20);  // another epoch draws differently (1/162 chance per sample to match)
  const AugmentDraw none = draw_augment(Augment{}, 7, 3, 5);
  EXPECT_EQ(none.dy, 0);
  EXPECT_EQ(none.dx, 0);
  EXPECT_FALSE(none.flip);
}

TEST(DataNormalize, Numbers) {
  const Normalize c10 = cifar10_normalize();
  EXPECT_FLOAT_EQ(c10.mean[0], 0.4914f);
  EXPECT_FLOAT_EQ(c10.std[2], 0.2010f);
  const Normalize c100 = cifar100_normalize();
  EXPECT_FLOAT_EQ(c100.mean[1], 0.4867f);
  EXPECT_FLOAT_EQ(c100.std[0], 0.2675f);
  const Normalize fm = fashion_mnist_normalize(3);
  ASSERT_EQ(fm.mean.size(), 3u);
  EXPECT_FLOAT_EQ(fm.mean[2], 0.2860f);
  EXPECT_FLOAT_EQ(fm.std[1], 0.3530f);
  const Normalize tin = tiny_imagenet_normalize();
  EXPECT_FLOAT_EQ(tin.mean[0], 0.485f);
  EXPECT_FLOAT_EQ(tin.std[2], 0.225f);
  float scale[3], shift[3];
  normalize_affine(c10, 3, scale, shift);
  for (int ch = 0; ch < 3; ++ch)
    for (int v : {0, 1, 128, 255})
      EXPECT_NEAR(v * scale[ch] + shift[ch], (v / 255.0 - c10.mean[ch]) / c10.std[ch], 1e-5);
  normalize_affine(Normalize{}, 2, scale, shift);
  EXPECT_FLOAT_EQ(255 * scale[1] + shift[1], 1.0f);
  testing::expect_error([&] { normalize_affine(c10, 1, scale, shift); }, {"1", "found 3"});
  testing::expect_error([&] { normalize_affine({{0.5f}, {0.0f}}, 1, scale, shift); }, {"std"});
}

TEST(DataSynthetic, DeterministicAndLearnable) {
  const Dataset a = make_synthetic(2000, 3, 16, 16, 10, 5);
  check_dataset(a);
  EXPECT_EQ(a.n, 2000);
  EXPECT_EQ(make_synthetic(2000, 3, 16, 16, 10, 5).pixels, a.pixels);
  EXPECT_NE(make_synthetic(2000, 3, 16, 16, 10, 6).pixels, a.pixels);
  // Nearest class mean, fitted on 1500 rows, tested on 500 others.
  auto [train, val] = split_train_val(a, 500, 1);
  const int64_t size = image_size(a);
  std::vector<double> mean(size_t(10 * size), 0.0);
  std::vector<int> count(10, 0);
  for (int64_t i = 0; i < train.n; ++i) {
    const int k = train.labels[size_t(i)];
    ++count[size_t(k)];
    for (int64_t p = 0; p < size; ++p)
      mean[size_t(k * size + p)] += train.pixels[size_t(i * size + p)];
  }
  for (int k = 0; k < 10; ++k)
    for (int64_t p = 0; p < size; ++p) mean[size_t(k * size + p)] /= count[size_t(k)];
  int correct = 0;
  for (int64_t i = 0; i < val.n; ++i) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < 10; ++k) {
      double dist = 0;
      for (int64_t p = 0; p < size; ++p) {
        const double e = val.pixels[size_t(i * size + p)] - mean[size_t(k * size + p)];
        dist += e * e;
      }
      if (dist < best_d) best_d = dist, best = k;
    }
    correct += best == val.labels[size_t(i)];
  }
  EXPECT_GT(correct, 475) << "nearest-class-mean accuracy " << correct / 5.0 << "%";
  testing::expect_error([&] { make_synthetic(10, 0, 8, 8, 2, 1); }, {"c=0"});
}

}  // namespace
}  // namespace senet::data
