// tests/cuda_backend/test_cuda_backend_stages.cpp — the SENet stages and SNL on the CUDA backend
// (emulated), eager and with their step replayed as a CUDA graph (issue 16, item 4;
// senet/epoch_loop.h): stage 1's sparse-momentum training (senet/sensitivity.h: its after_step
// re-applies the weight masks on the device after each replay and prunes/regrows through the
// host); stage 2's mask search (senet/distill.h; its distances Σ|Aᵀ − Aˢ| accumulate inside the
// recorded step), then its settle epoch on the best mask; stage 2 with learned masks (the
// straight-through top-k inside the recorded step); stage 3's fine-tuning with CE + KD +
// PRAM (channel masks); a stage-3 student at two width factors (the body back-propagates each width itself,
// inside the recording); and SNL (senet/snl.h: λ·Σ|α| in the loss, its after_step reading the
// ReLU count between replays).
// The graphed run must equal the eager one bitwise — every number of metrics.jsonl but the
// timings, the masks, every weight and BN buffer, the final accuracies — and the replays must
// have happened (the emulator counts graph launches).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <utility>

#include "models/model.h"
#include "senet/distill.h"
#include "senet/masks.h"
#include "senet/sensitivity.h"
#include "senet/snl.h"
#include "senet/trainer.h"
#include "tests/cuda_backend/cb_test.h"
#include "tests/support/tiny_run.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet {
namespace {

using cbtest::CudaBackend;
using json = nlohmann::json;
namespace fs = std::filesystem;

enum class Stage { Sensitivity, Search, Learned, Finetune, Widths, Snl };

struct DistillRun {
  std::vector<json> metrics;                // metrics.jsonl, timings removed
  std::vector<std::vector<float>> tensors;  // the student's weights and BN buffers
  std::vector<std::vector<uint8_t>> masks;  // its masks
  DistillResult res;
  std::vector<SnlEpoch> snl_history;
  bool snl_reached_budget = false;
  int64_t graph_launches = 0, host_waits = 0;
};

// One stage on `batches` batches of 4 8×8 images per epoch, the cosine schedule (η changes every
// step: the replays read it from device memory).
DistillRun run_stage(Stage stage, bool cuda_graph, int batches = 5) {
  const std::string dir = (fs::temp_directory_path() /
                           ("senet_cb_distill_" + std::to_string(int(stage)) +
                            (cuda_graph ? "_graph_" : "_eager_") + std::to_string(getpid())))
                              .string();
  fs::remove_all(dir);
  RunConfig c = test::tiny_run_config(dir, 4 * batches + 8);
  c.data.val_size = 8;  // and 16 test images: the evaluations stay small
  c.model.image_size = 8;
  c.train.batch_size = 4;
  c.device = Device::CUDA;
  c.cuda_graph = cuda_graph;
  DataBundle data = load_data(c);
  auto teacher = models::make_model(c.model);
  if (stage == Stage::Widths) c.model.width_factors = {0.5f, 1.f};
  auto student = models::make_model(c.model);
  std::vector<int64_t> counts;  // a tenth of each counted site
  for (auto* s : student->counted_sites()) counts.push_back(std::max<int64_t>(1, s->size() / 10));
  // Pixel masks, but channel masks for fine-tuning (the per-channel paths of the fused kernels).
  if (stage != Stage::Widths)
    set_random_masks(*student, counts,
                     stage == Stage::Finetune ? Granularity::Channel : Granularity::Pixel, 9);
  teacher->to(Device::CUDA);
  student->to(Device::CUDA);
  if (stage == Stage::Learned) {  // stage 2 with senet.mask_learner = ste (senet/pipeline.cpp)
    auto sites = student->counted_sites();
    for (size_t l = 0; l < sites.size(); ++l) sites[l]->set_learned(counts[l], 303 + l);
  }

  if (stage == Stage::Snl) {
    c.senet.budget = student->relu_capacity() / 2;
    // Adam steps of ≈ 0.3 and a penalty that outweighs CE + KD: every α falls from 1 and crosses
    // the threshold at step 4 (a replay), where after_step's count ends the epoch and the run.
    c.senet.snl.lr = 0.3f;
    c.senet.snl.lambda = 1.f;
    c.senet.snl.lambda_from_epoch = 1;
    c.senet.snl.max_epochs = 2;
    c.senet.snl.check_every = 2;  // counts after step 2 (recorded, replayed) and step 4
  }
  DistillConfig dc;
  dc.optim = c.train.optim;
  dc.pram_sites = stage_end_sites(*student);
  if (stage == Stage::Learned) dc.stage = "mask_search";
  if (stage == Stage::Search) {
    dc.stage = "mask_search";
    dc.search_masks = true;
    dc.counts = counts;
    dc.settle_epochs = 1;  // loads the best search epoch's checkpoint, records a new graph
  }
  DistillRun r;
#if !SENET_CB_GPU
  const int64_t g0 = emu::graph_launches(), w0 = emu::host_waits();
#endif
  if (stage == Stage::Sensitivity) {
    SensitivityConfig sc;
    sc.density = 0.1;
    sc.prune_every = 2;  // prune/regrow after step 2 (recorded) and step 4
    SensitivityResult sens = run_sensitivity(c, sc, *teacher, data, 5, false, dir);
    r.masks = sens.masks;
    for (auto& [name, t] : teacher->named_tensors())
      if (t->dtype() == DType::F32) r.tensors.push_back(t->to_vector());
    r.res.test = evaluate(*teacher, data.test, data.norm, 256, Device::CUDA);
  } else if (stage == Stage::Snl) {
    SnlResult snl = run_snl(c, *teacher, *student, data, dir, false, false);
    r.snl_history = snl.history;
    r.snl_reached_budget = snl.reached_budget;
    r.res.test = evaluate(*student, data.test, data.norm, 256, Device::CUDA);
  } else {
    r.res = run_distill(c, dc, *teacher, *student, data, dir, false, false);
  }
#if !SENET_CB_GPU
  r.graph_launches = emu::graph_launches() - g0;
  r.host_waits = emu::host_waits() - w0;
#endif
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    for (const char* timing : {"seconds", "images_per_second"}) j.erase(timing);
    r.metrics.push_back(j);
  }
  if (stage != Stage::Sensitivity) {
    for (auto& [name, t] : student->named_tensors())
      if (t->dtype() == DType::F32) r.tensors.push_back(t->to_vector());
    for (auto* s : student->counted_sites()) r.masks.push_back(s->mask.to_vector_u8());
  }
  fs::remove_all(dir);
  return r;
}

