// engine/optim/sgd.cpp — see sgd.h; the element-wise update is cpu::sgd_update per CPU parameter;
// all CUDA parameters go to the table's sgd_update_multi at once (one launch per 64 tensors,
// engine/cuda/cuda_ops.h).
#include "engine/optim/sgd.h"

#include <cmath>
#include <vector>

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
  cpu::SgdUpdate u;  // the scalars every tensor shares
  u.lr = lr_;
  u.momentum = momentum_;
  u.dampening = dampening_;
  u.nesterov = nesterov_;
  std::vector<CudaOptimTensor> on_device;  // updated together after the loop, in one launch
  for_each_update("SGD", [&](Slot& s) {
    float* buf = s.buffers.empty() ? nullptr : s.buffers[0].data<float>();
    Tensor& p = s.ref.param;
    if (p.is_cuda()) {
      CudaOptimTensor t;
      t.p = p.data<float>(), t.g = p.grad().data<float>(), t.s0 = buf, t.n = p.numel();
      t.weight_decay = s.weight_decay, t.first = s.step == 1;
      // A recorded first step would replay `buf = d` every time.
      SENET_CHECK(!(t.first && buf && device_scalars()), "SGD: parameter '", s.ref.name,
                  "' takes its first step with device scalars on (a CUDA graph would replay the "
                  "momentum buffer's initialisation): take one step without them first");
      on_device.push_back(t);
      return;
    }
    cpu::SgdUpdate c = u;
    c.weight_decay = s.weight_decay;
    c.first = s.step == 1;
    cpu::sgd_update(p.data<float>(), p.grad().data<float>(), buf, p.numel(), c);
  });
  if (!on_device.empty())
    cuda_ops()->sgd_update_multi(on_device.data(), on_device.size(), u, device_scalars());
}

}  // namespace senet
