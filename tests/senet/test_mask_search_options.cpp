// tests/senet/test_mask_search_options.cpp — the stage-2 fixes and options and SNL at an exact
// budget (the SENet-vs-SNL issue):
//   - recompute_bn_statistics gives the plain average of the batches' statistics, and stage 2
//     validates (and keeps) statistics gathered under the new mask, not the previous one;
//   - per-term losses, gradient norms and mask overlaps reach metrics.jsonl;
//   - settle epochs train on the best searched mask without changing it;
//   - the H×W-pattern initial mask; SNL binarised to the top-R α hits the budget exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/core/autograd.h"
#include "engine/nn/layers.h"
#include "senet/bn_recalibration.h"
#include "senet/checkpoint.h"
#include "senet/distill.h"
#include "senet/masks.h"
#include "senet/pipeline.h"
#include "senet/snl.h"
#include "senet/trainer.h"
#include "tests/support/error_of.h"
#include "tests/support/tiny_run.h"

using namespace senet;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string temp_dir(const std::string& name) {
  std::string d =
      (fs::temp_directory_path() / ("senet_search_" + name + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(d);
  return d;
}

std::vector<json> metrics_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// Counts per counted site: a tenth of each site, at least one.
std::vector<int64_t> tenth_counts(const models::Model& m) {
  std::vector<int64_t> c;
  for (auto* s : m.counted_sites()) c.push_back(std::max<int64_t>(1, s->size() / 10));
  return c;
}

// A tiny stage-2 run: a teacher and a student with random masks at a tenth of each site, and the
// mask search's config (constant lr, so runs of different lengths agree on their common epochs).
struct SearchRun {
  RunConfig cfg = senet::test::tiny_run_config("", 160);
  DataBundle data = load_data(cfg);
  std::shared_ptr<models::Model> teacher = models::make_model(cfg.model),
                                 student = models::make_model(cfg.model);
  std::vector<int64_t> counts = tenth_counts(*student);
  DistillConfig dc;
  SearchRun(int epochs, int64_t bn_batches) {
    set_random_masks(*student, counts, Granularity::Pixel, 9);
    dc.stage = "mask_search";
    dc.epochs = epochs;
    dc.optim = cfg.train.optim;
    dc.optim.schedule = Schedule::Constant;
    dc.search_masks = true;
    dc.counts = counts;
    dc.bn_recompute_batches = bn_batches;
  }
  DistillResult run(const std::string& dir) {
    return run_distill(cfg, dc, *teacher, *student, data, dir, false, false);
  }
  // The BN running means of a model loaded from `checkpoint`, before and after recomputing them
  // with the stage's own BN loader at `epoch` (all batches).
  std::pair<std::vector<std::vector<float>>, std::vector<std::vector<float>>> bn_means(
      const std::string& checkpoint, int64_t epoch) {
    auto kept = models::make_model(cfg.model);
    load_model_state(read_checkpoint(checkpoint), *kept);
    const std::vector<nn::BatchNorm2d*> bns = batchnorm_layers(*kept);
    std::vector<std::vector<float>> saved, again;
    for (auto* bn : bns) saved.push_back(bn->state.running_mean.to_vector());
    data::Loader l(data.train, cfg.train.batch_size, true, true, data.aug, data.norm,
                   cfg.seed + 7919 * 4);
    recompute_bn_statistics(*kept, l, epoch, 1000);
    for (auto* bn : bns) again.push_back(bn->state.running_mean.to_vector());
    return {saved, again};
  }
};

}  // namespace

TEST(BnRecompute, RunningStatisticsAreThePlainAverageOfTheBatches) {
  RunConfig cfg = senet::test::tiny_run_config();
  DataBundle data = load_data(cfg);
  auto m = models::make_model(cfg.model);
  set_random_masks(*m, tenth_counts(*m), Granularity::Pixel, 5);
  const std::vector<nn::BatchNorm2d*> bns = batchnorm_layers(*m);
  ASSERT_FALSE(bns.empty());
  const int64_t K = 3;

  // Reference: each batch's own statistics (momentum 1 on a reset state), averaged in double.
  std::vector<std::vector<double>> mean(bns.size()), var(bns.size());
  {
    data::Loader l(data.train, 16, true, true, data.aug, data.norm, 77);
    l.start_epoch(2);
    data::Batch b;
    NoGradGuard no_grad;
    for (int64_t k = 0; k < K; ++k) {
      ASSERT_TRUE(l.next(b));
      for (auto* bn : bns) bn->state.momentum = 1.f;
      m->forward(batch_images(b, Device::CPU));
      for (size_t i = 0; i < bns.size(); ++i) {
        auto mu = bns[i]->state.running_mean.to_vector(), v = bns[i]->state.running_var.to_vector();
        mean[i].resize(mu.size());
        var[i].resize(v.size());
        for (size_t c = 0; c < mu.size(); ++c) {
          mean[i][c] += double(mu[c]) / K;
          var[i][c] += double(v[c]) / K;
        }
      }
    }
    for (auto* bn : bns) bn->state.momentum = 0.1f;
  }
  m->eval();
  data::Loader l(data.train, 16, true, true, data.aug, data.norm, 77);
  EXPECT_EQ(recompute_bn_statistics(*m, l, 2, K), K);
  EXPECT_FALSE(m->is_training());  // the mode is restored
  for (size_t i = 0; i < bns.size(); ++i) {
    EXPECT_EQ(bns[i]->state.momentum, 0.1f);
    auto mu = bns[i]->state.running_mean.to_vector(), v = bns[i]->state.running_var.to_vector();
    for (size_t c = 0; c < mu.size(); ++c) {
      EXPECT_NEAR(mu[c], mean[i][c], 1e-5 * (1 + std::abs(mean[i][c]))) << "bn " << i << " c " << c;
      EXPECT_NEAR(v[c], var[i][c], 1e-5 * (1 + var[i][c])) << "bn " << i << " c " << c;
    }
  }
}

// Stage 2 with 2 search epochs: the statistics it validates with and keeps are the ones recomputed
// under the mask it switched to (a recomputation with the same loader reproduces them), and the
// metrics have the terms, gradient norms and mask overlaps.
TEST(MaskSearch, ValidatesWithStatisticsOfTheNewMaskAndLogsItsInstruments) {
  SearchRun sr(2, 1000);  // recompute over every batch of an epoch
  std::string dir = temp_dir("bn");
  DistillResult r = sr.run(dir);
  ASSERT_EQ(r.epochs_run, 2);
  // The kept (best) checkpoint's statistics = a recomputation under its own mask, same batches.
  auto [saved, again] = sr.bn_means(dir + "/best.safetensors", r.best_epoch - 1);
  EXPECT_EQ(saved, again);

  std::vector<json> lines = metrics_lines(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  for (const json& j : lines) {
    EXPECT_EQ(j["stage"], "mask_search");
    EXPECT_EQ(j["phase"], "search");
    EXPECT_GT(j["bn_recompute_batches"].get<int64_t>(), 0);
    for (const char* t : {"ce", "kd"}) {
      EXPECT_TRUE(j["terms"].contains(t)) << j.dump();
      EXPECT_TRUE(j["grad_norms"].contains(t)) << j.dump();
    }
    EXPECT_TRUE(j["grad_cosines"].contains("ce·kd")) << j.dump();
    for (const char* k : {"mask_overlap_previous", "mask_overlap_initial", "mask_overlap_chance"}) {
      double v = j[k].get<double>();
      EXPECT_GE(v, 0.0) << k;
      EXPECT_LE(v, 1.0) << k;
    }
  }
  // Epoch 1's previous mask is the initial one.
  EXPECT_DOUBLE_EQ(lines[0]["mask_overlap_previous"].get<double>(),
                   lines[0]["mask_overlap_initial"].get<double>());
}

TEST(MaskSearch, WithoutRecomputationTheStatisticsAreTheStaleOnes) {
  SearchRun sr(1, 0);
  std::string dir = temp_dir("stale");
  sr.run(dir);
  auto [saved, again] = sr.bn_means(dir + "/best.safetensors", 0);
  EXPECT_NE(saved, again);
  EXPECT_FALSE(metrics_lines(dir + "/metrics.jsonl")[0].contains("bn_recompute_batches"));
}

TEST(MaskSearch, SettleEpochsTrainOnTheBestSearchedMask) {
  SearchRun sr(2, 2);
  sr.dc.settle_epochs = 2;
  std::string dir = temp_dir("settle");
  DistillResult r = sr.run(dir);
  EXPECT_EQ(r.epochs_run, 4);
  std::vector<json> lines = metrics_lines(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1]["phase"], "search");
  EXPECT_EQ(lines[2]["phase"], "settle");
  EXPECT_FALSE(lines[2].contains("mask_overlap_previous"));
  io::StFile f = read_checkpoint(dir + "/last.safetensors");
  EXPECT_EQ(metadata_int(f, "epoch"), 4);
  auto last = models::make_model(sr.cfg.model);
  load_model_state(f, *last);
  int64_t want = 0;
  for (int64_t c : sr.counts) want += c;
  EXPECT_EQ(last->relu_count(), want);
  // The settle epochs kept the best searched mask: the same run without them (its first two
  // epochs are the same) ends, its best loaded, with the same masks.
  SearchRun plain(2, 2);
  plain.run(temp_dir("settle2"));
  for (size_t l = 0; l < sr.counts.size(); ++l)
    EXPECT_EQ(last->counted_sites()[l]->mask.to_vector_u8(),
              plain.student->counted_sites()[l]->mask.to_vector_u8())
        << "site " << l;
}

TEST(Masks, HwPatternRepeatsOnePatternOverTheChannels) {
  const int64_t C = 5, H = 4, W = 3, hw = H * W;
  for (int64_t k : {int64_t(0), int64_t(3), int64_t(7), int64_t(12), int64_t(23), C * hw}) {
    std::vector<uint8_t> m = hw_pattern_mask(C, H, W, k, 11, 4);
    int64_t total = 0;
    std::vector<int64_t> per(C, 0);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < hw; ++i) {
        per[size_t(c)] += m[size_t(c * hw + i)];
        total += m[size_t(c * hw + i)];
      }
    EXPECT_EQ(total, k);
    for (int64_t c = 0; c < C; ++c)
      EXPECT_TRUE(per[size_t(c)] == k / C || per[size_t(c)] == k / C + 1);
    // The smaller channels' pattern is inside every channel's pattern (one shared H×W pattern).
    int64_t small = 0;
    while (small < C && per[size_t(small)] != k / C) ++small;
    if (small == C) continue;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < hw; ++i)
        if (m[size_t(small * hw + i)]) {
          EXPECT_EQ(m[size_t(c * hw + i)], 1) << "k " << k << " c " << c;
        }
  }
  EXPECT_EQ(hw_pattern_mask(C, H, W, 7, 11, 4), hw_pattern_mask(C, H, W, 7, 11, 4));  // seeded
  EXPECT_NE(hw_pattern_mask(C, H, W, 7, 11, 4), hw_pattern_mask(C, H, W, 7, 12, 4));
  EXPECT_THROW(hw_pattern_mask(C, H, W, C * hw + 1, 1, 1), Error);
}

