// engine/ops/bn_act.cpp — fused BN → add → (masked) ReLU: forward and backward side by side.
#include "engine/ops/bn_act.h"

#include "engine/core/autograd.h"
#include "engine/cpu/batchnorm.h"
#include "engine/ops/dispatch.h"

namespace senet {

Tensor bn_act(const Tensor& y, const Tensor& residual, const Tensor& gamma, const Tensor& beta,
              BatchNormState& st, bool training, Act act, const Tensor& mask) {
  batchnorm_check("bn_act", y, gamma, beta, st);
  if (residual.defined()) {
    check_same_shape("bn_act", y, residual);
    check_same_device("bn_act", y, residual);
    check_dtype("bn_act", residual, DType::F32, "residual");
  }
  require_cpu("bn_act", {&y, &residual, &gamma, &beta, &mask, &st.running_mean});
  std::vector<uint8_t> expanded;
  const uint8_t* m = act == Act::MaskedReLU ? mask_per_element("bn_act", y, mask, expanded) : nullptr;

  const int64_t N = y.size(0), C = y.size(1), HW = y.numel() / (N * C), n = y.numel();
  std::vector<float> mean(static_cast<size_t>(C)), var(static_cast<size_t>(C));
  if (training) cpu::bn_stats(y.data<float>(), N, C, HW, mean.data(), var.data());
  std::shared_ptr<BnStats> s = batchnorm_finalize(st, mean.data(), var.data(), N * HW, training);

  const bool grad = needs_grad({&y, &residual, &gamma, &beta});
  const bool has_act = act != Act::None;
  PassBits bits = grad && has_act ? make_pass_bits(n) : nullptr;
  Tensor a = Tensor::empty_like(y);
  cpu::BnAct p{N, C, HW, s->mean.data(), s->invstd.data(), gamma.data<float>(), beta.data<float>(),
               has_act, m};
  cpu::bn_act_forward(p, y.data<float>(), residual.defined() ? residual.data<float>() : nullptr,
                      a.data<float>(), bits ? bits->data() : nullptr);

  // Backward: dz = da ⊙ p; dr = dz; dβ = Σdz; dγ = Σdz·x̂; dy = (γ/σ)(dz − dβ/M − x̂·dγ/M).
  if (grad) {
    const bool need_r = residual.defined() && residual.requires_grad();
    Tensor sy = y.detach(), sg = gamma.detach();
    record("bn_act", {y, residual, gamma, beta}, a,
           [sy, sg, s, bits, N, C, HW, training, need_r](const Tensor& da) -> std::vector<Tensor> {
             Tensor dy = Tensor::empty_like(sy), dgamma = Tensor::empty({C}), dbeta = Tensor::empty({C});
             Tensor dr = need_r ? Tensor::empty_like(sy) : Tensor();
             const uint64_t* b = bits ? bits->data() : nullptr;
             cpu::BnAct p{N, C, HW, s->mean.data(), s->invstd.data(), sg.data<float>(), nullptr};
             cpu::bn_act_grad_reduce(p, da.data<float>(), b, sy.data<float>(), dgamma.data<float>(),
                                     dbeta.data<float>());
             cpu::bn_act_backward(p, da.data<float>(), b, sy.data<float>(), dgamma.data<float>(),
                                  dbeta.data<float>(), training, dy.data<float>(),
                                  need_r ? dr.data<float>() : nullptr);
             return {dy, dr, dgamma, dbeta};
           });
  }
  return a;
}

}  // namespace senet
