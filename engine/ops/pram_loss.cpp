// engine/ops/pram_loss.cpp — forward and backward of PRAM, side by side.
// Saved for backward: A_S, q̂^S, ‖q^S‖ per sample, q̂^T.
#include "engine/ops/pram_loss.h"

#include "engine/core/autograd.h"
#include "engine/cpu/pram.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor pram_loss(const Tensor& a_student, const Tensor& a_teacher) {
  check_ndim("pram_loss", a_student, 4, "student activations (B×C×H×W)");
  check_dtype("pram_loss", a_student, DType::F32, "student activations");
  check_dtype("pram_loss", a_teacher, DType::F32, "teacher activations");
  check_same_shape("pram_loss", a_student, a_teacher);
  check_same_device("pram_loss", a_student, a_teacher);
  const bool on_cuda = use_cuda("pram_loss", {&a_student, &a_teacher});
  const int64_t B = a_student.size(0), C = a_student.size(1);
  const int64_t HW = a_student.size(2) * a_student.size(3);
  SENET_CHECK(B > 0 && C > 0 && HW > 0, "pram_loss: empty activations ", a_student.shape());
  const Device d = a_student.device();
  Tensor qs = Tensor::empty({B, HW}, DType::F32, d), qt = Tensor::empty({B, HW}, DType::F32, d);
  Tensor ns = Tensor::empty({B}, DType::F32, d), nt = Tensor::empty({B}, DType::F32, d);
  Tensor y;
  if (on_cuda) {
    y = Tensor::empty({}, DType::F32, Device::CUDA);
    cuda().pram_forward(a_student.data<float>(), a_teacher.data<float>(), B, C, HW,
                        qs.data<float>(), qt.data<float>(), ns.data<float>(), nt.data<float>(),
                        y.data<float>());
  } else {
    cpu::pram_attention(a_student.data<float>(), qs.data<float>(), ns.data<float>(), B, C, HW);
    cpu::pram_attention(a_teacher.data<float>(), qt.data<float>(), nt.data<float>(), B, C, HW);
    y = Tensor::scalar(float(cpu::pram_distance(qs.data<float>(), qt.data<float>(), B, HW)));
  }

  // backward: u = dL·2(q̂S − q̂T)/(B·HW);  dq = (u − q̂(q̂·u))/‖q‖;  dA = dq · 2A/C
  if (needs_grad({&a_student})) {
    Tensor as = a_student.detach();
    record("pram_loss", {a_student}, y,
           [as, qs, ns, qt, B, C, HW, on_cuda](const Tensor& dL) -> std::vector<Tensor> {
             Tensor dA = Tensor::empty(as.shape(), DType::F32, as.device());
             if (on_cuda) {
               const LossGrad g = loss_grad(dL);
               cuda().pram_backward(as.data<float>(), qs.data<float>(), ns.data<float>(),
                                    qt.data<float>(), B, C, HW, g.device, g.scale,
                                    dA.data<float>());
             } else {
               cpu::pram_backward(as.data<float>(), qs.data<float>(), ns.data<float>(),
                                  qt.data<float>(), B, C, HW, dL.item(), dA.data<float>());
             }
             return {dA};
           });
  }
  return y;
}

}  // namespace senet