TEST(SnlExactBudget, TopAlphaOverAllSitesKeepsExactlyTheBudget) {
  RunConfig cfg = senet::test::tiny_run_config();
  auto m = models::make_model(cfg.model);
  auto sites = m->counted_sites();
  for (auto* s : sites) s->set_alpha(0.01f);
  // α = a ramp over the global position, with ties: the top R are the R largest, lower index first.
  int64_t g = 0;
  for (auto* s : sites) {
    std::vector<float> a(size_t(s->size()));
    for (auto& v : a) v = float((g++) % 7);
    s->alpha.copy_(Tensor::from_vector(a, {s->C, s->H, s->W}));
  }
  const int64_t R = m->relu_capacity() / 3;
  binarize_top_alpha(sites, R);
  EXPECT_EQ(m->relu_count(), R);
  // Every kept α ≥ every dropped α; at the boundary value, the kept positions come first.
  std::vector<std::pair<float, uint8_t>> all;  // (α, kept) in global order
  g = 0;
  for (auto* s : sites) {
    for (uint8_t k : s->mask.to_vector_u8()) all.push_back({float((g++) % 7), k});
    EXPECT_EQ(s->mode, models::SiteMode::Masked);
  }
  float min_kept = 1e9f, max_dropped = -1e9f;
  for (auto [a, k] : all)
    (k ? min_kept : max_dropped) = k ? std::min(min_kept, a) : std::max(max_dropped, a);
  EXPECT_LE(max_dropped, min_kept);
  bool dropped_seen = false;
  for (auto [a, k] : all) {
    if (a != min_kept) continue;
    if (!k)
      dropped_seen = true;
    else
      EXPECT_FALSE(dropped_seen) << "a kept tie after a dropped one";
  }
}

