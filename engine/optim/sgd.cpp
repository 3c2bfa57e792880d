// engine/optim/sgd.cpp — see sgd.h; the element-wise update is cpu::sgd_update, or the table's
// sgd_update kernel for CUDA parameters (engine/cuda/cuda_ops.h).
#include "engine/optim/sgd.h"

#include <cmath>

#include "engine/cpu/optim_update.h"
#include "engine/cuda/cuda_ops.h"

namespace senet {

static std::vector<std::string> sgd_buffers(float momentum) {
  if (momentum != 0.f) return {"momentum_buffer"};
  return {};
}

SGD::SGD(std::vector<ParamRef> params, float lr, float momentum, float weight_decay, bool nesterov,
         float dampening)
    : Optimizer(std::move(params), lr, weight_decay, sgd_buffers(momentum)),
      momentum_(momentum),
      dampening_(dampening),
      nesterov_(nesterov) {
  SENET_CHECK(std::isfinite(momentum) && momentum >= 0, "SGD: momentum must be ≥ 0, got ",
              momentum);
  SENET_CHECK(std::isfinite(dampening), "SGD: dampening must be finite, got ", dampening);
  SENET_CHECK(!nesterov || (momentum > 0 && dampening == 0),
              "SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum ",
              momentum, ", dampening ", dampening);
}

void SGD::step() {
  for_each_update("SGD", [&](Slot& s) {
    cpu::SgdUpdate u;
    u.lr = lr_;
    u.momentum = momentum_;
    u.dampening = dampening_;
    u.weight_decay = s.weight_decay;
    u.nesterov = nesterov_;
    u.first = s.step == 1;
    float* buf = s.buffers.empty() ? nullptr : s.buffers[0].data<float>();
    if (s.ref.param.is_cuda())
      cuda_ops()->sgd_update(s.ref.param.data<float>(), s.ref.param.grad().data<float>(), buf,
                             s.ref.param.numel(), u);
    else
      cpu::sgd_update(s.ref.param.data<float>(), s.ref.param.grad().data<float>(), buf,
                      s.ref.param.numel(), u);
  });
}

}  // namespace senet
