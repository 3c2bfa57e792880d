// engine/ops/cross_entropy.cpp — forward and backward of softmax cross-entropy, side by side.
// Saved for backward: p = softmax(z) (N×K) and the labels.
#include "engine/ops/cross_entropy.h"

#include "engine/core/autograd.h"
#include "engine/cpu/softmax.h"
#include "engine/ops/check_labels.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                             const std::vector<int32_t>* host_labels) {
  check_labels("softmax_cross_entropy", logits, labels);
  if (host_labels)
    check_label_values("softmax_cross_entropy", logits, host_labels->data(),
                       int64_t(host_labels->size()));
  const bool on_cuda = use_cuda("softmax_cross_entropy", {&logits, &labels});
  const int64_t N = logits.size(0), K = logits.size(1);
  SENET_CHECK(N > 0, "softmax_cross_entropy: empty batch, logits ", logits.shape());
  Tensor p = Tensor::empty({N, K}, DType::F32, logits.device());
  Tensor y;
  if (on_cuda) {  // the kernel flags bad labels, unless the host copy was checked above
    y = Tensor::empty({}, DType::F32, Device::CUDA);
    const int64_t bad =
        cuda().softmax_xent_forward(logits.data<float>(), labels.data<int32_t>(), N, K,
                                    p.data<float>(), y.data<float>(), host_labels == nullptr);
    if (bad >= 0)
      fail("softmax_cross_entropy: label at index ", bad, " is ",
           labels.slice(bad, bad + 1).to_vector_i32()[0], ", outside [0, ", K, ") for logits ",
           logits.shape());
  } else {
    const double loss = cpu::cross_entropy_forward(logits.data<float>(), labels.data<int32_t>(),
                                                   p.data<float>(), N, K);
    y = Tensor::scalar(float(loss));
  }

  // backward: dz = dL · (p − onehot(y)) / N
  if (needs_grad({&logits})) {
    Tensor sy = labels.clone();  // a copy: loaders may reuse the batch buffer before backward
    record("softmax_cross_entropy", {logits}, y,
           [p, sy, N, K, on_cuda](const Tensor& dL) -> std::vector<Tensor> {
             Tensor dz = Tensor::empty({N, K}, DType::F32, p.device());
             if (on_cuda) {
               const LossGrad g = loss_grad(dL);
               cuda().softmax_xent_backward(p.data<float>(), sy.data<int32_t>(), N, K, g.device,
                                            g.scale, dz.data<float>());
             } else {
               cpu::cross_entropy_backward(p.data<float>(), sy.data<int32_t>(), dL.item(),
                                           dz.data<float>(), N, K);
             }
             return {dz};
           });
  }
  return y;
}

}  // namespace senet
