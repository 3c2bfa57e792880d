// engine/ops/conv_bn_act_pair.cpp — see conv_bn_act_pair.h: forward and backward side by side.
#include "engine/ops/conv_bn_act_pair.h"

#include "engine/core/autograd.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/dispatch.h"

namespace senet {

namespace {

constexpr const char* kOp = "conv_bn_act_pair";

Tensor unfused(const Tensor& x, const ConvBnActLayer& l1, const ConvBnActLayer& l2, bool training,
               const Tensor& residual) {
  const Tensor a1 =
      conv_bn_act(x, l1.w, l1.gamma, l1.beta, *l1.st, training, l1.act, l1.mask, l1.stride, l1.pad);
  return conv_bn_act(a1, l2.w, l2.gamma, l2.beta, *l2.st, training, l2.act, l2.mask, l2.stride,
                     l2.pad, residual);
}

CudaBnAct bn_params(const cpu::Conv2dGeom& g, const ConvBnActLayer& l) {
  CudaBnAct p;
  p.N = g.N, p.C = g.K, p.HW = g.PQ();
  p.eps = l.st->eps, p.momentum = l.st->momentum, p.training = true, p.act = l.act;
  set_cuda_bn_sync(p);
  return p;
}

// A layer's forward tensors: its BN outputs in fresh CUDA tensors (mean, invstd, and scale, shift
// when the next layer's prologue needs them).
struct LayerOut {
  Tensor y, mean, invstd, scale, shift;
  LayerOut(const cpu::Conv2dGeom& g, bool affine)
      : y(Tensor::empty({g.N, g.K, g.P, g.Q}, DType::F32, Device::CUDA)),
        mean(Tensor::empty({g.K}, DType::F32, Device::CUDA)),
        invstd(Tensor::empty({g.K}, DType::F32, Device::CUDA)) {
    if (affine) {
      scale = Tensor::empty({g.K}, DType::F32, Device::CUDA);
      shift = Tensor::empty({g.K}, DType::F32, Device::CUDA);
    }
  }
};

conv_bn_mrelu_fwd_tensors fwd_tensors(const Tensor& x, const ConvBnActLayer& l, LayerOut& o,
                                      const uint8_t* mask) {
  conv_bn_mrelu_fwd_tensors t;
  t.x = x.data<float>(), t.w = l.w.data<float>(), t.gamma = l.gamma.data<float>();
  t.beta = l.beta.data<float>(), t.mask = mask;
  t.running_mean = l.st->running_mean.data<float>(),
  t.running_var = l.st->running_var.data<float>();
  t.y = o.y.data<float>(), t.mean = o.mean.data<float>(), t.invstd = o.invstd.data<float>();
  t.scale = ptr_or_null<float>(o.scale), t.shift = ptr_or_null<float>(o.shift);
  return t;
}

}  // namespace

Tensor conv_bn_act_pair(const Tensor& x, const ConvBnActLayer& l1, const ConvBnActLayer& l2,
                        bool training, const Tensor& residual) {
  SENET_CHECK(l1.st && l2.st, kOp, ": a layer without its BatchNorm state");
  const bool grad =
      needs_grad({&x, &l1.w, &l1.gamma, &l1.beta, &l2.w, &l2.gamma, &l2.beta, &residual});
  if (!training || !grad ||
      !use_cuda(kOp, {&x, &l1.w, &l1.gamma, &l1.beta, &l1.mask, &l1.st->running_mean,
                      &l1.st->running_var, &l2.w, &l2.gamma, &l2.beta, &l2.mask,
                      &l2.st->running_mean, &l2.st->running_var, &residual}))
    return unfused(x, l1, l2, training, residual);
  // Shapes and devices as the two calls would check them.
  const cpu::Conv2dGeom g1 = conv2d_check(kOp, x, l1.w, l1.stride, l1.pad);
  LayerOut o1(g1, /*affine=*/true);
  batchnorm_check(kOp, o1.y, l1.gamma, l1.beta, *l1.st);
  const cpu::Conv2dGeom g2 = conv2d_check(kOp, o1.y, l2.w, l2.stride, l2.pad);
  LayerOut o2(g2, /*affine=*/false);
  batchnorm_check(kOp, o2.y, l2.gamma, l2.beta, *l2.st);
  if (residual.defined()) {
    check_same_shape(kOp, o2.y, residual);
    check_dtype(kOp, residual, DType::F32, "residual");
  }
  CudaBnAct p1 = bn_params(g1, l1), p2 = bn_params(g2, l2);
  if (p1.sync || p2.sync) return unfused(x, l1, l2, training, residual);  // ranks: see the .h
  const Tensor a2 = Tensor::empty_like(o2.y);
  if (l1.act == Act::MaskedReLU) p1.mask_per_channel = check_mask(kOp, o1.y, l1.mask);
  if (l2.act == Act::MaskedReLU) p2.mask_per_channel = check_mask(kOp, a2, l2.mask);
  const uint8_t* m1 = l1.act == Act::MaskedReLU ? l1.mask.data<uint8_t>() : nullptr;
  const uint8_t* m2 = l2.act == Act::MaskedReLU ? l2.mask.data<uint8_t>() : nullptr;

  // Layer 1: y1, μ1, 1/σ1, scale1, shift1 — no a1, no bits.
  conv_bn_mrelu_fwd_tensors t1 = fwd_tensors(x, l1, o1, m1);
  t1.lazy = true;
  cuda().conv_bn_act_forward(g1, p1, t1);
  // Layer 2 reads y1 through act1 (the prologue).
  conv_input_act act1;
  act1.scale = o1.scale.data<float>(), act1.shift = o1.shift.data<float>(), act1.mask = m1;
  act1.act = l1.act, act1.mask_per_channel = p1.mask_per_channel;
  const Tensor bits2 = l2.act != Act::None ? cuda_pass_bits(a2.numel()) : Tensor();
  conv_bn_mrelu_fwd_tensors t2 = fwd_tensors(o1.y, l2, o2, m2);
  t2.x_act = act1, t2.a = a2.data<float>(), t2.bits = bits_ptr(bits2);
  t2.residual = ptr_or_null<float>(residual);
  cuda().conv_bn_act_forward(g2, p2, t2);

  // Backward: layer 2 (its pass bits; wgrad reads y1 through act1) gives da1, then layer 1 (its
  // pass bits recomputed from y1).
  const bool need_x = x.requires_grad(), need_w1 = l1.w.requires_grad();
  const bool need_1 = need_x || need_w1 || l1.gamma.requires_grad() || l1.beta.requires_grad();
  const bool need_w2 = l2.w.requires_grad(),
             need_r = residual.defined() && residual.requires_grad();
  const Tensor sx = x.detach(), sw1 = l1.w.detach(), sg1 = l1.gamma.detach(), sw2 = l2.w.detach(),
               sg2 = l2.gamma.detach(), m1t = l1.mask;
  Tensor out = a2;
  record(kOp, {x, l1.w, l1.gamma, l1.beta, l2.w, l2.gamma, l2.beta, residual}, out,
         [g1, g2, p1, p2, o1, o2, sx, sw1, sg1, sw2, sg2, m1t, bits2, act1, need_x, need_w1, need_1,
          need_w2, need_r](const Tensor& da2) -> std::vector<Tensor> {
           auto vec = [](int64_t k) { return Tensor::empty({k}, DType::F32, Device::CUDA); };
           Tensor da1 = need_1 ? Tensor::empty_like(o1.y) : Tensor();
           Tensor dw2 = need_w2 ? Tensor::empty_like(sw2) : Tensor();
           Tensor dr = need_r ? Tensor::empty_like(o2.y) : Tensor();
           Tensor dgamma2 = vec(g2.K), dbeta2 = vec(g2.K);
           conv_bn_mrelu_bwd_tensors b2;
           b2.x = o1.y.read<float>(), b2.x_act = act1, b2.w = sw2.read<float>();
           b2.da = da2.read<float>(), b2.bits = bits_ptr(bits2), b2.y = o2.y.read<float>();
           b2.mean = o2.mean.read<float>(), b2.invstd = o2.invstd.read<float>();
           b2.gamma = sg2.read<float>(), b2.dx = ptr_or_null<float>(da1),
           b2.dw = ptr_or_null<float>(dw2);
           b2.dgamma = dgamma2.data<float>(), b2.dbeta = dbeta2.data<float>();
           b2.dresidual = ptr_or_null<float>(dr);
           cuda().conv_bn_act_backward(g2, p2, b2);
           if (!need_1) return {Tensor(), Tensor(), Tensor(), Tensor(), dw2, dgamma2, dbeta2, dr};
           Tensor dx = need_x ? Tensor::empty_like(sx) : Tensor();
           Tensor dw1 = need_w1 ? Tensor::empty_like(sw1) : Tensor();
           Tensor dgamma1 = vec(g1.K), dbeta1 = vec(g1.K);
           conv_bn_mrelu_bwd_tensors b1;
           b1.x = sx.read<float>(), b1.w = sw1.read<float>(), b1.da = da1.read<float>();
           b1.y_act = act1, b1.y = o1.y.read<float>(), b1.mean = o1.mean.read<float>();
           b1.invstd = o1.invstd.read<float>(), b1.gamma = sg1.read<float>();
           b1.dx = ptr_or_null<float>(dx), b1.dw = ptr_or_null<float>(dw1);
           b1.dgamma = dgamma1.data<float>(), b1.dbeta = dbeta1.data<float>();
           cuda().conv_bn_act_backward(g1, p1, b1);
           (void)m1t;  // keeps the mask act1 points at alive
           return {dx, dw1, dgamma1, dbeta1, dw2, dgamma2, dbeta2, dr};
         });
  return out;
}

}  // namespace senet
