// tests/ops/test_batchnorm.cpp — batch_norm2d against a double-precision reference (with a large mean
// offset that breaks a one-pass Σy²/M − μ² variance), running statistics, eval mode, gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/ops/batchnorm.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

namespace {

struct RefStats {
  std::vector<double> mean, var;  // biased variance
};

RefStats reference_stats(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C);
  auto v = x.to_vector();
  RefStats r{std::vector<double>(size_t(C), 0), std::vector<double>(size_t(C), 0)};
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, ss = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < HW; ++j) s += v[size_t((n * C + c) * HW + j)];
    double mu = s / double(N * HW);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < HW; ++j) {
        double d = v[size_t((n * C + c) * HW + j)] - mu;
        ss += d * d;
      }
    r.mean[size_t(c)] = mu;
    r.var[size_t(c)] = ss / double(N * HW);
  }
  return r;
}

// z = γ(x−μ)/√(σ²+ε) + β in double.
std::vector<double> reference_bn(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const std::vector<double>& mean, const std::vector<double>& var,
                                 double eps) {
  const int64_t N = x.size(0), C = x.size(1), HW = x.numel() / (N * C);
  auto v = x.to_vector(), g = gamma.to_vector(), b = beta.to_vector();
  std::vector<double> z(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    size_t c = size_t((int64_t(i) / HW) % C);
    z[i] = g[c] * (v[i] - mean[c]) / std::sqrt(var[c] + eps) + b[c];
  }
  return z;
}

double max_err(const std::vector<float>& got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::abs(double(got[i]) - want[i]));
  return m;
}

Tensor offset_tensor(const Shape& shape, uint64_t seed, float offset) {
  auto v = random_tensor(shape, seed).to_vector();
  for (float& f : v) f += offset;
  return Tensor::from_vector(v, shape);
}

}  // namespace

// x = offset + N(0,1). The fp32 inputs themselves carry rounding of ½ ulp(offset) (3e-5 at 1e3,
// 5e-4 at 1e4) and μ is stored in fp32 with the same error, so z can be off by ~ulp(offset)/σ; a
// one-pass Σy²/M − μ² in fp32 would lose the variance entirely (relative error ≫ 1).
TEST(BatchNorm, LargeMeanOffsetMatchesDoubleReference) {
  for (float offset : {1e3f, 1e4f}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    Tensor x = offset_tensor({8, 3, 16, 16}, 1, offset);
    Tensor gamma = random_tensor({3}, 2), beta = random_tensor({3}, 3);
    BatchNormState st;
    Tensor y = batch_norm2d(x, gamma, beta, st, true);
    RefStats r = reference_stats(x);
    double tol = offset >= 1e4f ? 2e-3 : 2e-4;
    EXPECT_LT(max_err(y.to_vector(), reference_bn(x, gamma, beta, r.mean, r.var, st.eps)), tol);
    // running_var = 0.9·1 + 0.1·σ²·M/(M−1): the variance itself must be accurate to ~1e-5 relative.
    auto rv = st.running_var.to_vector();
    const double M = 8 * 16 * 16;
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(rv[size_t(c)], 0.9 + 0.1 * r.var[size_t(c)] * M / (M - 1),
                  1e-5 * (1 + r.var[size_t(c)]));
  }
}

TEST(BatchNorm, RunningStatsAfterTwoSteps) {
  Tensor gamma = random_tensor({4}, 4), beta = random_tensor({4}, 5);
  BatchNormState st;
  st.momentum = 0.3f;
  std::vector<double> rm(4, 0.0), rv(4, 1.0);
  for (int step = 0; step < 2; ++step) {
    Tensor x = offset_tensor({3, 4, 5, 2}, 10 + step, 2.f * float(step + 1));
    batch_norm2d(x, gamma, beta, st, true);
    RefStats r = reference_stats(x);
    const double M = 3 * 5 * 2;
    for (int c = 0; c < 4; ++c) {
      rm[size_t(c)] = 0.7 * rm[size_t(c)] + 0.3 * r.mean[size_t(c)];
      rv[size_t(c)] = 0.7 * rv[size_t(c)] + 0.3 * r.var[size_t(c)] * M / (M - 1);
    }
  }
  auto gm = st.running_mean.to_vector(), gv = st.running_var.to_vector();
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(gm[size_t(c)], rm[size_t(c)], 1e-5);
    EXPECT_NEAR(gv[size_t(c)], rv[size_t(c)], 1e-5);
  }
}

