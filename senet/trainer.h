// senet/trainer.h — supervised training of a model (the SENet teacher, stage 0) and the pieces
// every stage shares: data for a config, batches as tensors, evaluation, optimizer + LR schedule
// from the config (senet/optimizer_config.h). The epoch loop and the run directory (metrics.jsonl,
// atomic per-epoch checkpoints) are senet/epoch_loop.h and senet/run_dir.h, shared with the other
// stages.
// Resume: a run restarted with resume=true loads <out>/last.safetensors (weights, optimizer state,
// epoch) and continues; the data order of epoch e is a function of (seed, e) only, so a resumed
// run gives the same weights as an uninterrupted one with the same seed and thread count.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "engine/data/data.h"
#include "engine/optim/lr_schedule.h"
#include "engine/optim/optimizer.h"
#include "models/model.h"
#include "senet/config.h"
#include "senet/epoch_loop.h"
#include "senet/optimizer_config.h"  // make_optimizer, make_schedule

namespace senet {

struct DataBundle {
  data::Dataset train, val, test;
  data::Normalize norm;
  data::Augment aug;
};
DataBundle load_data(const RunConfig& cfg);

// The batch's images N×C×H×W and labels [N] on `device`: b.x_on_device / b.y_on_device when the
// batch already holds them there (a step replayed as a CUDA graph), else uploads of b.x / b.y.
Tensor batch_images(const data::Batch& b, Device device);
Tensor batch_labels(const data::Batch& b, Device device);

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t images = 0;
};
EvalResult evaluate(models::Model& model, const data::Dataset& d, const data::Normalize& norm,
                    int64_t batch_size, Device device);

// The supervised step body of the epoch loop (senet/epoch_loop.h): logits, L = CE(logits, y), one
// term "ce". The teacher's training and stage 1 run it.
StepOut cross_entropy_step(models::Model& model, const data::Batch& b, Device device);

// Stops a run with a message naming the step and the first non-finite value (loss or gradient).
// On CUDA one copy to the host of 1 + P sums (each gradient's sum: non-finite iff the gradient
// is), not P gradients: the per-step check of runs on several ranks.
void check_finite(const Tensor& loss, models::Model& model, const std::string& where);

// The run's device (cfg.device), made ready: for cuda, the binary's CUDA glue is brought up
// (engine/cuda/cuda_ops.h) and an error says so when this build or process has none; the CUDA
// convolutions then use TF32 tensor cores when cfg.allow_tf32.
Device activate_device(const RunConfig& cfg);
void apply_threads(int threads);

struct TrainResult {
  EvalResult val, test;
  int epochs_run = 0;
  bool stopped = false;  // stop_after_epochs ended it before the last epoch (no test evaluation)
  double seconds = 0, images_per_second = 0;
};

// Train `model` per cfg.train on cfg's data; checkpoints and metrics under cfg.out_dir.
// resume: continue from out_dir/last.safetensors when it exists. stop_after_epochs ≥ 0 ends this
// call after that many epochs, as an interrupted run would (tests, time-sliced jobs).
TrainResult train_supervised(const RunConfig& cfg, models::Model& model, bool resume,
                             int stop_after_epochs = -1);

}  // namespace senet
