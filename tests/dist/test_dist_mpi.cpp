// tests/dist/test_dist_mpi.cpp — the data-parallel pieces on real MPI ranks: run by CTest as
// `mpirun -np 2 test_dist_mpi` (and -np 3). Every rank runs every test, in the same order, so the
// collectives inside the tests line up; each rank checks its own results.
//   * the collectives: sums, minimum, gather, broadcast, the non-blocking mean;
//   * GradReducer: the mean of every parameter's gradient over the ranks, with buckets started
//     during the backward (overlap) and parameters the graph did not reach;
//   * check_same_on_all_ranks (the guard on counts and weights derived from identical weights);
//   * synchronised BatchNorm (batch_norm2d, bn_act, conv_bn_act): each rank computes its slice of
//     a batch; outputs, input gradients, running statistics and the summed parameter gradients
//     equal one process computing the whole batch (tolerance: float rounding of the split sums).
//   * Stall.* (run alone, as its own CTest entry): a rank that never joins a collective makes the
//     other stop the job after SENET_DIST_TIMEOUT seconds with a message naming the collective.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/dist/comm.h"
#include "engine/dist/grad_reducer.h"
#include "engine/dist/mpi_comm.h"
#include "engine/dist/sync_bn.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/elementwise.h"
#include "senet/data_parallel.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

namespace {

int R() { return dist::rank(); }
int K() { return dist::world_size(); }

TEST(Collectives, SumMinGatherBroadcastMean) {
  ASSERT_GT(K(), 1) << "run under mpirun -np 2 or more";
  std::vector<float> f{float(R()), 1.f};
  dist::world().allreduce_sum(f.data(), 2, "test");
  EXPECT_EQ(f[0], float(K() * (K() - 1) / 2));
  EXPECT_EQ(f[1], float(K()));
  std::vector<double> d{0.5 * R()};
  dist::world().allreduce_sum(d.data(), 1, "test");
  EXPECT_EQ(d[0], 0.25 * K() * (K() - 1));
  int64_t m = 10 + R();
  dist::world().allreduce_min(&m, 1, "test");
  EXPECT_EQ(m, 10);
  int32_t mine = 100 + R();
  std::vector<int32_t> all(static_cast<size_t>(K()));
  dist::world().allgather(&mine, sizeof mine, all.data(), "test");
  for (int r = 0; r < K(); ++r) EXPECT_EQ(all[size_t(r)], 100 + r);
  int64_t b = R() == 0 ? 42 : -1;
  dist::world().broadcast(&b, sizeof b, 0, "test");
  EXPECT_EQ(b, 42);
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(R() * 4 + int(i % 3));  // small integers
  auto p = dist::world().iallreduce_mean(x.data(), int64_t(x.size()), "test");
  dist::world().wait(*p, "test");
  for (size_t i = 0; i < x.size(); ++i)  // mean of r·4 + i%3 over r: 2(K−1) + i%3, exact
    ASSERT_EQ(x[i], float(2 * (K() - 1) + int(i % 3))) << i;
  dist::world().barrier("test");
}

// Parameters a, b, c, unused; L = Σ (r+1)·a ⊙ u + Σ b² + (r+1)·Σ c. Each rank's ∂L/∂a = (r+1)u,
// ∂L/∂b = 2b, ∂L/∂c = r+1: their means are ((K+1)/2)·u, 2b and (K+1)/2.
TEST(GradReducer, MeanOverRanksWithOverlapAndAnUnreachedParameter) {
  Tensor a = random_tensor({300}, 1).set_requires_grad(true);
  Tensor b = random_tensor({5000}, 2).set_requires_grad(true);
  Tensor c = random_tensor({7}, 3).set_requires_grad(true);
  Tensor unused = random_tensor({11}, 4).set_requires_grad(true);
  Tensor u = random_tensor({300}, 5);
  // 64-byte buckets, filled in reverse list order and never splitting a parameter: {c, b}, {a},
  // {unused}. Buckets start in order, so {c, b} and {a} start while the backward runs; {unused},
  // which no node reaches, starts in finish() with zeros.
  dist::GradReducer red({unused, a, b, c}, 64);
  EXPECT_EQ(red.buckets(), 3);
  for (int step = 0; step < 2; ++step) {  // a second step reuses the buckets
    for (Tensor* t : {&a, &b, &c, &unused}) t->zero_grad();
    const float w = float(R() + 1);
    Tensor L = add(add(sum(mul(mul(a, u), Tensor::full({300}, w))), sum(mul(b, b))),
                   sum(mul(c, Tensor::full({7}, w))));
    red.arm();
    L.backward();
    red.finish();
    const float mean_w = float(K() + 1) / 2.f;
    auto ga = a.grad().to_vector(), gu = u.to_vector(), gb = b.grad().to_vector(),
         bv = b.to_vector(), gc = c.grad().to_vector();
    for (size_t i = 0; i < ga.size(); ++i) ASSERT_NEAR(ga[i], mean_w * gu[i], 1e-6) << i;
    for (size_t i = 0; i < gb.size(); ++i) ASSERT_FLOAT_EQ(gb[i], 2 * bv[i]) << i;
    for (float g : gc) ASSERT_FLOAT_EQ(g, mean_w);
    EXPECT_FALSE(unused.grad().defined() && unused.grad().to_vector()[0] != 0.f);
  }
  EXPECT_GT(red.started_in_backward(), 0) << "no bucket started before the backward ended";
}

// One BN-like op on a batch of N = 4·K images: the whole batch on one process (sync off) against
// each rank's slice with whole-batch statistics (sync on).
struct Case {
  const char* name;
  // y = op(x, γ, β, state); residual and conv weight inside when the op has them
  std::function<Tensor(const Tensor& x, const Tensor& g, const Tensor& b, BatchNormState& st)> op;
  int C_in, C;
};

Tensor slice_rows(const Tensor& t, int64_t r0, int64_t r1) {
  const int64_t per = t.numel() / t.size(0);
  auto v = t.to_vector();
  Shape s = t.shape();
  s[0] = r1 - r0;
  return Tensor::from_vector(std::vector<float>(v.begin() + r0 * per, v.begin() + r1 * per), s);
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol,
                  const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 1e-30;
  for (float w : want) scale = std::max(scale, double(std::fabs(w)));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(double(got[i]) - double(want[i])), tol * scale)
        << what << "[" << i << "]: " << got[i] << " vs " << want[i];
}

