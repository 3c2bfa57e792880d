// tests/dist/test_dist.cpp — the data-parallel pieces on one process (engine/dist/, the loader's
// shards, the autograd hook), and the collective timeout. The multi-rank checks are
// test_dist_mpi.cpp, run under mpirun.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/data/loader.h"
#include "engine/data/synthetic.h"
#include "engine/dist/comm.h"
#include "engine/dist/grad_reducer.h"
#include "engine/ops/elementwise.h"
#include "tests/support/gradcheck.h"

using namespace senet;

namespace {

// The K shards of every batch are disjoint, in order, and together the batch one loader makes:
// same rows, same pixels (augmentation drawn per position), sizes n·(r+1)/K − n·r/K.
TEST(LoaderShards, TogetherTheyAreTheWholeBatch) {
  data::Dataset d = data::make_synthetic(100, 1, 8, 8, 4, 7);
  data::Augment aug;
  aug.crop_pad = 2;
  aug.hflip = true;
  for (int K : {2, 3, 4}) {
    data::Loader whole(d, 24, true, false, aug, data::Normalize{}, 5);
    std::vector<std::unique_ptr<data::Loader>> shards;
    for (int r = 0; r < K; ++r) {
      shards.push_back(
          std::make_unique<data::Loader>(d, 24, true, false, aug, data::Normalize{}, 5));
      shards.back()->set_shard(r, K);
    }
    for (int e = 0; e < 2; ++e) {
      whole.start_epoch(e);
      for (auto& s : shards) s->start_epoch(e);
      data::Batch wb, sb;
      while (whole.next(wb)) {
        std::vector<int64_t> rows;
        std::vector<float> px;
        for (int r = 0; r < K; ++r) {
          ASSERT_TRUE(shards[size_t(r)]->next(sb));
          EXPECT_EQ(sb.whole_n, wb.n);
          EXPECT_EQ(sb.n, wb.n * (r + 1) / K - wb.n * r / K);
          rows.insert(rows.end(), sb.index.begin(), sb.index.end());
          px.insert(px.end(), sb.x.begin(), sb.x.end());
        }
        EXPECT_EQ(rows, wb.index) << "K=" << K << " epoch " << e;
        EXPECT_EQ(px, wb.x) << "K=" << K << " epoch " << e;
      }
      for (auto& s : shards) EXPECT_FALSE(s->next(sb));
    }
  }
}

TEST(LoaderShards, BadShardIsAnError) {
  data::Dataset d = data::make_synthetic(16, 1, 4, 4, 2, 1);
  data::Loader l(d, 4, false, false, data::Augment{}, data::Normalize{}, 0);
  EXPECT_THROW(l.set_shard(2, 2), Error);
  EXPECT_THROW(l.set_shard(0, 0), Error);
  l.start_epoch(0);
  EXPECT_THROW(l.set_shard(0, 2), Error);  // after the epoch started
}

// The hook reports each leaf once per backward, after its last contribution: a leaf used twice
// (x·x) is reported once, with its whole gradient already in .grad.
TEST(LeafGradHook, OncePerLeafWhenItsGradientIsComplete) {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor y = Tensor::from_vector({4, 5, 6}, {3}).set_requires_grad(true);
  std::vector<std::pair<TensorImpl*, std::vector<float>>> seen;
  set_leaf_grad_ready_hook([&](TensorImpl& leaf) {
    seen.push_back({&leaf, Tensor(leaf.grad).to_vector()});
  });
  sum(add(mul(x, x), mul(x, y))).backward();
  set_leaf_grad_ready_hook({});
  ASSERT_EQ(seen.size(), 2u);
  std::set<TensorImpl*> leaves{seen[0].first, seen[1].first};
  EXPECT_EQ(leaves, (std::set<TensorImpl*>{&x.impl(), &y.impl()}));
  for (const auto& [leaf, g] : seen)
    if (leaf == &x.impl())
      EXPECT_EQ(g, (std::vector<float>{6, 9, 12}));  // 2x + y
    else
      EXPECT_EQ(g, (std::vector<float>{1, 2, 3}));  // x
}

// On one process the reducer leaves every gradient as the backward made it.
TEST(GradReducer, SingleProcessIsTheIdentity) {
  Tensor a = test::random_tensor({1000}, 1).set_requires_grad(true);
  Tensor b = test::random_tensor({10}, 2).set_requires_grad(true);
  dist::GradReducer red({a, b}, 16);  // 16-byte buckets: one parameter each
  EXPECT_EQ(red.buckets(), 2);
  red.arm();
  add(sum(mul(a, a)), sum(b)).backward();  // ∂/∂a = 2a
  red.finish();
  auto ga = a.grad().to_vector(), av = a.to_vector();
  for (size_t i = 0; i < ga.size(); ++i) ASSERT_EQ(ga[i], 2 * av[i]);
}

// A collective that never completes stops the job after the timeout, naming it and the step.
struct Never final : dist::Pending {
  bool test() override { return false; }
};
TEST(CollectiveTimeout, StopsTheJobNamingTheCollectiveAndStep) {
  EXPECT_EXIT(
      {
        dist::set_timeout(0.2);
        dist::set_step("train epoch 3 step 17");
        Never p;
        dist::world().wait(p, "gradient all-reduce (bucket 2 of 5)");
      },
      ::testing::ExitedWithCode(3),
      "rank 0 of 1: gradient all-reduce \\(bucket 2 of 5\\) at train epoch 3 step 17: no answer "
      "from the other ranks after 0\\.[0-9] s");
}

}  // namespace
