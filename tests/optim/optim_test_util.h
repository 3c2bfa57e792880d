// tests/optim/optim_test_util.h — helpers shared by the optimizer tests: set a parameter's .grad
// directly (the optimizers only read it), and run a fixed gradient sequence.
#pragma once
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/optim/optimizer.h"

namespace senet::test {

inline void set_grad(const Tensor& p, const std::vector<float>& g) {
  p.impl().grad = Tensor::from_vector(g, p.shape()).impl_ptr();
}

inline Tensor param(const std::vector<float>& v, const std::string& name) {
  Tensor t = Tensor::from_vector(v, {int64_t(v.size())});
  t.set_requires_grad(true).set_name(name);
  return t;
}

// The 3-step gradient sequence of the hand-computed tests: g = 0.5, −0.25, 1.0 (from p = 1).
inline std::vector<float> run_three_steps(Optimizer& opt, const Tensor& p) {
  std::vector<float> out;
  for (float g : {0.5f, -0.25f, 1.0f}) {
    set_grad(p, {g});
    opt.step();
    out.push_back(p.to_vector()[0]);
  }
  return out;
}

}  // namespace senet::test
