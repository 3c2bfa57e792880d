// senet/epoch_loop.h — the one epoch loop every training stage of the tool runs: the teacher's
// supervised training (senet/trainer.h), stage 1's sparse-momentum run (senet/sensitivity.h), stages
// 2 and 3 (senet/distill.h) and the SNL baseline (senet/snl.h). A stage supplies only its step body;
// the loop does the rest, the same way for all four:
//
//   loader.start_epoch(e); progress bar
//   for each batch b (step t = 0, 1, …):
//     lr ← schedule(e, t / steps_per_epoch)                  (when the stage has a schedule)
//     zero the gradients
//     out = body(b, t)                                       forward, loss L = Σ_i term_i
//     [t = 0: gradient probe, below]
//     L.backward()                                           (unless the body did it itself)
//     [several ranks: gradients averaged over the ranks in buckets during the backward (and at
//      the epoch's end the weights checked bit-identical on every rank),
//      engine/dist/grad_reducer.h; a non-finite loss on any rank stops every rank]
//     finite check of L and every gradient (names stage, epoch, step and tensor)
//     optimizer step; after_step(out, t) → may end the epoch early (SNL at its budget)
//     counters: Σ L·n, Σ term_i·n, correct, images (several ranks: summed over them at the end)
//   One process on CUDA: the finite check and the counters stay on the device and the host reads
//   them every 16 steps and at the epoch's end (senet/step_metrics.h): no host round trip in a
//   steady-state step; a non-finite step is still named exactly, up to 15 steps later.
//
// CUDA graphs (`cuda_graph`, one process on CUDA; set by every stage: supervised training,
// SENet's stages 1–3, SNL): the loop records its second step — zero_grad, body, backward (unless the body
// ran its own: a student at several widths), the device counters, the optimizer step — as one
// CUDA graph (engine/cuda/graph.h) and replays it for every later batch of the same shape: one
// launch a step instead of hundreds, none of the step's host code (autograd, op dispatch,
// allocation) on its path. What makes a replay equal an eager step:
//   * the batch goes into fixed device tensors (data::Batch::x_on_device/y_on_device, refilled by
//     asynchronous uploads), its labels checked on the host first, as the loss checks them eagerly;
//   * the optimizer reads η (Adam: and the bias corrections) from device memory, staged before
//     each step (Optimizer::use_device_scalars), and counts the replayed step on the host;
//   * the counters add into fixed tensors and the host copies the step's finite-check row (a
//     device-to-device copy) after the replay (StepMetrics::record / commit).
// Eager instead: step 0 (the gradient probe; also makes the gradients, optimizer state and the
// allocator's blocks the recording needs), a batch of another shape (the graph is dropped first;
// a later step may record again), a step after one in which some parameter got no gradient.
// A recording that fails (an op that needs the host inside the step) is undone — the optimizer's
// step counts restored — and the loop trains on eagerly, saying so once. A body whose device work
// depends on anything but the batch and the weights (the step number, host state it changes)
// must not set cuda_graph. after_step runs on the host after each step, replayed or eager; what
// it changes for the next step must be changed in place (stage 1's re-applies its weight masks
// with device multiplies and prunes/regrows through the host every prune_every steps; SNL's reads
// the ReLU count every few steps, a wait for the device). Host work left per replayed step: the label check, the uploads (the batch's overlap
// the replay before; η's 12 bytes go in place, after it), replayed_step() and the row copy.
// Replays are bitwise equal to eager steps (tests/cuda_backend/test_cuda_backend_train.cpp and
// test_cuda_backend_distill.cpp, on the emulator and, the day a GPU runs test_cuda_backend_gpu,
// on it).
//
// The gradient probe answers "which term drives the weights?" (issue: PRAM at weight 1000 took ≈ 80 %
// of stage 3's loss and the largest gradient): on the first batch of each epoch, every term is
// back-propagated alone through the retained graph, giving ‖∇_θ term_i‖ over all parameters and the
// cosine between each pair of term gradients. It costs one extra backward per term per epoch.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data/loader.h"
#include "engine/optim/lr_schedule.h"
#include "engine/optim/optimizer.h"
#include "models/model.h"

namespace senet {

// What a step body returns.
struct StepOut {
  Tensor loss;                                        // scalar: the total the optimizer minimises
  std::vector<std::pair<std::string, Tensor>> terms;  // its named parts as weighted in the loss
                                                      // ("ce", "kd", "pram", "l1"); may be empty
  Tensor logits, labels;                              // for the running accuracy
  bool backward_done = false;  // the body back-propagated itself (several widths per step)
};

// One epoch's sums, as the loop counted them.
struct EpochStats {
  int epoch = 0;  // 1-based
  int64_t steps = 0, images = 0, correct = 0;
  double loss_sum = 0;                      // Σ over batches of L·n
  std::map<std::string, double> term_sums;  // Σ over batches of term·n
  double seconds = 0;
  double comm_wait_seconds = 0;   // several ranks: time blocked waiting for gradient all-reduces
  double collective_seconds = 0;  // ... in every collective (gradients, BN statistics, checks)
  float lr = 0;                   // at the epoch's last step
  // The probe on the epoch's first batch (empty when the body did its own backward).
  std::map<std::string, double> grad_norms;    // ‖∇ term‖₂ over every parameter
  std::map<std::string, double> grad_cosines;  // "a·b" → cos(∇a, ∇b)
  bool ended_early = false;                    // after_step asked to stop

  double loss() const { return images ? loss_sum / double(images) : 0; }
  double accuracy() const { return images ? double(correct) / double(images) : 0; }
  double images_per_second() const { return seconds > 0 ? double(images) / seconds : 0; }
  // The metrics.jsonl keys every stage shares: epoch, lr, train_loss, train_accuracy, seconds,
  // images_per_second, terms {name: mean}, grad_norms, grad_cosines.
  nlohmann::json to_json() const;
};

using StepBody = std::function<StepOut(const data::Batch& b, int64_t step)>;
using AfterStep = std::function<bool(const StepOut& out, int64_t step)>;  // true: end the epoch now

struct EpochLoop {
  models::Model& model;
  Optimizer& opt;
  const LrSchedule* schedule = nullptr;  // null: the optimizer's lr is left as it is
  std::string label;  // progress bar and error messages: "epoch", "mask_search", "snl", …
  int epochs = 1;     // for the bar: "label e/epochs"
  bool progress = true;
  bool probe_gradients = true;
  bool cuda_graph = false;    // replay the step as a CUDA graph where it can (see above)
  int metrics_every = 0;      // CUDA: steps between reads of the device counters (0: 16)
  bool graph_failed = false;  // set by run() when a recording failed: later epochs run eagerly

  EpochStats run(data::Loader& loader, int epoch, const StepBody& body,
                 const AfterStep& after_step = {});
};

// ‖∇ term_i‖ and the pairwise cosines for `terms`, each back-propagated alone (the model's gradients
// are left zeroed). Exposed for the tests.
void probe_term_gradients(models::Model& model,
                          const std::vector<std::pair<std::string, Tensor>>& terms,
                          std::map<std::string, double>& norms,
                          std::map<std::string, double>& cosines);

}  // namespace senet
