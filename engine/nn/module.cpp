// engine/nn/module.cpp — name composition and recursive traversal of modules.
#include "engine/nn/module.h"

namespace senet::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor* t) {
  SENET_CHECK(t->defined(), "register_parameter: '", name, "' is undefined");
  t->set_requires_grad(true);
  params_.emplace_back(name, t);
  return *t;
}

Tensor& Module::register_buffer(const std::string& name, Tensor* t) {
  buffers_.emplace_back(name, t);
  return *t;
}

void Module::collect(const std::string& prefix, bool params, bool buffers,
                     std::vector<std::pair<std::string, Tensor*>>& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_)
      if (t->defined()) out.emplace_back(prefix + n, t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor*>> ptrs;
  collect("", true, false, ptrs);
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [n, t] : ptrs) out.emplace_back(n, *t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor*>> ptrs;
  collect("", false, true, ptrs);
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [n, t] : ptrs) out.emplace_back(n, *t);
  return out;
}

std::vector<std::pair<std::string, Tensor*>> Module::named_tensors() {
  std::vector<std::pair<std::string, Tensor*>> out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

void Module::to(Device device) {
  for (auto& [name, t] : named_tensors()) {
    if (t->device() == device) continue;
    bool rg = t->impl().requires_grad;
    Tensor moved = t->to(device);
    if (rg) moved.set_requires_grad(true);
    *t = moved;
  }
  std::vector<Module*> stack{this};
  while (!stack.empty()) {
    Module* m = stack.back();
    stack.pop_back();
    m->device_ = device;
    for (auto& [n, c] : m->children_) stack.push_back(c.get());
  }
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

}  // namespace senet::nn
