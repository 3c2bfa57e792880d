// engine/ops/kd_loss.cpp — forward and backward of the distillation loss, side by side.
// Saved for backward: p^S and p^T (B×K each).
#include "engine/ops/kd_loss.h"

#include <cmath>

#include "engine/core/autograd.h"
#include "engine/cpu/softmax.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor kd_loss(const Tensor& student, const Tensor& teacher, float T) {
  check_ndim("kd_loss", student, 2, "student logits (B×K)");
  check_dtype("kd_loss", student, DType::F32, "student logits");
  check_dtype("kd_loss", teacher, DType::F32, "teacher logits");
  check_same_shape("kd_loss", student, teacher);
  check_same_device("kd_loss", student, teacher);
  SENET_CHECK(std::isfinite(T) && T > 0, "kd_loss: temperature must be positive, got ", T);
  const bool on_cuda = use_cuda("kd_loss", {&student, &teacher});
  const int64_t B = student.size(0), K = student.size(1);
  SENET_CHECK(B > 0 && K > 0, "kd_loss: empty logits ", student.shape());
  const Device d = student.device();
  Tensor ps = Tensor::empty({B, K}, DType::F32, d), pt = Tensor::empty({B, K}, DType::F32, d);
  Tensor y;
  if (on_cuda) {
    y = Tensor::empty({}, DType::F32, Device::CUDA);
    cuda().kd_forward(student.data<float>(), teacher.data<float>(), B, K, T, ps.data<float>(),
                      pt.data<float>(), y.data<float>());
  } else {
    const double loss = cpu::kd_forward(student.data<float>(), teacher.data<float>(), B, K, T,
                                        ps.data<float>(), pt.data<float>());
    y = Tensor::scalar(float(loss));
  }

  // backward: dz_S = dL · (T/B)(p^S − p^T); the teacher is not an input of the node.
  if (needs_grad({&student})) {
    record("kd_loss", {student}, y,
           [ps, pt, T, B, K, on_cuda](const Tensor& dL) -> std::vector<Tensor> {
             Tensor dz = Tensor::empty({B, K}, DType::F32, ps.device());
             if (on_cuda) {
               const LossGrad g = loss_grad(dL);
               cuda().kd_backward(ps.data<float>(), pt.data<float>(), B, K, T, g.device, g.scale,
                                  dz.data<float>());
             } else {
               cpu::kd_backward(ps.data<float>(), pt.data<float>(), B, K, T, dL.item(),
                                dz.data<float>());
             }
             return {dz};
           });
  }
  return y;
}

}  // namespace senet
