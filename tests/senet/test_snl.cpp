// tests/senet/test_snl.cpp — the SNL baseline: the Alpha site mode (forward = alpha_relu, gradient
// reaches α, count and binarisation at the threshold), the λ rule, and the training loop's schedule
// and stopping rule on a tiny model (λ grows ×growth only from the configured epoch and only after
// epochs whose count did not fall; stops at ≤ budget or at max_epochs, saying which).
#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include "engine/core/autograd.h"
#include "engine/ops/alpha_relu.h"
#include "engine/ops/elementwise.h"
#include "senet/snl.h"
#include "tests/support/gradcheck.h"
#include "tests/support/tiny_run.h"

using namespace senet;
using senet::test::random_tensor;
namespace fs = std::filesystem;

TEST(SnlSite, ForwardIsAlphaReluAndTheGradientReachesAlpha) {
  models::ReluSite site("s", 2, 3, 3);
  site.set_alpha(0.01f);
  EXPECT_EQ(site.mode, models::SiteMode::Alpha);
  EXPECT_EQ(site.fused_act(), Act::None);     // runs unfused: the model hands it the pre-activation
  EXPECT_EQ(site.relu_count(), site.size());  // α = 1 everywhere at the start
  ASSERT_EQ(site.named_parameters().size(), 1u);
  EXPECT_EQ(site.named_parameters()[0].first, "alpha");
  {
    NoGradGuard no_grad;
    site.alpha.copy_(random_tensor({2, 3, 3}, 11, 0.6f));
  }
  Tensor z = random_tensor({4, 2, 3, 3}, 12, 1.f, false, 0.05f);
  Tensor y = site.output(z);
  EXPECT_EQ(y.to_vector(), alpha_relu(z, site.alpha.detach()).to_vector());

  // dα = Σ_n g ⊙ (relu(z) − z) for a random upstream gradient g.
  Tensor g = random_tensor({4, 2, 3, 3}, 13);
  sum(mul(y, g)).backward();
  ASSERT_TRUE(site.alpha.grad().defined());
  auto zv = z.to_vector(), gv = g.to_vector(), da = site.alpha.grad().to_vector();
  for (size_t p = 0; p < 18; ++p) {
    double want = 0;
    for (size_t n = 0; n < 4; ++n) {
      double x = zv[n * 18 + p];
      want += gv[n * 18 + p] * (std::max(x, 0.0) - x);
    }
    EXPECT_NEAR(da[p], want, 1e-5) << p;
  }
}

