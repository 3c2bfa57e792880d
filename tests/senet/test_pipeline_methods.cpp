// tests/senet/test_pipeline_methods.cpp — the baselines and ablations of `senet pipeline` end to end
// on the tiny synthetic pipeline: uniform (counts proportional to sizes, no stage 1), random_masks
// (no stage 2), no_pram (stage 3 with w_pram = 0), snl (its real count reported); exact budgets for
// all but SNL; one method per out_dir; config checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "senet/allocation.h"
#include "senet/checkpoint.h"
#include "senet/masks.h"
#include "senet/pipeline.h"
#include "senet/trainer.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

RunConfig tiny(const std::string& out, int64_t budget, const std::string& method) {
  RunConfig c = senet::test::tiny_pipeline_config(out, budget);
  c.senet.method = *enum_from_name<Method>(method);
  return c;
}

std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_methods_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  return d;
}

// One teacher for every test of this file (trained once, ~0.5 s).
const std::string& shared_teacher() {
  static const std::string path = [] {
    std::string dir = temp_dir("teacher");
    RunConfig c = tiny(dir, 0, "senet");
    auto m = models::make_model(c.model);
    train_supervised(c, *m, false);
    return dir + "/best.safetensors";
  }();
  return path;
}

int64_t tiny_capacity() { return models::make_model(tiny("", 0, "senet").model)->relu_capacity(); }

RunConfig with_teacher(const std::string& name, int64_t budget, const std::string& method) {
  RunConfig c = tiny(temp_dir(name), budget, method);
  c.senet.teacher_checkpoint = shared_teacher();
  return c;
}

// The report's and the saved student's counts agree, and the export reads back to its masks.
int64_t check_outputs(const RunConfig& cfg, const PipelineResult& r) {
  EXPECT_EQ(r.report["method"].get<std::string>(), enum_name(cfg.senet.method));
  auto student = models::make_model(cfg.model);
  load_model_state(read_checkpoint(cfg.out_dir + "/student.safetensors"), *student);
  int64_t relus = r.report["relu_count"].get<int64_t>();
  EXPECT_EQ(student->relu_count(), relus);
  int64_t kept = 0;
  for (auto& s : r.report["sites"]) kept += s["kept"].get<int64_t>();
  EXPECT_EQ(kept, relus);
  auto dense = read_mask_export(cfg.out_dir + "/masks.json", *student);
  for (size_t l = 0; l < dense.size(); ++l)
    EXPECT_EQ(dense[l], student->counted_sites()[l]->mask.to_vector_u8());
  return relus;
}

json last_metrics_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return json::parse(last);
}

}  // namespace

TEST(PipelineMethods, UniformAllocatesInProportionToSizesWithoutStageOne) {
  int64_t budget = tiny_capacity() / 10;
  RunConfig cfg = with_teacher("uniform", budget, "uniform");
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(check_outputs(cfg, r), budget);
  EXPECT_FALSE(fs::exists(cfg.out_dir + "/sensitivity.json"));
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/stage2/result.safetensors"));
  int64_t total = 0, cap = tiny_capacity();
  std::vector<int64_t> sizes;
  for (auto& s : r.report["sites"]) {
    sizes.push_back(s["size"].get<int64_t>());
    EXPECT_TRUE(s["eta"].is_null());
    double share = double(budget) * double(sizes.back()) / double(cap);
    EXPECT_LT(std::abs(double(s["allocated"].get<int64_t>()) - share), 1.0) << s.dump();
    EXPECT_EQ(s["kept"].get<int64_t>(), s["allocated"].get<int64_t>());
    total += s["allocated"].get<int64_t>();
  }
  EXPECT_EQ(total, budget);
  std::vector<int64_t> want = allocate_uniform(sizes, budget);
  for (size_t l = 0; l < want.size(); ++l)
    EXPECT_EQ(r.report["sites"][l]["allocated"].get<int64_t>(), want[l]);
}

TEST(PipelineMethods, RandomMasksSkipsStageTwo) {
  int64_t budget = tiny_capacity() / 10;
  RunConfig cfg = with_teacher("random", budget, "random_masks");
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(check_outputs(cfg, r), budget);
  EXPECT_FALSE(fs::exists(cfg.out_dir + "/stage2"));
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/sensitivity.json"));  // SENet's allocation
  EXPECT_TRUE(r.report["stages"]["mask_search"].contains("skipped"));
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/stage3/result.safetensors"));
  for (auto& s : r.report["sites"]) {
    EXPECT_FALSE(s["eta"].is_null());
    EXPECT_EQ(s["kept"].get<int64_t>(), s["allocated"].get<int64_t>());
  }
  // The masks are the seeded random ones, unchanged by fine-tuning: rerunning gives the same masks.
  std::ifstream a(cfg.out_dir + "/masks.json");
  std::string before((std::istreambuf_iterator<char>(a)), {});
  fs::remove_all(cfg.out_dir + "/stage3");
  run_pipeline(cfg, false);
  std::ifstream b(cfg.out_dir + "/masks.json");
  EXPECT_EQ(before, std::string((std::istreambuf_iterator<char>(b)), {}));
}

