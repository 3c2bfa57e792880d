// engine/optim/optimizer.cpp — see optimizer.h.
#include "engine/optim/optimizer.h"

#include <cmath>
#include <map>
#include <set>

#include "engine/core/autograd.h"
#include "engine/cuda/cuda_ops.h"

namespace senet {

Optimizer::~Optimizer() = default;

Optimizer::Optimizer(std::vector<ParamRef> params, float lr, float weight_decay,
                     std::vector<std::string> buffer_names)
    : buffer_names_(std::move(buffer_names)) {
  set_lr(lr);
  SENET_CHECK(std::isfinite(weight_decay) && weight_decay >= 0,
              "optimizer: weight decay must be ≥ 0, got ", weight_decay);
  std::set<std::string> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    ParamRef& p = params[i];
    SENET_CHECK(p.param.defined(), "optimizer: parameter ", i, " ('", p.name, "') is undefined");
    if (p.name.empty()) p.name = p.param.name();
    SENET_CHECK(!p.name.empty(), "optimizer: parameter ", i, " ", p.param.shape(), " has no name");
    SENET_CHECK(seen.insert(p.name).second, "optimizer: parameter name '", p.name,
                "' appears twice");
    SENET_CHECK(p.param.is_leaf(), "optimizer: parameter '", p.name, "' ", p.param.shape(),
                " is not a leaf tensor");
    check_dtype("optimizer", p.param, DType::F32, "parameter");
    Slot s{p, weight_decay, 0, {}};
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      s.buffers.push_back(Tensor::zeros(p.param.shape(), DType::F32, p.param.device()));
    slots_.push_back(std::move(s));
  }
}

void Optimizer::zero_grad() {
  for (Slot& s : slots_) s.ref.param.zero_grad();
}

void Optimizer::set_lr(float lr) {
  SENET_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: learning rate must be ≥ 0, got ", lr);
  lr_ = lr;
}

int Optimizer::set_weight_decay_where(const std::function<bool(const ParamRef&)>& pred, float wd) {
  SENET_CHECK(std::isfinite(wd) && wd >= 0, "optimizer: weight decay must be ≥ 0, got ", wd);
  int n = 0;
  for (Slot& s : slots_)
    if (pred(s.ref)) {
      s.weight_decay = wd;
      ++n;
    }
  return n;
}

std::vector<ParamRef> Optimizer::params() const {
  std::vector<ParamRef> out;
  for (const Slot& s : slots_) out.push_back(s.ref);
  return out;
}

void Optimizer::for_each_update(const char* op, const std::function<void(Slot&)>& update) {
  NoGradGuard no_grad;
  for (Slot& s : slots_) {
    Tensor g = s.ref.param.grad();
    if (!g.defined()) continue;  // no gradient reached this parameter: skip it
    const Device d = s.ref.param.device();
    SENET_CHECK(d == Device::CPU || (d == Device::CUDA && cuda_ops() != nullptr), op,
                ": parameter '", s.ref.name, "' ", s.ref.param.shape(), " is on device '",
                device_name(d),
                "', but this process has no backend for that device (senet::cuda::init())");
    SENET_CHECK(g.device() == d, op, ": gradient of parameter '", s.ref.name, "' is on device '",
                device_name(g.device()), "', the parameter on '", device_name(d), "'");
    SENET_CHECK(g.shape() == s.ref.param.shape(), op, ": gradient ", g.shape(),
                " does not match parameter '", s.ref.name, "' ", s.ref.param.shape());
    ++s.step;
    update(s);
  }
  ++steps_;
  last_updated_.assign(slots_.size(), 0);
  for (size_t i = 0; i < slots_.size(); ++i)
    last_updated_[i] = slots_[i].ref.param.grad().defined();
}

// --- device scalars

void Optimizer::use_device_scalars(bool on) {
  device_scalars_on_ = false;
  if (!on) return;
  for (const Slot& s : slots_)
    SENET_CHECK(s.ref.param.is_cuda(), "optimizer: device scalars need every parameter on CUDA; '",
                s.ref.name, "' is on '", device_name(s.ref.param.device()), "'");
  if (!device_scalars_.defined()) device_scalars_ = Tensor::zeros({3}, DType::F32, Device::CUDA);
  device_scalars_on_ = true;
}

bool Optimizer::device_scalars_shared() const {
  for (const Slot& s : slots_)
    if (device_scalar_values(s) != device_scalar_values(slots_[0])) return false;
  return true;
}