void check_sync(const Case& cs, Device dev) {
  SCOPED_TRACE(cs.name);
  SCOPED_TRACE(dev == Device::CUDA ? "cuda (emulated)" : "cpu");
  const int64_t N = 4 * K(), H = 5, W = 6;
  Tensor x_all = random_tensor({N, cs.C_in, H, W}, 10, 2.f);
  Tensor dy_all = random_tensor({N, cs.C, H, W}, 11);  // L = Σ y ⊙ dy: ∂L/∂y = dy
  Tensor g0 = random_tensor({cs.C}, 12, 0.5f), b0 = random_tensor({cs.C}, 13, 0.5f);
  auto run = [&](const Tensor& x_in, const Tensor& dy, BatchNormState& st) {
    // fresh leaves each run (to() of a CPU tensor to the CPU is the tensor itself)
    Tensor x = x_in.to(dev).clone().set_requires_grad(true);
    Tensor g = g0.to(dev).clone().set_requires_grad(true);
    Tensor b = b0.to(dev).clone().set_requires_grad(true);
    Tensor y = cs.op(x, g, b, st);
    sum(mul(y, dy.to(dev))).backward();
    return std::vector<Tensor>{y.to(Device::CPU), x.grad().to(Device::CPU),
                               g.grad().to(Device::CPU), b.grad().to(Device::CPU)};
  };
  BatchNormState st_ref, st_dp;
  for (BatchNormState* st : {&st_ref, &st_dp}) {
    st->running_mean = Tensor::zeros({cs.C}, DType::F32, dev);
    st->running_var = Tensor::full({cs.C}, 1.f, dev);
  }
  dist::set_sync_batchnorm(false);
  auto ref = run(x_all, dy_all, st_ref);
  dist::set_sync_batchnorm(true);
  const int64_t r0 = 4 * R(), r1 = r0 + 4;
  auto dp = run(slice_rows(x_all, r0, r1), slice_rows(dy_all, r0, r1), st_dp);
  dist::set_sync_batchnorm(true);
  expect_close(dp[0].to_vector(), slice_rows(ref[0], r0, r1).to_vector(), 2e-5, "y");
  expect_close(dp[1].to_vector(), slice_rows(ref[1], r0, r1).to_vector(), 2e-5, "dx");
  for (int i : {2, 3}) {  // this rank's dγ, dβ sum to the whole batch's
    auto v = dp[size_t(i)].to_vector();
    dist::world().allreduce_sum(v.data(), int64_t(v.size()), "test");
    expect_close(v, ref[size_t(i)].to_vector(), 2e-5, i == 2 ? "dgamma" : "dbeta");
  }
  expect_close(st_dp.running_mean.to_vector(), st_ref.running_mean.to_vector(), 1e-6,
               "running_mean");
  expect_close(st_dp.running_var.to_vector(), st_ref.running_var.to_vector(), 1e-6, "running_var");
}

