// tests/data/test_data_loader.cpp — the prefetching Loader.
// Checks: every row exactly once per epoch (partial last batch kept or dropped), values equal the
// normalised dataset bytes, same (seed, epoch) → same batches, other epochs differ, start_epoch(e,
// b) resumes with the identical batch b (augmentation included), restarting mid-epoch and
// destroying mid-epoch do not hang, a worker exception comes out of next() as senet::Error.
#include <gtest/gtest.h>

#include <set>

#include "data_test_util.h"
#include "engine/data/loader.h"
#include "engine/data/synthetic.h"

namespace senet::data {
namespace {

std::vector<Batch> read_epoch(Loader& l, int64_t epoch, int64_t first = 0) {
  l.start_epoch(epoch, first);
  std::vector<Batch> out;
  Batch b;
  while (l.next(b)) out.push_back(b);
  return out;
}

bool same(const Batch& a, const Batch& b) {
  return a.n == b.n && a.x == b.x && a.y == b.y && a.index == b.index;
}

TEST(DataLoader, EveryRowOncePerEpoch) {
  const Dataset d = make_synthetic(103, 2, 5, 6, 4, 1);
  Loader l(d, 10, true, false, Augment{}, Normalize{}, 9);
  EXPECT_EQ(l.batches_per_epoch(), 11);
  for (int64_t e = 0; e < 3; ++e) {
    const auto batches = read_epoch(l, e);
    ASSERT_EQ(batches.size(), 11u);
    EXPECT_EQ(batches.back().n, 3);
    std::set<int64_t> rows;
    for (const Batch& b : batches) {
      EXPECT_EQ(b.c, 2);
      EXPECT_EQ(b.h, 5);
      EXPECT_EQ(b.w, 6);
      ASSERT_EQ(b.x.size(), size_t(b.n) * 60);
      for (int64_t j = 0; j < b.n; ++j) {
        const int64_t row = b.index[size_t(j)];
        EXPECT_TRUE(rows.insert(row).second) << "row " << row << " twice in epoch " << e;
        EXPECT_EQ(b.y[size_t(j)], d.labels[size_t(row)]);
        for (int p = 0; p < 60; ++p)  // no augmentation, empty Normalize: x = byte / 255
          ASSERT_NEAR(b.x[size_t(j * 60 + p)], d.pixels[size_t(row * 60 + p)] / 255.0f, 1e-6);
      }
    }
    EXPECT_EQ(rows.size(), 103u);
  }
}

TEST(DataLoader, DropLastAndNoShuffle) {
  const Dataset d = make_synthetic(103, 1, 4, 4, 4, 1);
  Loader l(d, 10, false, true, Augment{}, Normalize{{0.5f}, {0.25f}}, 9);
  EXPECT_EQ(l.batches_per_epoch(), 10);
  const auto batches = read_epoch(l, 5);
  ASSERT_EQ(batches.size(), 10u);
  for (size_t b = 0; b < batches.size(); ++b) {
    EXPECT_EQ(batches[b].n, 10);
    for (int64_t j = 0; j < 10; ++j) EXPECT_EQ(batches[b].index[size_t(j)], int64_t(b) * 10 + j);
  }
  EXPECT_NEAR(batches[0].x[0], (d.pixels[0] / 255.0f - 0.5f) / 0.25f, 1e-5);
}

TEST(DataLoader, SameSeedAndEpochSameBatches) {
  const Dataset d = make_synthetic(200, 3, 8, 8, 5, 2);
  const Augment aug{2, true};
  Loader a(d, 16, true, false, aug, Normalize{}, 11), b(d, 16, true, false, aug, Normalize{}, 11);
  const auto ea = read_epoch(a, 3), eb = read_epoch(b, 3);
  ASSERT_EQ(ea.size(), eb.size());
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_TRUE(same(ea[i], eb[i])) << "batch " << i;
  const auto again = read_epoch(a, 3);  // the same loader, the same epoch again
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_TRUE(same(ea[i], again[i])) << "batch " << i;
  const auto other = read_epoch(a, 4);
  EXPECT_NE(other[0].index, ea[0].index);
  Loader c(d, 16, true, false, aug, Normalize{}, 12);
  EXPECT_NE(read_epoch(c, 3)[0].index, ea[0].index);
}

TEST(DataLoader, ResumeMidEpochGivesTheSameBatch) {
  const Dataset d = make_synthetic(300, 3, 8, 8, 5, 2);
  Loader l(d, 32, true, false, Augment{3, true}, Normalize{{.1f, .2f, .3f}, {.5f, .6f, .7f}}, 4);
  const auto full = read_epoch(l, 2);
  for (int64_t b : {0, 1, 5, 9}) {
    Loader fresh(d, 32, true, false, Augment{3, true}, Normalize{{.1f, .2f, .3f}, {.5f, .6f, .7f}},
                 4);
    const auto tail = read_epoch(fresh, 2, b);
    ASSERT_EQ(int64_t(tail.size()), l.batches_per_epoch() - b);
    for (size_t i = 0; i < tail.size(); ++i)
      EXPECT_TRUE(same(tail[i], full[size_t(b) + i])) << "resume at " << b << ", batch " << i;
  }
  EXPECT_TRUE(read_epoch(l, 2, l.batches_per_epoch()).empty());
  testing::expect_error([&] { l.start_epoch(2, l.batches_per_epoch() + 1); }, {"first_batch"});
}

TEST(DataLoader, RestartAndNextWithoutStart) {
  const Dataset d = make_synthetic(100, 1, 4, 4, 4, 2);
  Loader ref(d, 7, true, false, Augment{}, Normalize{}, 3);
  const auto epoch0 = read_epoch(ref, 0);
  Loader l(d, 7, true, false, Augment{}, Normalize{}, 3);
  Batch b;
  ASSERT_TRUE(l.next(b));  // no start_epoch: epoch 0
  EXPECT_TRUE(same(b, epoch0[0]));
  ASSERT_TRUE(l.next(b));
  l.start_epoch(0);  // restart while the worker has batches queued
  ASSERT_TRUE(l.next(b));
  EXPECT_TRUE(same(b, epoch0[0]));
}

TEST(DataLoader, DestroyMidEpochDoesNotHang) {
  const Dataset d = make_synthetic(2000, 3, 32, 32, 10, 2);
  for (int i = 0; i < 20; ++i) {
    Loader l(d, 64, true, false, Augment{4, true}, Normalize{}, uint64_t(i));
    l.start_epoch(i);
    Batch b;
    if (i % 2) {
      ASSERT_TRUE(l.next(b));
    }
  }
  Loader never_started(d, 64, true, false, Augment{}, Normalize{}, 1);
}

TEST(DataLoader, WorkerExceptionComesOutOfNext) {
  Dataset d = make_synthetic(50, 1, 4, 4, 3, 2);
  Loader l(d, 8, false, false, Augment{}, Normalize{}, 1);
  d.labels[20] = 3;  // broken after construction: only the worker can notice
  l.start_epoch(0);
  Batch b;
  ASSERT_TRUE(l.next(b));  // rows 0..7
  ASSERT_TRUE(l.next(b));  // rows 8..15
  testing::expect_error([&] { l.next(b); }, {"row 20", "label 3", "[0, 3)"});
  EXPECT_FALSE(l.next(b));  // the failed epoch is over
  d.labels[20] = 2;
  EXPECT_EQ(read_epoch(l, 1).size(), 7u);  // a new epoch works again
}

TEST(DataLoader, ConstructorErrors) {
  const Dataset d = make_synthetic(10, 3, 4, 4, 2, 2);
  testing::expect_error([&] { Loader l(d, 0, true, false, Augment{}, Normalize{}, 1); },
                        {"batch_size"});
  testing::expect_error(
      [&] { Loader l(d, 4, true, false, Augment{}, fashion_mnist_normalize(1), 1); },
      {"expected 3", "found 1"});
  Dataset bad = d;
  bad.pixels.pop_back();
  testing::expect_error([&] { Loader l(bad, 4, true, false, Augment{}, Normalize{}, 1); },
                        {"pixel bytes"});
}

}  // namespace
}  // namespace senet::data