std::vector<int64_t> Optimizer::step_counts() const {
  std::vector<int64_t> c;
  for (const Slot& s : slots_) c.push_back(s.step);
  c.push_back(steps_);
  return c;
}

void Optimizer::restore_step_counts(const std::vector<int64_t>& counts) {
  SENET_CHECK(counts.size() == slots_.size() + 1, "optimizer: ", counts.size(), " step counts for ",
              slots_.size(), " parameters");
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].step = counts[i];
  steps_ = counts.back();
}

void Optimizer::stage_device_scalars() {
  SENET_CHECK(device_scalars_on_, "optimizer: stage_device_scalars() with device scalars off");
  if (slots_.empty()) return;
  std::vector<float> v = device_scalar_values(slots_[0]);
  for (const Slot& s : slots_)
    SENET_CHECK(device_scalar_values(s) == v, "optimizer: parameter '", s.ref.name, "' (step ",
                s.step, ") and '", slots_[0].ref.name, "' (step ", slots_[0].step,
                ") need different scalars at the next step; device scalars hold one set");
  v.resize(3, 0.f);
  device_scalars_.copy_(Tensor::from_vector(v, {3}));  // asynchronous, pinned: no host wait
}

void Optimizer::replayed_step() {
  SENET_CHECK(last_updated_.size() == slots_.size(), "optimizer: replayed_step() before any step");
  for (size_t i = 0; i < slots_.size(); ++i)
    if (last_updated_[i]) ++slots_[i].step;
  ++steps_;
}

// --- checkpoint state

OptimizerState Optimizer::state() const {
  OptimizerState out;
  out.emplace_back("step", Tensor::from_vector_i32({int32_t(steps_)}, {}));
  for (const Slot& s : slots_) {
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      out.emplace_back(s.ref.name + "." + buffer_names_[b], s.buffers[b].clone());
    out.emplace_back(s.ref.name + ".step", Tensor::from_vector_i32({int32_t(s.step)}, {}));
  }
  return out;
}

static int64_t read_count(const std::string& key, const Tensor& t) {
  SENET_CHECK(t.numel() == 1 && (t.dtype() == DType::I32 || t.dtype() == DType::F32),
              "optimizer load_state: '", key, "' must be a single i32 or f32 count, got ", t);
  const double v = t.dtype() == DType::I32 ? double(t.to_vector_i32()[0]) : double(t.item());
  SENET_CHECK(v >= 0 && v == std::floor(v), "optimizer load_state: '", key,
              "' is not a non-negative integer count: ", v);
  return int64_t(v);
}

void Optimizer::load_state(const OptimizerState& state) {
  std::map<std::string, Tensor> given;
  for (const auto& [k, t] : state) {
    SENET_CHECK(t.defined(), "optimizer load_state: '", k, "' is an undefined tensor");
    SENET_CHECK(given.emplace(k, t).second, "optimizer load_state: key '", k, "' appears twice");
  }
  // Validate everything first, then copy: a failed load leaves the optimizer unchanged.
  std::set<std::string> expected{"step"};
  auto want = [&](const std::string& key) -> const Tensor& {
    auto it = given.find(key);
    SENET_CHECK(it != given.end(), "optimizer load_state: missing key '", key, "'");
    expected.insert(key);
    return it->second;
  };
  const int64_t steps = read_count("step", want("step"));
  std::vector<int64_t> counts;
  for (const Slot& s : slots_) {
    for (size_t b = 0; b < buffer_names_.size(); ++b) {
      const std::string key = s.ref.name + "." + buffer_names_[b];
      const Tensor& t = want(key);
      SENET_CHECK(t.shape() == s.ref.param.shape() && t.dtype() == DType::F32,
                  "optimizer load_state: '", key, "' is ", t, ", expected f32 ",
                  s.ref.param.shape());
    }
    counts.push_back(read_count(s.ref.name + ".step", want(s.ref.name + ".step")));
  }
  for (const auto& [k, t] : given)
    SENET_CHECK(expected.count(k), "optimizer load_state: unexpected key '", k, "' (", t, ")");

  steps_ = steps;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    for (size_t b = 0; b < buffer_names_.size(); ++b)
      s.buffers[b].copy_(given.at(s.ref.name + "." + buffer_names_[b]));
    s.step = counts[i];
  }
}

}  // namespace senet
