// tests/senet/test_width_pipeline.cpp — dynamic channel reduction in the run machinery: the
// model.width_factors key, checkpoints of width-switchable models (a plain one loads, its factor
// sets starting from the full set), and a tiny pipeline whose stage 3 trains widths {0.5, 1} and
// reports both.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "senet/checkpoint.h"
#include "senet/config.h"
#include "senet/pipeline.h"
#include "senet/trainer.h"
#include "tests/support/error_of.h"
#include "tests/support/gradcheck.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;
using json = nlohmann::json;

using senet::test::error_of;

static std::string temp_out(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_width_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  return d;
}

static Tensor* tensor_named(models::Model& m, const std::string& name) {
  for (auto& [n, t] : m.named_tensors())
    if (n == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return nullptr;
}

TEST(WidthConfig, KeyParsedCheckedAndRoundTripped) {
  RunConfig c = from_json(load_config_json("", {"model.width_factors=[0.5,1]"}));
  EXPECT_EQ(c.model.width_factors, std::vector<float>({0.5f, 1.f}));
  EXPECT_EQ(from_json(to_json(c)).model.width_factors, c.model.width_factors);
  EXPECT_TRUE(from_json(load_config_json("", {})).model.width_factors.empty());
  for (const char* bad : {"model.width_factors=0.5", "model.width_factors=[\"a\",1]",
                          "model.width_factors=[0.5]", "model.width_factors=[1,0.5]",
                          "model.width_factors=[0.333,1]", "model.width_factors=[0,1]"}) {
    std::string e = error_of([&] { load_config_json("", {bad}); });
    EXPECT_NE(e.find("model.width_factors"), std::string::npos) << bad << ": " << e;
  }
  std::string e = error_of([] {
    load_config_json("", {"model.arch=wrn", "model.width_factors=[0.5,1]"});
  });
  EXPECT_NE(e.find("model.width_factors"), std::string::npos) << e;
  // `senet train` trains one width: a width-switchable config is refused, naming the key.
  RunConfig t = test::tiny_run_config(temp_out("train"));
  t.model.width_factors = {0.5f, 1.f};
  auto m = models::make_model(t.model);
  e = error_of([&] { train_supervised(t, *m, false); });
  EXPECT_NE(e.find("model.width_factors"), std::string::npos) << e;
}

TEST(WidthCheckpoint, PlainCheckpointStartsTheFactorSetsFromTheFullSet) {
  std::string dir = temp_out("ckpt");
  fs::create_directories(dir);
  RunConfig c = test::tiny_run_config();
  auto plain = models::make_model(c.model);
  Tensor* full = tensor_named(*plain, "layer2.0.bn1.running_mean");
  full->copy_(test::random_tensor(full->shape(), 4));
  save_checkpoint(dir + "/plain.safetensors", *plain, nullptr, {});
  c.model.width_factors = {0.5f, 1.f};
  auto sw = models::make_model(c.model);
  load_model_state(read_checkpoint(dir + "/plain.safetensors"), *sw);
  Tensor* half = tensor_named(*sw, "layer2.0.bn1.w050.running_mean");
  EXPECT_EQ(half->to_vector(), full->slice(0, 4).to_vector());
  // A switchable checkpoint keeps its own sets.
  half->copy_(test::random_tensor(half->shape(), 5));
  save_checkpoint(dir + "/sw.safetensors", *sw, nullptr, {});
  auto again = models::make_model(c.model);
  load_model_state(read_checkpoint(dir + "/sw.safetensors"), *again);
  EXPECT_EQ(tensor_named(*again, "layer2.0.bn1.w050.running_mean")->to_vector(), half->to_vector());
  fs::remove_all(dir);
}

TEST(WidthPipeline, StageThreeTrainsAndReportsEveryWidth) {
  std::string out = temp_out("pipe");
  auto probe = models::make_model(test::tiny_pipeline_config(out, 0).model);
  int64_t budget = probe->relu_capacity() / 10;
  RunConfig cfg = test::tiny_pipeline_config(out, budget);
  cfg.model.width_factors = {0.5f, 1.f};
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(r.report["relu_count"].get<int64_t>(), budget);
  ASSERT_TRUE(r.report.contains("widths"));
  const json& w = r.report["widths"];
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0]["width"].get<double>(), 0.5);
  EXPECT_EQ(w[1]["width"].get<double>(), 1.0);
  EXPECT_EQ(w[1]["relu_count"].get<int64_t>(), budget);
  EXPECT_EQ(w[1]["test_accuracy"].get<double>(),
            r.report["student"]["test_accuracy"].get<double>());
  EXPECT_LT(w[0]["macs"].get<int64_t>(), w[1]["macs"].get<int64_t>());
  EXPECT_NE(r.text.find("dynamic channel reduction"), std::string::npos);

  // The saved student is width-switchable: at 0.5 its ReLU count is the kept positions among the
  // first half of each site's channels, and it reproduces the reported test accuracy.
  auto student = models::make_model(cfg.model);
  load_model_state(read_checkpoint(out + "/student.safetensors"), *student);
  student->set_width(0.5f);
  int64_t kept_half = 0;
  for (auto* s : student->counted_sites()) {
    auto m = s->mask.to_vector_u8();
    for (size_t i = 0; i < m.size() / 2; ++i) kept_half += m[i];  // channels are the leading dim
  }
  EXPECT_EQ(student->relu_count(), kept_half);
  EXPECT_EQ(w[0]["relu_count"].get<int64_t>(), kept_half);
  DataBundle data = load_data(cfg);
  EvalResult t = evaluate(*student, data.test, data.norm, 256, Device::CPU);
  EXPECT_EQ(t.accuracy, w[0]["test_accuracy"].get<double>());
  // Stage 3 trained the 0.5 BN set: it no longer equals the full set's first channels.
  Tensor* half = tensor_named(*student, "layer3.1.bn2.w050.running_var");
  Tensor* full = tensor_named(*student, "layer3.1.bn2.running_var");
  EXPECT_GT(test::max_abs_diff(*half, full->slice(0, half->size(0)).clone()), 0.0);
  // Stage 3's metrics carry one validation accuracy per width.
  std::ifstream metrics(out + "/stage3/metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  json m = json::parse(line);
  ASSERT_EQ(m["widths"].size(), 2u);
  EXPECT_NEAR(m["val_accuracy"].get<double>(),
              (m["widths"][0]["val_accuracy"].get<double>() +
               m["widths"][1]["val_accuracy"].get<double>()) /
                  2,
              1e-12);

  // A finished stage 3 for other widths is not reused silently.
  RunConfig plain = cfg;
  plain.model.width_factors.clear();
  std::string e = error_of([&] { run_pipeline(plain, false); });
  EXPECT_NE(e.find("stage3"), std::string::npos) << e;
  fs::remove_all(out);
}