TEST(SnlExactBudget, PipelineEndsAtExactlyTheBudget) {
  std::string out = temp_dir("snl_top");
  RunConfig cfg = senet::test::tiny_pipeline_config(out, 0);
  cfg.senet.method = Method::Snl;
  cfg.senet.budget = models::make_model(cfg.model)->relu_capacity() / 7;
  cfg.senet.snl.binarize = SnlBinarize::TopBudget;
  cfg.senet.snl.max_epochs = 2;  // stops long before the count gets there: top-R cuts it
  PipelineResult r = run_pipeline(cfg, false);
  EXPECT_EQ(r.report["relu_count"].get<int64_t>(), cfg.senet.budget);
  EXPECT_FALSE(r.report["stages"]["snl"]["reached_budget"].get<bool>());
  std::vector<json> lines = metrics_lines(out + "/snl/metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0]["terms"].contains("l1"));
  EXPECT_TRUE(lines[0]["grad_norms"].contains("l1"));
}

TEST(MaskSearchOptions, ConfigKeysAreChecked) {
  for (auto [overrides, key] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"senet.initial_mask=stripes"}, "senet.initial_mask"},
           {{"senet.initial_mask=hw_pattern", "senet.granularity=channel"}, "senet.initial_mask"},
           {{"senet.bn_recompute_batches=-1"}, "senet.bn_recompute_batches"},
           {{"senet.settle_epochs=-2"}, "senet.settle_epochs"},
           {{"senet.snl.binarize=round"}, "senet.snl.binarize"},
           {{"senet.sensitivity_epochs=0"}, "senet.sensitivity_epochs"}})
    EXPECT_NE(senet::test::error_of([&] { load_config_json("", overrides); }).find(key),
              std::string::npos)
        << key;
  RunConfig c =
      from_json(load_config_json("", {"senet.initial_mask=hw_pattern", "senet.settle_epochs=2",
                                      "senet.snl.binarize=top_budget"}));
  EXPECT_EQ(c.senet.initial_mask, InitialMask::HwPattern);
  EXPECT_EQ(c.senet.settle_epochs, 2);
  EXPECT_EQ(c.senet.snl.binarize, SnlBinarize::TopBudget);
  EXPECT_EQ(c.senet.bn_recompute_batches, 50);  // on by default: the fix
}
