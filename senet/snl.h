// senet/snl.h — the SNL baseline: Selective Network Linearization (Cho et al., ICML 2022).
// Every counted site gets one real α per position (ReluSite Alpha mode, α = 1 at the start):
//     y = α ⊙ relu(z) + (1−α) ⊙ z                 (α = 1: a ReLU, α = 0: the identity)
// and the student (initialised from the teacher) trains weights and α jointly with Adam under
//     L = w_ce·CE(zˢ, y) + w_kd·KD_T(zˢ, zᵀ) + λ·Σ_sites Σ|α|
// A position counts as a ReLU while α > threshold (0.01). After each epoch e (1-based):
//     stop            if count_e ≤ budget
//     λ ← λ·growth    if e ≥ lambda_from_epoch and count_e ≥ count_{e−1} (the count did not fall)
// (count_0 = the count before the first epoch). With check_every = N > 0 the count is also taken
// every N steps and the epoch ends early once it is ≤ budget (its checkpoint then counts as the
// epoch's end, so a resume goes straight to binarisation). At max_epochs it stops anyway and says so: SNL does
// not hit the budget exactly, its real final count is what the pipeline reports. Finally every site is
// binarised, mask = [α > threshold] (Masked mode), ready for a CE + KD fine-tune (senet/distill.h).
// With binarize = "top_budget" the masks are instead the top-R α over all counted sites together
// (R = the budget; ties: lower site, then lower position), so SNL ends at exactly the budget and
// compares with SENet at the same ReLU count; the stopping rule above is unchanged.
// dir/last.safetensors after every epoch (weights, α, Adam state, λ, count) lets a run resume;
// dir/metrics.jsonl has one line per epoch (λ, count, loss and its terms ce, kd, l1, validation
// accuracy; senet/run_dir.h, senet/epoch_loop.h).
#pragma once
#include <string>
#include <vector>

#include "senet/trainer.h"

namespace senet {

struct SnlEpoch {
  int epoch = 0;             // 1-based
  double lambda = 0;         // λ used during this epoch
  int64_t relus = 0;         // count of α > threshold at its end
  bool lambda_grew = false;  // λ ×= growth after it
  double train_loss = 0, val_accuracy = 0;
};

struct SnlResult {
  std::vector<SnlEpoch> history;  // the epochs this call ran
  int epochs_run = 0;             // in total, including epochs before a resume
  bool reached_budget = false;
  double lambda = 0;  // λ at the end
  int64_t relus = 0;  // after binarisation
};

// The λ rule alone: λ after epoch `epoch` (1-based) whose count went from `before` to `after`.
double snl_next_lambda(const SnlConfig& c, double lambda, int epoch, int64_t before, int64_t after);

// Masks = the top `budget` α over all `sites` together (Alpha mode → Masked).
void binarize_top_alpha(const std::vector<models::ReluSite*>& sites, int64_t budget);

// Puts the student's counted sites in Alpha mode, trains to the budget (cfg.senet.budget) per
// cfg.senet.snl, and leaves them binarised (Masked).
SnlResult run_snl(const RunConfig& cfg, models::Model& teacher, models::Model& student,
                  const DataBundle& data, const std::string& dir, bool resume, bool progress);

}  // namespace senet