// launches: graph launches per epoch (step 1 eager, step 2 recorded and replayed, later steps
// replayed). Returns both runs.
std::pair<DistillRun, DistillRun> expect_graphed_equals_eager(Stage stage, int epochs,
                                                              int launches = 4) {
  const DistillRun eager = run_stage(stage, false), graphed = run_stage(stage, true);
  if (!cbtest::kGpuBuild) {
    EXPECT_EQ(eager.graph_launches, 0);
    EXPECT_EQ(graphed.graph_launches, launches * epochs);
  }
  EXPECT_EQ(eager.metrics.size(), size_t(epochs));
  EXPECT_EQ(graphed.metrics, eager.metrics) << "metrics.jsonl differs";
  EXPECT_EQ(graphed.masks, eager.masks);
  EXPECT_EQ(graphed.tensors, eager.tensors) << "weights or BN buffers differ";
  EXPECT_EQ(graphed.res.best_epoch, eager.res.best_epoch);
  EXPECT_EQ(graphed.res.val.accuracy, eager.res.val.accuracy);
  EXPECT_EQ(graphed.res.test.loss, eager.res.test.loss);
  EXPECT_EQ(graphed.snl_history.size(), eager.snl_history.size());
  for (size_t e = 0; e < std::min(eager.snl_history.size(), graphed.snl_history.size()); ++e) {
    EXPECT_EQ(graphed.snl_history[e].relus, eager.snl_history[e].relus) << "epoch " << e + 1;
    EXPECT_EQ(graphed.snl_history[e].lambda, eager.snl_history[e].lambda);
    EXPECT_EQ(graphed.snl_history[e].train_loss, eager.snl_history[e].train_loss);
  }
  EXPECT_EQ(graphed.snl_reached_budget, eager.snl_reached_budget);
  return {eager, graphed};
}

TEST_F(CudaBackend, GraphedSensitivityEqualsEagerBitwise) {
  expect_graphed_equals_eager(Stage::Sensitivity, 1);
}

TEST_F(CudaBackend, GraphedMaskSearchEqualsEagerBitwise) {
  expect_graphed_equals_eager(Stage::Search, 2);
}

// The learned masks' top-k runs on the device inside the recorded step (engine/ops/
// straight_through.h): scores, masks and weights as eager.
TEST_F(CudaBackend, GraphedLearnedMaskSearchEqualsEagerBitwise) {
  expect_graphed_equals_eager(Stage::Learned, 1);
}

// Issue 16, item 4, for SENet's own stages: a steady-state step makes no host round trip, eager or
// replayed. Fine-tuning runs that differ only in their number of batches (5 and 7: the same
// validation, test evaluation and per-epoch bookkeeping, one read of the device counters per
// epoch) must wait for the device equally often (the emulator counts copies to the host and
// synchronisations: kernels/emu/emu_control.h). One stage stands for all: the graphed tests here
// show that no stage's step body waits (a recording refuses any wait, and each stage's replays
// happened), so what is left per step is the loop's own host work, the same for every stage.
TEST_F(CudaBackend, GraphedFinetuneEqualsEagerBitwiseAndMakesNoHostRoundTrip) {
  const auto [eager, graphed] = expect_graphed_equals_eager(Stage::Finetune, 1);
  if (cbtest::kGpuBuild) return;  // the emulator counts the waits
  for (const DistillRun* r5 : {&eager, &graphed}) {
    const bool graph = r5 == &graphed;
    const int64_t w7 = run_stage(Stage::Finetune, graph, 7).host_waits;
    EXPECT_GT(r5->host_waits, 0);
    EXPECT_EQ(w7, r5->host_waits) << (graph ? "graphed" : "eager") << ": " << (w7 - r5->host_waits)
                                  << " more waits in 2 more steps";
  }
}

TEST_F(CudaBackend, GraphedWidthSwitchingFinetuneEqualsEagerBitwise) {
  expect_graphed_equals_eager(Stage::Widths, 1);
}

// SNL reaches its budget at step 4 of epoch 1 (a replay): steps 2–4 replayed, then the run ends.
TEST_F(CudaBackend, GraphedSnlEqualsEagerBitwise) {
  EXPECT_TRUE(expect_graphed_equals_eager(Stage::Snl, 1, 3).second.snl_reached_budget);
}

}  // namespace
}  // namespace senet