TEST(PipelineMethods, NoPramFineTunesWithoutPram) {
  int64_t budget = tiny_capacity() / 10;
  RunConfig cfg = with_teacher("nopram", budget, "no_pram");
  ASSERT_GT(cfg.senet.finetune.pram, 0.f);  // the config asks for PRAM; the method overrides it
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(check_outputs(cfg, r), budget);
  EXPECT_EQ(r.report["stages"]["finetune"]["w_pram"].get<double>(), 0.0);
  EXPECT_EQ(last_metrics_line(cfg.out_dir + "/stage3/metrics.jsonl")["w_pram"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/stage2/result.safetensors"));
}

TEST(PipelineMethods, SenetKeepsPramInStageThree) {
  int64_t budget = tiny_capacity() / 10;
  RunConfig cfg = with_teacher("senet", budget, "senet");
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(check_outputs(cfg, r), budget);
  EXPECT_EQ(r.report["stages"]["finetune"]["w_pram"].get<double>(),
            double(cfg.senet.finetune.pram));
  EXPECT_EQ(last_metrics_line(cfg.out_dir + "/stage3/metrics.jsonl")["w_pram"].get<double>(),
            double(cfg.senet.finetune.pram));
}

TEST(PipelineMethods, SnlReportsItsRealCount) {
  int64_t budget = tiny_capacity() / 2;
  RunConfig cfg = with_teacher("snl", budget, "snl");
  cfg.senet.snl.lr = 0.1f;
  cfg.senet.snl.lambda = 1.f;
  cfg.senet.snl.lambda_from_epoch = 1;
  cfg.senet.snl.max_epochs = 6;
  PipelineResult r = run_pipeline(cfg, false);
  int64_t relus = check_outputs(cfg, r);
  const json& snl = r.report["stages"]["snl"];
  EXPECT_EQ(snl["relu_count"].get<int64_t>(), relus);  // fine-tuning keeps the binarised masks
  EXPECT_EQ(snl["reached_budget"].get<bool>(), relus <= budget);
  EXPECT_TRUE(snl["reached_budget"].get<bool>());
  EXPECT_EQ(r.report["stages"]["finetune"]["w_pram"].get<double>(), 0.0);  // CE + KD only
  EXPECT_FALSE(fs::exists(cfg.out_dir + "/allocation.json"));
  EXPECT_FALSE(fs::exists(cfg.out_dir + "/stage2"));
  for (auto& s : r.report["sites"]) EXPECT_TRUE(s["allocated"].is_null());
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/snl/metrics.jsonl"));

  // Resume: a rerun redoes nothing and reports the same count.
  PipelineResult again = run_pipeline(cfg, false);
  EXPECT_EQ(again.report["relu_count"].get<int64_t>(), relus);

  // An out_dir belongs to one method.
  RunConfig other = cfg;
  other.senet.method = Method::Senet;
  try {
    run_pipeline(other, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("snl"), std::string::npos) << e.what();
  }
}

TEST(PipelineMethods, ConfigChecksNameTheirKeys) {
  auto expect_error = [](const std::vector<std::string>& overrides, const std::string& key) {
    try {
      load_config_json("", overrides);
      FAIL() << key;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_error({"senet.method=magic"}, "senet.method");
  expect_error({"senet.method=snl", "senet.granularity=channel"}, "senet.method");
  expect_error({"senet.snl.lambda_growth=0.5"}, "senet.snl.lambda_growth");
  expect_error({"senet.snl.threshold=-1"}, "senet.snl.threshold");
  expect_error({"senet.snl.max_epochs=0"}, "senet.snl.max_epochs");
  expect_error({"senet.snl.lambda_from_epoch=0"}, "senet.snl.lambda_from_epoch");
  RunConfig c = from_json(load_config_json("", {"senet.method=uniform", "senet.snl.lr=0.01"}));
  EXPECT_EQ(c.senet.method, Method::Uniform);
  EXPECT_FLOAT_EQ(c.senet.snl.lr, 0.01f);
  EXPECT_EQ(to_json(c)["senet"]["snl"]["lambda_growth"].get<float>(), 1.1f);
}