std::vector<Case> bn_cases(const Tensor& wconv) {
  std::vector<Case> cases = {
      {"batch_norm2d",
       [](const Tensor& x, const Tensor& g, const Tensor& b, BatchNormState& st) {
         return batch_norm2d(x, g, b, st, true);
       },
       4, 4},
      {"bn_act (relu)",
       [](const Tensor& x, const Tensor& g, const Tensor& b, BatchNormState& st) {
         return bn_act(x, Tensor(), g, b, st, true, Act::ReLU, Tensor());
       },
       4, 4},
      {"conv_bn_act (relu)",
       [wconv](const Tensor& x, const Tensor& g, const Tensor& b, BatchNormState& st) {
         return conv_bn_act(x, wconv.to(x.device()), g, b, st, true, Act::ReLU, Tensor(), 1, 1);
       },
       3, 6},
  };
  return cases;
}

TEST(SyncBatchNorm, WholeBatchStatisticsAndGradients) {
  ASSERT_GT(K(), 1);
  for (const Case& c : bn_cases(random_tensor({6, 3, 3, 3}, 20, 0.3f))) check_sync(c, Device::CPU);
}

// The CUDA path (emulated kernels; the device collectives are MPI on the emulator's host memory):
// the BN partials of every rank are gathered before the finalize, dβ, dγ summed before dy.
TEST(SyncBatchNorm, OnCudaTensors) {
  ASSERT_GT(K(), 1);
  cuda::init();
  for (const Case& c : bn_cases(random_tensor({6, 3, 3, 3}, 20, 0.3f))) check_sync(c, Device::CUDA);
}

// The guard of values every rank derives from identical weights (senet/data_parallel.h).
TEST(SameOnAllRanks, AgreementPassesDisagreementIsAnError) {
  EXPECT_NO_THROW(check_same_on_all_ranks(42, "a count"));
  try {
    check_same_on_all_ranks(100 + R(), "SNL's ReLU count");
    FAIL() << "no error for values that differ";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the ranks disagree on SNL's ReLU count: from 100 to " +
                                         std::to_string(99 + K())),
              std::string::npos)
        << e.what();
  }
}

// Rank 1 sleeps past the timeout instead of joining; rank 0 must stop the job, naming the
// collective and the step. (Its own CTest entry: the job ends here.)
TEST(Stall, ARankThatNeverJoinsStopsTheJob) {
  dist::set_timeout(1);
  dist::set_step("test epoch 1 step 7");
  if (R() == 1) sleep(30);
  std::vector<float> v(4, 1.f);
  dist::world().allreduce_sum(v.data(), 4, "the stalled all-reduce");
  FAIL() << "the collective returned although a rank never joined";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  dist::init_from_environment(&argc, &argv);
  const int rc = RUN_ALL_TESTS();
  int64_t worst = rc;  // every rank's verdict: the job fails when any rank's test failed
  int64_t neg = -worst;
  dist::world().allreduce_min(&neg, 1, "the test verdict");
  dist::finalize();
  return -neg;
}
