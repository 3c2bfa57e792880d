// tests/senet/test_epoch_loop.cpp — the scaffold the four training loops share (senet/epoch_loop.h,
// senet/run_dir.h): the gradient probe measures each term alone and leaves the step's gradient
// unchanged; the loop's counters, early stop and metrics keys; the run directory's one metadata
// schema, best-before-last rule and resume.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "senet/epoch_loop.h"
#include "senet/run_dir.h"
#include "senet/trainer.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_loop_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  return d;
}

// Every parameter's gradient, concatenated (zeros where none).
std::vector<double> all_grads(models::Model& m) {
  std::vector<double> g;
  for (auto& [name, p] : m.named_parameters()) {
    Tensor t = p.grad();
    for (int64_t i = 0; i < p.numel(); ++i)
      g.push_back(t.defined() ? double(t.to_vector()[size_t(i)]) : 0.0);
  }
  return g;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

struct Fixture {
  RunConfig cfg = senet::test::tiny_run_config();
  DataBundle data = load_data(cfg);
  std::shared_ptr<models::Model> model = models::make_model(cfg.model);
  data::Batch batch;
  Fixture() {
    data::Loader l(data.train, 16, false, true, data.aug, data.norm, 1);
    l.start_epoch(0);
    l.next(batch);
  }
};

}  // namespace

TEST(GradientProbe, MeasuresEachTermAloneAndLeavesTheGraphUsable) {
  Fixture f;
  models::Model& m = *f.model;
  m.train();
  Tensor x = batch_images(f.batch, Device::CPU), y = batch_labels(f.batch, Device::CPU);

  // Reference: ∇CE on its own graph.
  m.zero_grad();
  softmax_cross_entropy(m.forward(x), y).backward();
  const std::vector<double> g_ce = all_grads(m);

  // Terms ce and 3·ce on one graph: norms 1 : 3, cosine 1.
  m.zero_grad();
  Tensor ce = softmax_cross_entropy(m.forward(x), y), ce3 = scale(ce, 3.f);
  std::map<std::string, double> norms, cosines;
  probe_term_gradients(m, {{"ce", ce}, {"ce3", ce3}}, norms, cosines);
  EXPECT_NEAR(norms["ce"], norm(g_ce), 1e-5 * norm(g_ce));
  EXPECT_NEAR(norms["ce3"], 3 * norms["ce"], 1e-5 * norms["ce3"]);
  EXPECT_NEAR(cosines["ce·ce3"], 1.0, 1e-6);
  for (double v : all_grads(m)) ASSERT_EQ(v, 0.0);  // the probe leaves no gradient behind

  // The step's backward through the same (probed) graph gives the unprobed gradient bit for bit
  // (seed 1 + 3 = 4 reaches ce exactly; a power-of-two scale rounds the same way).
  add(ce, ce3).backward();
  std::vector<double> g = all_grads(m);
  ASSERT_EQ(g.size(), g_ce.size());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], 4 * g_ce[i]) << i;
}

TEST(GradientProbe, OrthogonalTermsHaveCosineZero) {
  Fixture f;
  models::Model& m = *f.model;
  // Two terms that reach disjoint parameters: the first conv's weight and the classifier's bias.
  Tensor a, b;
  for (auto& [name, p] : m.named_parameters()) {
    if (!a.defined() && p.ndim() == 4) a = sum(mul(p, p));
    if (name.find("fc.bias") != std::string::npos) b = sum(p);
  }
  ASSERT_TRUE(a.defined() && b.defined());
  std::map<std::string, double> norms, cosines;
  probe_term_gradients(m, {{"a", a}, {"b", b}}, norms, cosines);
  EXPECT_GT(norms["a"], 0);
  EXPECT_NEAR(norms["b"], std::sqrt(double(m.config.num_classes)), 1e-6);  // ∂Σb/∂b = 1
  EXPECT_EQ(cosines["a·b"], 0.0);
}

