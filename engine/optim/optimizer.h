// engine/optim/optimizer.h — the optimizer interface: named parameters, per-parameter weight decay,
// learning rate, and named state tensors for checkpoints.
// Each parameter may own a few state buffers of its shape (SGD: "momentum_buffer"; Adam: "exp_avg",
// "exp_avg_sq"), allocated (zeros) at construction, and a step count: how many updates it has had
// (parameters whose .grad is undefined at a step are skipped and their count does not advance,
// as in PyTorch). state() names them "<param>.<buffer>", "<param>.step", plus "step" = the number
// of step() calls. load_state() wants exactly that set of keys with the same shapes (anything
// missing, extra or mis-shaped → senet::Error naming the key) and copies the values in place.
// Weight decay: every parameter starts with the optimizer's value; set_weight_decay_where() changes
// it for the parameters a predicate selects (e.g. is_norm_or_bias: BN γ/β and biases → 0).
// CUDA graphs (engine/cuda/graph.h): a step() recorded in a graph replays its kernels, not its host
// code, and its kernels' by-value arguments are frozen. With device scalars on, step() hands the
// CUDA kernels a device tensor holding this step's η (Adam: η, 1 − β₁ᵗ, 1 − β₂ᵗ), which
// stage_device_scalars() refills from the host before every step, recorded or replayed (an
// asynchronous upload: the host does not wait; the copy waits for the work already enqueued);
// after each replay, replayed_step() does the step counting the recorded host code would have
// done. PyTorch's `capturable=True` optimizers do the same.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace senet {

struct ParamRef {
  std::string name;  // unique, e.g. "layer1.0.conv1.weight" (empty: the tensor's own name)
  Tensor param;      // a leaf tensor that receives .grad
};

using OptimizerState = std::vector<std::pair<std::string, Tensor>>;

// The usual no-decay set: parameters with at most one dimension (BatchNorm γ, β and biases).
inline bool is_norm_or_bias(const ParamRef& p) { return p.param.ndim() <= 1; }

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  void zero_grad();  // drops every parameter's .grad (PyTorch's set_to_none)
  void set_lr(float lr);
  float lr() const { return lr_; }

  // Weight decay `wd` for every parameter `pred` selects; returns how many it selected.
  int set_weight_decay_where(const std::function<bool(const ParamRef&)>& pred, float wd);
  float weight_decay_of(size_t i) const { return slots_.at(i).weight_decay; }

  std::vector<ParamRef> params() const;
  int64_t steps() const { return steps_; }  // number of step() calls

  virtual OptimizerState state() const;
  virtual void load_state(const OptimizerState& state);

  // --- device scalars (CUDA graphs; see the header). use_device_scalars(true) needs every
  // parameter on CUDA; stage_device_scalars() fails if the next step's scalars differ between
  // parameters (Adam: parameters at different step counts).
  // Off and on again: the same device tensor (a graph recorded with it keeps reading it).
  void use_device_scalars(bool on);
  bool device_scalars_on() const { return device_scalars_on_; }
  void stage_device_scalars();
  // The bookkeeping of a replayed step: the step counts of the parameters the recorded step
  // updated, and steps().
  void replayed_step();
  // Whether the next step's device scalars are one set for every parameter (Adam: one step count).
  bool device_scalars_shared() const;
  // Every parameter's step count, then steps(): to undo the counting of a step whose device work
  // never ran (a recording that failed).
  std::vector<int64_t> step_counts() const;
  void restore_step_counts(const std::vector<int64_t>& counts);

 protected:
  // `buffer_names`: the per-parameter state each parameter gets (zeros of its shape).
  Optimizer(std::vector<ParamRef> params, float lr, float weight_decay,
            std::vector<std::string> buffer_names);

  struct Slot {
    ParamRef ref;
    float weight_decay = 0;
    int64_t step = 0;             // updates this parameter has received
    std::vector<Tensor> buffers;  // one per buffer name
  };
  // Calls update(slot) for every parameter with a gradient (under NoGradGuard, after checks),
  // advancing the slot's step count before the call; then advances steps_.
  void for_each_update(const char* op, const std::function<void(Slot&)>& update);
  // The device scalars of the next step of `s` (SGD: {η}; Adam: {η, bc1, bc2}).
  virtual std::vector<float> device_scalar_values(const Slot& s) const = 0;
  // What step() passes to the CUDA kernels: the device scalars, or null when off.
  const float* device_scalars() const {
    return device_scalars_on_ ? device_scalars_.read<float>() : nullptr;
  }

  std::vector<Slot> slots_;
  std::vector<std::string> buffer_names_;
  float lr_ = 0;
  int64_t steps_ = 0;
  Tensor device_scalars_;  // CUDA F32 [3], made by the first use_device_scalars(true)
  bool device_scalars_on_ = false;
  std::vector<char> last_updated_;  // which slots the last step() updated
};

}  // namespace senet
