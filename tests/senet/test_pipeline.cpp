// tests/senet/test_pipeline.cpp — the whole SENet pipeline on a tiny model and synthetic data
// (seconds): exact ReLU count, report and masks export consistent with the model, stage resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "senet/checkpoint.h"
#include "senet/masks.h"
#include "senet/pipeline.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;

static RunConfig tiny(const std::string& out, int64_t budget) {
  return test::tiny_pipeline_config(out, budget);
}

static size_t lines_of(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

TEST(Pipeline, EndToEndExactBudgetReportAndExport) {
  std::string out =
      (fs::temp_directory_path() / ("senet_pipe_" + std::to_string(getpid()))).string();
  fs::remove_all(out);
  auto probe = models::make_model(tiny(out, 0).model);
  int64_t budget = probe->relu_capacity() / 20;  // 5 % of the ReLUs
  RunConfig cfg = tiny(out, budget);
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(r.report["relu_count"].get<int64_t>(), budget);
  int64_t kept = 0, allocated = 0;
  for (auto& s : r.report["sites"]) {
    kept += s["kept"].get<int64_t>();
    allocated += s["allocated"].get<int64_t>();
    EXPECT_GE(s["eta"].get<double>(), 0.0);
    EXPECT_LE(s["eta"].get<double>(), 1.0);
  }
  EXPECT_EQ(kept, budget);
  EXPECT_EQ(allocated, budget);
  for (const char* f : {"student.safetensors", "masks.json", "report.json", "report.txt",
                        "sensitivity.json", "allocation.json", "teacher/best.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;

  // The final checkpoint has exactly `budget` ReLUs, and the export reads back to its masks.
  auto student = models::make_model(cfg.model);
  load_model_state(read_checkpoint(out + "/student.safetensors"), *student);
  EXPECT_EQ(student->relu_count(), budget);
  auto dense = read_mask_export(out + "/masks.json", *student);
  for (size_t l = 0; l < dense.size(); ++l)
    EXPECT_EQ(dense[l], student->counted_sites()[l]->mask.to_vector_u8());

  // Resume: a rerun redoes nothing; removing stage 3's result redoes only stage 3.
  size_t s2 = lines_of(out + "/stage2/metrics.jsonl"), s3 = lines_of(out + "/stage3/metrics.jsonl");
  size_t t = lines_of(out + "/teacher/metrics.jsonl");
  run_pipeline(cfg, false);
  EXPECT_EQ(lines_of(out + "/stage2/metrics.jsonl"), s2);
  EXPECT_EQ(lines_of(out + "/stage3/metrics.jsonl"), s3);
  fs::remove(out + "/stage3/result.safetensors");
  fs::remove_all(out + "/stage3/last.safetensors");
  fs::remove_all(out + "/stage3/best.safetensors");
  PipelineResult again = run_pipeline(cfg, false);
  EXPECT_EQ(lines_of(out + "/teacher/metrics.jsonl"), t);
  EXPECT_EQ(lines_of(out + "/stage2/metrics.jsonl"), s2);
  EXPECT_EQ(lines_of(out + "/stage3/metrics.jsonl"), s3 + 1);
  EXPECT_EQ(again.report["relu_count"].get<int64_t>(), budget);
}

TEST(Pipeline, StraightThroughMaskLearnerKeepsTheBudget) {
  std::string out =
      (fs::temp_directory_path() / ("senet_pipe_ste_" + std::to_string(getpid()))).string();
  fs::remove_all(out);
  auto probe = models::make_model(tiny(out, 0).model);
  int64_t budget = probe->relu_capacity() / 10;
  RunConfig cfg = tiny(out, budget);
  cfg.senet.mask_learner = MaskLearner::Ste;
  cfg.senet.mask_search.lr = 0.5f;  // large enough for scores to cross within a tiny run
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(r.report["relu_count"].get<int64_t>(), budget);
  auto student = models::make_model(cfg.model);
  load_model_state(read_checkpoint(out + "/student.safetensors"), *student);
  EXPECT_EQ(student->relu_count(), budget);
}

TEST(Pipeline, ImpossibleBudgetIsAnError) {
  std::string out =
      (fs::temp_directory_path() / ("senet_pipe_bad_" + std::to_string(getpid()))).string();
  RunConfig cfg = tiny(out, 1 << 30);
  try {
    run_pipeline(cfg, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("senet.budget"), std::string::npos) << e.what();
  }
}