TEST(EpochLoop, CountsStepsTermsAndStopsWhereAfterStepSays) {
  Fixture f;
  models::Model& m = *f.model;
  auto opt = make_optimizer(f.cfg.train.optim, m);
  data::Loader loader(f.data.train, 16, true, true, f.data.aug, f.data.norm, 3);
  const int64_t nb = loader.batches_per_epoch();
  ASSERT_GE(nb, 3);
  EpochLoop loop{m, *opt, nullptr, "test", 1, false};
  auto body = [&](const data::Batch& b, int64_t) {
    StepOut out;
    out.labels = batch_labels(b, Device::CPU);
    out.logits = m.forward(batch_images(b, Device::CPU));
    Tensor ce = softmax_cross_entropy(out.logits, out.labels), half = scale(ce, 0.5f);
    out.loss = add(ce, half);
    out.terms = {{"ce", ce}, {"half", half}};
    return out;
  };
  EpochStats st = loop.run(loader, 0, body);
  EXPECT_EQ(st.steps, nb);
  EXPECT_EQ(st.images, nb * 16);
  EXPECT_FALSE(st.ended_early);
  EXPECT_EQ(opt->steps(), nb);
  EXPECT_NEAR(st.term_sums["half"], 0.5 * st.term_sums["ce"], 1e-6 * st.term_sums["ce"]);
  EXPECT_NEAR(st.loss_sum, 1.5 * st.term_sums["ce"], 1e-5 * st.loss_sum);
  EXPECT_NEAR(st.grad_cosines["ce·half"], 1.0, 1e-6);
  json j = st.to_json();
  for (const char* key : {"epoch", "lr", "train_loss", "train_accuracy", "seconds",
                          "images_per_second", "terms", "grad_norms", "grad_cosines"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_NEAR(j["terms"]["ce"].get<double>() * double(st.images), st.term_sums["ce"], 1e-9);

  EpochStats early =
      loop.run(loader, 1, body, [](const StepOut&, int64_t step) { return step == 1; });
  EXPECT_EQ(early.steps, 2);
  EXPECT_TRUE(early.ended_early);
  EXPECT_EQ(opt->steps(), nb + 2);
}

TEST(EpochLoop, NonFiniteLossNamesTheStageEpochAndStep) {
  Fixture f;
  models::Model& m = *f.model;
  auto opt = make_optimizer(f.cfg.train.optim, m);
  data::Loader loader(f.data.train, 16, true, true, f.data.aug, f.data.norm, 3);
  EpochLoop loop{m, *opt, nullptr, "probe", 1, false};
  try {
    loop.run(loader, 0, [&](const data::Batch& b, int64_t step) {
      StepOut out;
      out.labels = batch_labels(b, Device::CPU);
      out.logits = m.forward(batch_images(b, Device::CPU));
      out.loss = scale(softmax_cross_entropy(out.logits, out.labels), step == 1 ? NAN : 1.f);
      return out;
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("probe epoch 1 step 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(opt->steps(), 1);  // the bad step was not taken
}

TEST(RunDir, OneSchemaBestBeforeLastAndResume) {
  Fixture f;
  std::string dir = temp_dir("rundir");
  auto opt = make_optimizer(f.cfg.train.optim, *f.model);
  {
    RunDir run(dir, "stage_x", f.cfg);
    EXPECT_EQ(run.resume(*f.model, opt.get()), 0);  // nothing to resume
    EXPECT_TRUE(run.save_epoch(*f.model, opt.get(), 1, 0.5, {{"lambda", "0.25"}}));
    EXPECT_FALSE(run.save_epoch(*f.model, opt.get(), 2, 0.4));
    EXPECT_TRUE(run.save_epoch(*f.model, opt.get(), 3, 0.6));
    run.log(json{{"epoch", 3}});
    EXPECT_EQ(run.best_epoch(), 3);
  }
  io::StFile last = read_checkpoint(dir + "/last.safetensors"),
             best = read_checkpoint(dir + "/best.safetensors");
  for (const io::StFile* file : {&last, &best})
    for (const char* key :
         {"format", "config", "stage", "epoch", "best_val_accuracy", "best_epoch", "rng.seed"})
      EXPECT_TRUE(file->metadata.count(key)) << key;
  EXPECT_EQ(metadata_at(last, "stage"), "stage_x");
  EXPECT_EQ(metadata_int(last, "epoch"), 3);
  EXPECT_EQ(metadata_int(best, "best_epoch"), 3);
  EXPECT_EQ(last.metadata.count("lambda"), 0u);  // extra keys are per call
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  std::getline(in, line);
  json j = json::parse(line);
  EXPECT_EQ(j["stage"], "stage_x");
  EXPECT_DOUBLE_EQ(j["best_val_accuracy"].get<double>(), 0.6);

  RunDir again(dir, "stage_x", f.cfg);
  auto model2 = models::make_model(f.cfg.model);
  auto opt2 = make_optimizer(f.cfg.train.optim, *model2);
  EXPECT_EQ(again.resume(*model2, opt2.get()), 3);
  EXPECT_EQ(again.best_epoch(), 3);
  EXPECT_NEAR(again.best_val(), 0.6, 1e-6);
  EXPECT_FALSE(again.save_epoch(*model2, opt2.get(), 4, 0.55));  // 0.55 < the resumed best
}

// No validation split (data.val_size = 0): nothing to select on, so the newest epoch is the best
// (it was epoch 1 for ever: every later epoch's 0 % failed "strictly higher").
TEST(RunDir, WithoutAValidationSplitTheNewestEpochIsTheBest) {
  Fixture f;
  RunDir run(temp_dir("noval"), "train", f.cfg);
  auto opt = make_optimizer(f.cfg.train.optim, *f.model);
  EXPECT_TRUE(std::isnan(validation_score(0.0, 0)));
  EXPECT_EQ(validation_score(0.75, 10), 0.75);
  for (int e = 1; e <= 3; ++e)
    EXPECT_TRUE(run.save_epoch(*f.model, opt.get(), e, validation_score(0, 0)));
  EXPECT_EQ(run.best_epoch(), 3);
  EXPECT_EQ(metadata_int(read_checkpoint(run.best_path()), "epoch"), 3);
}
