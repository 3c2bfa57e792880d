// engine/nn/module.h — a Module owns named parameters, buffers and child modules, like PyTorch's
// nn.Module: names compose with dots ("layer1.0.conv1.weight") so checkpoints, optimizers and
// reports refer to tensors by the same name. A layer registers pointers to its own Tensor members,
// so modules are non-copyable and live behind shared_ptr.
//   parameters: learnable leaves (requires_grad)   buffers: running stats, ReLU masks (no grad)
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace senet::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Full names (prefix + own path) of every parameter / buffer of this module and its children.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Parameters and buffers by address: loading a checkpoint or moving to a device replaces them.
  std::vector<std::pair<std::string, Tensor*>> named_tensors();
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void to(Device device);  // moves every parameter and buffer
  Device device() const { return device_; }
  void zero_grad();

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  // Public so that a model can attach parts it builds (e.g. its ReLU sites) to a child block.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor* t);  // makes *t a grad leaf
  Tensor& register_buffer(const std::string& name, Tensor* t);

 private:
  void collect(const std::string& prefix, bool params, bool buffers,
               std::vector<std::pair<std::string, Tensor*>>& out) const;
  std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Device device_ = Device::CPU;
};

}  // namespace senet::nn
