// senet/run_dir.cpp — see run_dir.h.
#include "senet/run_dir.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/dist/comm.h"
#include "senet/data_parallel.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

double validation_score(double accuracy, int64_t val_images) {
  return val_images > 0 ? accuracy : std::nan("");
}

RunDir::RunDir(std::string dir, std::string stage, const RunConfig& cfg)
    : dir_(std::move(dir)),
      stage_(std::move(stage)),
      config_json_(to_json(cfg).dump()),
      seed_(cfg.seed) {
  if (!dist::is_writer()) return;  // data-parallel: rank 0 alone writes the run's files
  fs::create_directories(dir_);
  metrics_.open(dir_ + "/metrics.jsonl", std::ios::app);
  SENET_CHECK(metrics_.good(), "cannot open '", dir_, "/metrics.jsonl' for appending");
}

int RunDir::resume(models::Model& model, Optimizer* opt) {
  if (!run_file_exists(last_path())) return 0;
  last_file_ = read_checkpoint(last_path());
  load_model_state(last_file_, model);
  if (opt) load_optimizer_state(last_file_, *opt);
  resumed_ = true;
  const int epoch = metadata_int(last_file_, "epoch");
  // Checkpoints written before the stages shared this schema lack some keys: their defaults.
  if (last_file_.metadata.count("best_val_accuracy"))
    best_val_ = metadata_number(last_file_, "best_val_accuracy");
  if (last_file_.metadata.count("best_epoch")) best_epoch_ = metadata_int(last_file_, "best_epoch");
  std::fprintf(stderr, "%s: resuming from %s at epoch %d\n", stage_.c_str(), last_path().c_str(),
               epoch);
  return epoch;
}

Metadata RunDir::metadata(int epoch, const Metadata& extra) const {
  Metadata m = extra;
  m["config"] = config_json_;
  m["stage"] = stage_;
  m["epoch"] = std::to_string(epoch);
  m["best_val_accuracy"] = std::to_string(best_val_);
  m["best_epoch"] = std::to_string(best_epoch_);
  m["rng.seed"] = std::to_string(seed_);
  return m;
}

bool RunDir::save_epoch(models::Model& model, const Optimizer* opt, int epoch, double val_accuracy,
                        const Metadata& extra) {
  const bool is_best = std::isnan(val_accuracy) || val_accuracy > best_val_;
  if (is_best) {
    best_val_ = val_accuracy;
    best_epoch_ = epoch;
  }
  const Metadata meta = metadata(epoch, extra);
  if (is_best) save_checkpoint(best_path(), model, nullptr, meta);
  save_checkpoint(last_path(), model, opt, meta);
  return is_best;
}

void RunDir::log(json line) {
  line["stage"] = stage_;
  line["best_val_accuracy"] = best_val_;
  if (!dist::is_writer()) return;
  metrics_ << line.dump() << "\n";
  metrics_.flush();
}

}  // namespace senet