TEST(BatchNorm, EvalUsesRunningStatsAndLeavesThemAlone) {
  Tensor x = random_tensor({2, 3, 4, 4}, 6), gamma = random_tensor({3}, 7),
         beta = random_tensor({3}, 8);
  BatchNormState st;
  st.running_mean = Tensor::from_vector({0.5f, -1.f, 2.f}, {3});
  st.running_var = Tensor::from_vector({0.25f, 4.f, 1.5f}, {3});
  Tensor y = batch_norm2d(x, gamma, beta, st, false);
  EXPECT_LT(
      max_err(y.to_vector(), reference_bn(x, gamma, beta, {0.5, -1, 2}, {0.25, 4, 1.5}, st.eps)),
      1e-5);
  EXPECT_EQ(st.running_mean.to_vector(), (std::vector<float>{0.5f, -1.f, 2.f}));
  EXPECT_EQ(st.running_var.to_vector(), (std::vector<float>{0.25f, 4.f, 1.5f}));
}

TEST(BatchNorm, TrainingOutputIsNormalisedPerChannel) {
  Tensor x = offset_tensor({4, 2, 3, 3}, 9, 5.f);
  BatchNormState st;
  Tensor y = batch_norm2d(x, Tensor::full({2}, 1.f), Tensor::zeros({2}), st, true);
  RefStats r = reference_stats(y);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(r.mean[size_t(c)], 0.0, 1e-6);
    EXPECT_NEAR(r.var[size_t(c)], 1.0, 1e-3);  // σ²/(σ²+ε)
  }
}

TEST(BatchNorm, GradcheckTrainingAndEval) {
  Tensor x = random_tensor({3, 2, 3, 2}, 11, 1.f, true);
  Tensor gamma = random_tensor({2}, 12, 1.f, true), beta = random_tensor({2}, 13, 1.f, true);
  std::vector<Tensor> in{x, gamma, beta};
  BatchNormState st;
  EXPECT_GRADCHECK(
      [&](const std::vector<Tensor>& v) { return batch_norm2d(v[0], v[1], v[2], st, true); }, in);
  st.running_mean = Tensor::from_vector({0.3f, -0.2f}, {2});
  st.running_var = Tensor::from_vector({0.5f, 2.f}, {2});
  EXPECT_GRADCHECK(
      [&](const std::vector<Tensor>& v) { return batch_norm2d(v[0], v[1], v[2], st, false); }, in);
  Tensor x2 = random_tensor({5, 3}, 14, 1.f, true);  // N×C (BatchNorm1d use)
  Tensor g2 = random_tensor({3}, 15, 1.f, true), b2 = random_tensor({3}, 16, 1.f, true);
  BatchNormState st2;
  std::vector<Tensor> in2{x2, g2, b2};
  EXPECT_GRADCHECK(
      [&](const std::vector<Tensor>& v) { return batch_norm2d(v[0], v[1], v[2], st2, true); }, in2);
}

TEST(BatchNorm, ErrorsNameBothShapes) {
  Tensor x = Tensor::zeros({2, 3, 4, 4});
  BatchNormState st;
  try {
    batch_norm2d(x, Tensor::zeros({4}), Tensor::zeros({3}), st, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3, 4, 4]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  }
  BatchNormState bad;
  bad.running_var = Tensor::zeros({5});
  EXPECT_THROW(batch_norm2d(x, Tensor::zeros({3}), Tensor::zeros({3}), bad, true), Error);
  Tensor x3 = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(batch_norm2d(x3, Tensor::zeros({3}), Tensor::zeros({3}), st, true), Error);
}
