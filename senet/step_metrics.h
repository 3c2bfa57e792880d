// senet/step_metrics.h — the epoch loop's per-step bookkeeping kept on the device (issue 16, item 4):
// Σ L·n, Σ term·n, the correct count, and the finite check of the loss and of every gradient, for
// a CUDA run on one process. The host reads them once every `every` steps (flush), so a
// steady-state step makes no device→host copy and no synchronisation (the emulator counts them:
// tests/cuda_backend/test_cuda_backend_train.cpp).
// The finite check is as strict as the per-step one (senet/trainer.h check_finite), only later:
// each pending step has a row [Σ L, Σ ∇θ₁, …, Σ ∇θ_P] (a sum over floats in double is non-finite
// iff one of its elements is, or it is beyond float range). After each step the rows so far go to
// page-locked host memory on the stream (engine/ops/async_readback.h); the next step, once its own
// work is enqueued, looks at them if they have landed — never waiting — and stops at the FIRST bad
// row, naming its step and tensor. So a bad step is caught one step later while the host keeps at
// most a step ahead of the device; if it runs further ahead the check waits for the copy to land
// (polled each step) or for the flush, which reads every row again. The optimizer has by then
// taken a step (up to every − 1 at worst) with poisoned weights, which nothing saves: checkpoints
// are written after an epoch's final flush.
// The CPU backend and runs on several ranks (whose per-step checks are collectives) keep the
// per-step host reads (EpochLoop::run).
// A step in two halves, for a step recorded as a CUDA graph (senet/epoch_loop.h): record() is the
// device work (into fixed tensors: the running sums and a staging row), commit() the host's part
// (copy the staging row to the step's row — a device-to-device copy — and remember `where`), run
// after each replay; it also polls the last readback and enqueues the next). add() = record() +
// commit().
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/ops/async_readback.h"
#include "models/model.h"
#include "senet/epoch_loop.h"

namespace senet {

class StepMetrics {
 public:
  static constexpr int kDefaultEvery = 16;  // steps between reads (and progress-bar updates)

  StepMetrics(models::Model& model, Device device, int every = kDefaultEvery);
  // Whether add(out) can join the pending steps (its terms are the pending steps' terms).
  bool accepts(const StepOut& out) const;
  // Enqueues the step's sums on the device; `where` names the step in errors.
  void add(const StepOut& out, int64_t n, const std::string& where);
  // The device half of add(). Inside a graph recording it must not start a window with new terms
  // (that allocates and zeroes): add() a step with the same terms first.
  void record(const StepOut& out, int64_t n);
  bool ready_for(const StepOut& out) const;  // record(out) would make no new window
  void commit(const std::string& where);     // the host half (may fail: a landed bad row)
  bool due() const { return pending_ >= every_; }
  int pending() const { return pending_; }
  // Reads the pending steps (three copies to the host): fails naming the first non-finite step and
  // tensor; else adds Σ L·n, Σ term·n and the correct count into st and starts a new window.
  void flush(EpochStats& st);

 private:
  void start_window(const StepOut& out);
  // Fails naming the first non-finite row among rows [from, to) of `rows` (row-major, 1 + P wide).
  void check_rows(const float* rows, int from, int to) const;
  // The landed readback's rows not yet checked (none if it has not landed); then the rows so far
  // are enqueued again if no copy is in flight.
  void poll_readback();

  std::vector<std::string> param_names_;
  std::vector<Tensor> params_;
  std::vector<std::string> term_names_;
  Device device_;
  int every_;
  int pending_ = 0;
  Tensor sums_;     // F32 [1 + terms]: Σ L·n, Σ term·n over the pending steps
  Tensor correct_;  // I32 [1]
  Tensor probe_;    // F32 [every, 1 + P]: per pending step, Σ L and Σ of each gradient
  Tensor staging_;  // F32 [1 + P]: the last recorded step's row
  std::vector<std::string> where_;
  std::unique_ptr<AsyncReadback> readback_;  // CUDA: the probe rows, one copy in flight at most
  int64_t window_ = 0;                       // flushes so far: a landed copy of an older window
  int64_t readback_window_ = -1;             // is stale (flush checked its rows already)
  int readback_rows_ = 0;                    // rows in the copy in flight
  int checked_ = 0;                          // rows of this window checked already
};

}  // namespace senet
