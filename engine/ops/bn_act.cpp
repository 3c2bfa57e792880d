// engine/ops/bn_act.cpp — fused BN → add → (masked) ReLU: forward and backward side by side.
#include "engine/ops/bn_act.h"

#include "engine/core/autograd.h"
#include "engine/cpu/batchnorm.h"
#include "engine/dist/comm.h"
#include "engine/dist/sync_bn.h"
#include "engine/ops/batchnorm.h"
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
  if (use_cuda("bn_act", {&y, &residual, &gamma, &beta, &mask, &st.running_mean, &st.running_var}))
    return bn_act_cuda("bn_act", y, residual, gamma, beta, st, training, act, mask);
  std::vector<uint8_t> expanded;
  const uint8_t* m =
      act == Act::MaskedReLU ? mask_per_element("bn_act", y, mask, expanded) : nullptr;

  const int64_t N = y.size(0), C = y.size(1), HW = y.numel() / (N * C), n = y.numel();
  const BnForwardStats fs = batchnorm_statistics(y, st, training);
  const std::shared_ptr<BnStats> s = fs.stats;
  const int64_t M = fs.M;
  const bool sync = fs.sync;

  const bool grad = needs_grad({&y, &residual, &gamma, &beta});
  const bool has_act = act != Act::None;
  PassBits bits = grad && has_act ? make_pass_bits(n) : nullptr;
  Tensor a = Tensor::empty_like(y);
  cpu::BnAct p{
      N, C, HW, s->mean.data(), s->invstd.data(), gamma.data<float>(), beta.data<float>(), act, m};
  cpu::bn_act_forward(p, y.data<float>(), residual.defined() ? residual.data<float>() : nullptr,
                      a.data<float>(), bits ? bits->data() : nullptr);

  // Backward: dz = da ⊙ p; dr = dz; dβ = Σdz; dγ = Σdz·x̂; dy = (γ/σ)(dz − dβ/M − x̂·dγ/M).
  if (grad) {
    const bool need_r = residual.defined() && residual.requires_grad();
    Tensor sy = y.detach(), sg = gamma.detach();
    record("bn_act", {y, residual, gamma, beta}, a,
           [sy, sg, s, bits, N, C, HW, M, sync, training,
            need_r](const Tensor& da) -> std::vector<Tensor> {
             Tensor dy = Tensor::empty_like(sy), dgamma = Tensor::empty({C}),
                    dbeta = Tensor::empty({C});
             Tensor dr = need_r ? Tensor::empty_like(sy) : Tensor();
             const uint64_t* b = bits ? bits->data() : nullptr;
             cpu::BnAct p{N, C, HW, s->mean.data(), s->invstd.data(), sg.data<float>(), nullptr};
             p.count = M;
             cpu::bn_act_grad_reduce(p, da.data<float>(), b, sy.data<float>(), dgamma.data<float>(),
                                     dbeta.data<float>());
             std::vector<float> whole;
             const BnDxSums sums = bn_dx_sums(dgamma, dbeta, sync, whole);
             cpu::bn_act_backward(p, da.data<float>(), b, sy.data<float>(), sums.dgamma, sums.dbeta,
                                  training, dy.data<float>(), need_r ? dr.data<float>() : nullptr);
             return {dy, dr, dgamma, dbeta};
           });
  }
  return a;
}

void set_cuda_bn_sync(CudaBnAct& p) {
  p.sync = p.training && dist::bn_synchronised();
  p.count = p.sync ? p.N * p.HW * dist::world_size() : 0;
}

Tensor bn_act_cuda(const char* op, const Tensor& y, const Tensor& residual, const Tensor& gamma,
                   const Tensor& beta, BatchNormState& st, bool training, Act act,
                   const Tensor& mask) {
  const bool per_channel = act == Act::MaskedReLU && check_mask(op, y, mask);
  CudaBnAct p;
  p.N = y.size(0), p.C = y.size(1), p.HW = y.numel() / (p.N * p.C);
  p.eps = st.eps, p.momentum = st.momentum, p.training = training;
  p.act = act, p.mask_per_channel = per_channel;
  set_cuda_bn_sync(p);
  const bool grad = needs_grad({&y, &residual, &gamma, &beta});
  Tensor bits = grad && act != Act::None ? cuda_pass_bits(y.numel()) : Tensor();
  Tensor a = Tensor::empty_like(y);
  Tensor mean = Tensor::empty({p.C}, DType::F32, Device::CUDA);
  Tensor invstd = Tensor::empty({p.C}, DType::F32, Device::CUDA);
  bn_act_fwd_tensors t;
  t.gamma = gamma.data<float>(), t.beta = beta.data<float>();
  t.mask = act == Act::MaskedReLU ? mask.data<uint8_t>() : nullptr;
  t.running_mean = st.running_mean.data<float>(), t.running_var = st.running_var.data<float>();
  t.mean = mean.data<float>(), t.invstd = invstd.data<float>();
  t.a = a.data<float>(), t.bits = bits_ptr(bits), t.residual = ptr_or_null<float>(residual);
  cuda().bn_act_forward(p, y.data<float>(), t);
  if (grad) {
    const bool need_r = residual.defined() && residual.requires_grad();
    Tensor sy = y.detach(), sg = gamma.detach();
    record(op, {y, residual, gamma, beta}, a,
           [p, sy, sg, mean, invstd, bits, need_r](const Tensor& da) -> std::vector<Tensor> {
             Tensor dy = Tensor::empty_like(sy);
             Tensor dgamma = Tensor::empty({p.C}, DType::F32, Device::CUDA);
             Tensor dbeta = Tensor::empty({p.C}, DType::F32, Device::CUDA);
             Tensor dr = need_r ? Tensor::empty_like(sy) : Tensor();
             mrelu_bn_bwd_tensors bt;
             bt.da = da.data<float>(), bt.bits = bits_ptr(bits), bt.y = sy.data<float>();
             bt.mean = mean.data<float>(), bt.invstd = invstd.data<float>();
             bt.gamma = sg.data<float>(), bt.dy = dy.data<float>();
             bt.dresidual = ptr_or_null<float>(dr);
             bt.dgamma = dgamma.data<float>(), bt.dbeta = dbeta.data<float>();
             cuda().bn_act_backward(p, bt);
             return {dy, dr, dgamma, dbeta};
           });
  }
  return a;
}

}  // namespace senet