TEST(SnlSite, CountAndBinarisationUseTheThreshold) {
  models::ReluSite site("s", 1, 2, 3);
  site.set_alpha(0.01f);
  {
    NoGradGuard no_grad;  // below, at, just above the threshold, well above, negative, zero
    site.alpha.copy_(Tensor::from_vector({0.005f, 0.01f, 0.0101f, 0.5f, -0.3f, 0.f}, {1, 2, 3}));
  }
  EXPECT_EQ(site.relu_count(), 2);
  site.binarize_alpha();
  EXPECT_EQ(site.mode, models::SiteMode::Masked);
  EXPECT_EQ(site.mask.to_vector_u8(), (std::vector<uint8_t>{0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(site.relu_count(), 2);
}

TEST(SnlSite, OnlyCountedPixelSitesTakeAlpha) {
  models::ReluSite fixed("stem", 1, 2, 2, /*counted=*/false);
  EXPECT_THROW(fixed.set_alpha(0.01f), Error);
  models::ReluSite channel("c", 2, 2, 2);
  channel.set_mask(Tensor::from_vector_u8({1, 0}, {2}));
  EXPECT_THROW(channel.set_alpha(0.01f), Error);
}

TEST(SnlLambda, GrowsOnlyFromTheConfiguredEpochAndOnlyWhenTheCountDidNotFall) {
  SnlConfig c;
  c.lambda_growth = 1.1f;
  c.lambda_from_epoch = 5;
  EXPECT_EQ(snl_next_lambda(c, 1.0, 4, 100, 100), 1.0);  // too early
  EXPECT_EQ(snl_next_lambda(c, 1.0, 4, 100, 120), 1.0);
  EXPECT_DOUBLE_EQ(snl_next_lambda(c, 1.0, 5, 100, 100), 1.1f);        // flat count
  EXPECT_DOUBLE_EQ(snl_next_lambda(c, 2.0, 9, 100, 101), 2.0 * 1.1f);  // count rose
  EXPECT_EQ(snl_next_lambda(c, 2.0, 9, 100, 99), 2.0);                 // count fell
}

namespace {

RunConfig tiny_config() { return senet::test::tiny_run_config(); }

// Every recorded epoch follows the rule: λ_{e+1} = λ_e·growth iff e ≥ from and count_e ≥ count_{e−1}.
void expect_schedule(const SnlResult& r, const SnlConfig& c, int64_t count0) {
  int64_t before = count0;
  for (size_t i = 0; i < r.history.size(); ++i) {
    const SnlEpoch& e = r.history[i];
    EXPECT_EQ(e.epoch, int(i) + 1);
    bool grow = e.epoch >= c.lambda_from_epoch && e.relus >= before;
    EXPECT_EQ(e.lambda_grew, grow) << "epoch " << e.epoch;
    double next = i + 1 < r.history.size() ? r.history[i + 1].lambda : r.lambda;
    EXPECT_DOUBLE_EQ(next, grow ? e.lambda * double(c.lambda_growth) : e.lambda)
        << "epoch " << e.epoch;
    before = e.relus;
  }
}

std::string temp_dir(const char* name) {
  std::string d =
      (fs::temp_directory_path() / (std::string(name) + std::to_string(getpid()))).string();
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(SnlLoop, FlatCountGrowsLambdaFromTheConfiguredEpochAndStopsAtMaxEpochs) {
  RunConfig cfg = tiny_config();
  cfg.senet.budget = 0;
  cfg.senet.snl.lr = 1e-7f;  // α stays ≈ 1: the count never falls
  cfg.senet.snl.lambda = 1e-5f;
  cfg.senet.snl.lambda_from_epoch = 3;
  cfg.senet.snl.max_epochs = 5;
  DataBundle data = load_data(cfg);
  auto teacher = models::make_model(cfg.model), student = models::make_model(cfg.model);
  int64_t cap = student->relu_capacity();
  SnlResult r = run_snl(cfg, *teacher, *student, data, temp_dir("senet_snl_flat_"), false, false);
  ASSERT_EQ(r.history.size(), 5u);
  EXPECT_EQ(r.epochs_run, 5);
  EXPECT_FALSE(r.reached_budget);
  expect_schedule(r, cfg.senet.snl, cap);
  for (const auto& e : r.history) EXPECT_EQ(e.relus, cap);
  EXPECT_FALSE(r.history[1].lambda_grew);  // epoch 2: before the configured epoch
  EXPECT_TRUE(r.history[2].lambda_grew);   // epoch 3 onwards: the flat count grows λ
  EXPECT_DOUBLE_EQ(r.history[2].lambda, double(1e-5f));
  EXPECT_DOUBLE_EQ(r.history[3].lambda, double(1e-5f) * 1.1f);
  EXPECT_DOUBLE_EQ(r.lambda, double(1e-5f) * 1.1f * 1.1f * 1.1f);
  EXPECT_EQ(r.relus, cap);  // binarised: every α > 0.01 kept
  for (auto* s : student->counted_sites()) EXPECT_EQ(s->mode, models::SiteMode::Masked);
}

TEST(SnlLoop, StopsAtTheFirstEpochWithinTheBudgetAndBinarises) {
  RunConfig cfg = tiny_config();
  auto probe = models::make_model(cfg.model);
  cfg.senet.budget = probe->relu_capacity() / 2;
  cfg.senet.snl.lr = 0.03f;      // big Adam steps: α crosses 0.01 within a few epochs
  cfg.senet.snl.lambda = 0.01f;  // the penalty outweighs CE + KD on some α
  cfg.senet.snl.lambda_from_epoch = 1;
  cfg.senet.snl.max_epochs = 20;
  DataBundle data = load_data(cfg);
  auto teacher = models::make_model(cfg.model), student = models::make_model(cfg.model);
  int64_t cap = student->relu_capacity();
  std::string dir = temp_dir("senet_snl_stop_");
  SnlResult r = run_snl(cfg, *teacher, *student, data, dir, false, false);
  ASSERT_TRUE(r.reached_budget);
  ASSERT_FALSE(r.history.empty());
  EXPECT_LT(r.epochs_run, 20);
  EXPECT_LE(r.history.back().relus, cfg.senet.budget);
  for (size_t i = 0; i + 1 < r.history.size(); ++i) EXPECT_GT(r.history[i].relus, cfg.senet.budget);
  expect_schedule(r, cfg.senet.snl, cap);
  EXPECT_EQ(r.relus, r.history.back().relus);  // binarising at the threshold keeps the count
  EXPECT_EQ(student->relu_count(), r.relus);
  EXPECT_TRUE(fs::exists(dir + "/last.safetensors"));
}

TEST(SnlLoop, ResumeContinuesTheScheduleExactly) {
  RunConfig cfg = tiny_config();
  cfg.senet.budget = 0;
  cfg.senet.snl.lr = 1e-7f;  // flat count: λ grows after every epoch from epoch 1
  cfg.senet.snl.lambda = 1e-5f;
  cfg.senet.snl.lambda_from_epoch = 1;
  cfg.senet.snl.max_epochs = 2;
  DataBundle data = load_data(cfg);
  std::string dir = temp_dir("senet_snl_resume_");
  auto teacher = models::make_model(cfg.model);
  {
    auto student = models::make_model(cfg.model);
    run_snl(cfg, *teacher, *student, data, dir, true, false);
  }
  cfg.senet.snl.max_epochs = 4;  // a longer run resumes at epoch 3 with λ = 1e-5 · 1.1²
  auto student = models::make_model(cfg.model);
  SnlResult r = run_snl(cfg, *teacher, *student, data, dir, true, false);
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.history[0].epoch, 3);
  EXPECT_EQ(r.epochs_run, 4);
  EXPECT_DOUBLE_EQ(r.history[0].lambda, double(1e-5f) * 1.1f * 1.1f);
  EXPECT_DOUBLE_EQ(r.lambda, double(1e-5f) * 1.1f * 1.1f * 1.1f * 1.1f);
}

TEST(SnlLoop, CheckEveryStepsStopsMidEpochNearerTheBudgetAndResumesToBinarisation) {
  RunConfig cfg = tiny_config();
  auto probe = models::make_model(cfg.model);
  cfg.senet.budget = probe->relu_capacity() / 2;
  cfg.senet.snl.lr = 0.03f;
  cfg.senet.snl.lambda = 0.01f;
  cfg.senet.snl.lambda_from_epoch = 1;
  cfg.senet.snl.max_epochs = 20;
  DataBundle data = load_data(cfg);
  auto teacher = models::make_model(cfg.model);
  auto per_epoch = models::make_model(cfg.model);
  SnlResult a =
      run_snl(cfg, *teacher, *per_epoch, data, temp_dir("senet_snl_epoch_"), false, false);
  cfg.senet.snl.check_every = 1;
  std::string dir = temp_dir("senet_snl_every_");
  auto every = models::make_model(cfg.model);
  SnlResult b = run_snl(cfg, *teacher, *every, data, dir, false, false);
  ASSERT_TRUE(a.reached_budget);
  ASSERT_TRUE(b.reached_budget);
  EXPECT_LE(b.relus, cfg.senet.budget);
  EXPECT_EQ(b.epochs_run, a.epochs_run);  // the same trajectory up to the step it stops at
  // Stopping at the first step within the budget keeps at least as many ReLUs as going on to the
  // epoch's end (the penalty only pushes α down here: λ outweighs CE + KD).
  EXPECT_GE(b.relus, a.relus);
  auto resumed = models::make_model(cfg.model);
  SnlResult c = run_snl(cfg, *teacher, *resumed, data, dir, true, false);
  EXPECT_TRUE(c.history.empty());  // the early stop's checkpoint counts as the epoch's end
  EXPECT_EQ(c.relus, b.relus);
}
