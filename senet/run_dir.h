// senet/run_dir.h — one training stage's directory, the same for every stage (teacher training,
// stage 1, stages 2/3, SNL):
//   dir/last.safetensors   after every epoch: weights, optimizer state, metadata  (resume)
//   dir/best.safetensors   the weights of the best validation score so far         (selection)
//   dir/metrics.jsonl      one JSON line per epoch
// One metadata schema for every checkpoint: format, config (the run's JSON), stage, epoch (epochs
// done), best_val_accuracy, best_epoch, rng.seed, plus the stage's own resume state in `extra`
// (SNL's λ). One key set for every metrics line: stage, epoch, lr, train_loss, train_accuracy,
// val_loss, val_accuracy, best_val_accuracy, seconds, images_per_second, terms, grad_norms,
// grad_cosines (EpochStats::to_json), plus the stage's own keys.
// Order per epoch: best before last — a run killed between the two redoes the epoch from the
// previous last and rewrites the same best; the other order would leave best one epoch stale.
#pragma once
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/optim/optimizer.h"
#include "models/model.h"
#include "senet/checkpoint.h"
#include "senet/config.h"
#include "senet/epoch_loop.h"

namespace senet {

// The score an epoch is selected by: `accuracy`, or NaN when the validation split is empty.
double validation_score(double accuracy, int64_t val_images);

class RunDir {
 public:
  RunDir(std::string dir, std::string stage, const RunConfig& cfg);

  // Continue from dir/last.safetensors when it exists (weights, optimizer state, the schema's
  // counters; the checkpoint's metadata stays readable through resumed()). Returns the epochs done.
  int resume(models::Model& model, Optimizer* opt);
  const io::StFile* resumed() const { return resumed_ ? &last_file_ : nullptr; }

  // After an epoch validated at `val_accuracy`: best.safetensors if it is the best so far (a
  // strictly higher score; the first epoch always), then last.safetensors. Returns whether it was.
  // NaN = no validation split (data.val_size = 0): every epoch is the best so far, best = last
  // (validation_score() below gives it).
  bool save_epoch(models::Model& model, const Optimizer* opt, int epoch, double val_accuracy,
                  const Metadata& extra = {});
  // Appends `line` (EpochStats::to_json() + the stage's keys) with stage and best_val_accuracy.
  void log(nlohmann::json line);

  double best_val() const { return best_val_; }
  int best_epoch() const { return best_epoch_; }
  const std::string& dir() const { return dir_; }
  std::string last_path() const { return dir_ + "/last.safetensors"; }
  std::string best_path() const { return dir_ + "/best.safetensors"; }

 private:
  Metadata metadata(int epoch, const Metadata& extra) const;
  std::string dir_, stage_, config_json_;
  uint64_t seed_;
  double best_val_ = -1;
  int best_epoch_ = 0;
  bool resumed_ = false;
  io::StFile last_file_;
  std::ofstream metrics_;
};

}  // namespace senet
