// engine/ops/preact_block.cpp — see preact_block.h: the chain it equals, the fused CUDA forward and
// its backward side by side.
#include "engine/ops/preact_block.h"

#include "engine/core/autograd.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"

namespace senet {

namespace {

constexpr const char* kOp = "preact_block";

Tensor chain(const Tensor& x, const PreactBlockArgs& b, bool training) {
  const BnActLayer &l1 = b.bn1, &l2 = b.bn2;
  const Tensor a = bn_act(x, Tensor(), l1.gamma, l1.beta, *l1.st, training, l1.act, l1.mask);
  const Tensor h =
      conv_bn_act(a, b.w1, l2.gamma, l2.beta, *l2.st, training, l2.act, l2.mask, b.stride, 1);
  const Tensor y = conv2d(h, b.w2, Tensor(), 1, 1);
  return add(y, b.w_shortcut.defined() ? conv2d(a, b.w_shortcut, Tensor(), b.stride, 0) : x);
}

Tensor vec(int64_t n) { return Tensor::empty({n}, DType::F32, Device::CUDA); }

// A BN's per-channel outputs: μ, 1/σ (saved for the backward) and the affine the next conv's
// prologue applies.
struct BnOut {
  Tensor mean, invstd, scale, shift;
  explicit BnOut(int64_t C) : mean(vec(C)), invstd(vec(C)), scale(vec(C)), shift(vec(C)) {}
};

CudaBnAct bn_params(const Tensor& y, const BnActLayer& l) {
  CudaBnAct p;
  p.N = y.size(0), p.C = y.size(1), p.HW = y.size(2) * y.size(3);
  p.eps = l.st->eps, p.momentum = l.st->momentum, p.training = true, p.act = l.act;
  p.mask_per_channel = l.act == Act::MaskedReLU && check_mask(kOp, y, l.mask);
  set_cuda_bn_sync(p);
  return p;
}

// The activation act(scale·y + shift) of BN layer l, as a conv applies it to its input y.
conv_input_act input_act(const BnOut& o, const BnActLayer& l, const CudaBnAct& p) {
  conv_input_act t;
  t.scale = o.scale.read<float>(), t.shift = o.shift.read<float>(), t.act = l.act;
  t.mask = l.act == Act::MaskedReLU ? l.mask.read<uint8_t>() : nullptr;
  t.mask_per_channel = p.mask_per_channel;
  return t;
}

}  // namespace

Tensor preact_block(const Tensor& x, const PreactBlockArgs& b, bool training) {
  const BnActLayer &l1 = b.bn1, &l2 = b.bn2;
  const Tensor& wsc = b.w_shortcut;
  SENET_CHECK(l1.st && l2.st, kOp, ": a BatchNorm without its state");
  const bool grad = needs_grad({&x, &l1.gamma, &l1.beta, &b.w1, &l2.gamma, &l2.beta, &b.w2, &wsc});
  if (!training || !grad ||
      !use_cuda(kOp, {&x, &l1.gamma, &l1.beta, &l1.mask, &l1.st->running_mean, &l1.st->running_var,
                      &b.w1, &l2.gamma, &l2.beta, &l2.mask, &l2.st->running_mean,
                      &l2.st->running_var, &b.w2, &wsc}))
    return chain(x, b, training);
  // Shapes as the chain would check them.
  batchnorm_check(kOp, x, l1.gamma, l1.beta, *l1.st);
  const cpu::Conv2dGeom g1 = conv2d_check(kOp, x, b.w1, b.stride, 1);
  const Tensor y1 = Tensor::empty({g1.N, g1.K, g1.P, g1.Q}, DType::F32, Device::CUDA);
  batchnorm_check(kOp, y1, l2.gamma, l2.beta, *l2.st);
  const cpu::Conv2dGeom g2 = conv2d_check(kOp, y1, b.w2, 1, 1);
  const Tensor out = Tensor::empty({g2.N, g2.K, g2.P, g2.Q}, DType::F32, Device::CUDA);
  cpu::Conv2dGeom gs{};
  Tensor s = x;  // the shortcut
  if (wsc.defined()) {
    gs = conv2d_check(kOp, x, wsc, b.stride, 0);
    s = Tensor::empty({gs.N, gs.K, gs.P, gs.Q}, DType::F32, Device::CUDA);
  }
  check_same_shape(kOp, out, s);
  const CudaBnAct p1 = bn_params(x, l1), p2 = bn_params(y1, l2);
  if (p1.sync || p2.sync) return chain(x, b, training);  // ranks: see the .h

  // BN1: statistics only.
  const BnOut o1(g1.C), o2(g1.K);
  bn_act_fwd_tensors s1;
  s1.gamma = l1.gamma.read<float>(), s1.beta = l1.beta.read<float>();
  s1.running_mean = l1.st->running_mean.data<float>();
  s1.running_var = l1.st->running_var.data<float>();
  s1.mean = o1.mean.data<float>(), s1.invstd = o1.invstd.data<float>();
  s1.scale = o1.scale.data<float>(), s1.shift = o1.shift.data<float>();
  cuda().bn_scale_shift(p1, x.read<float>(), s1);
  const conv_input_act act1 = input_act(o1, l1, p1);
  // conv1 → BN2 reading x through act1: y1 and BN2's statistics, no h.
  conv_bn_mrelu_fwd_tensors t;
  t.x = x.read<float>(), t.x_act = act1, t.w = b.w1.read<float>();
  t.gamma = l2.gamma.read<float>(), t.beta = l2.beta.read<float>();
  t.running_mean = l2.st->running_mean.data<float>();
  t.running_var = l2.st->running_var.data<float>();
  t.y = y1.data<float>(), t.mean = o2.mean.data<float>(), t.invstd = o2.invstd.data<float>();
  t.scale = o2.scale.data<float>(), t.shift = o2.shift.data<float>(), t.lazy = true;
  cuda().conv_bn_act_forward(g1, p2, t);
  const conv_input_act act2 = input_act(o2, l2, p2);
  // The shortcut (x through act1), then conv2 (y1 through act2) + s.
  if (wsc.defined())
    cuda().conv2d_act_forward(gs, x.read<float>(), act1, wsc.read<float>(), nullptr,
                              s.data<float>());
  cuda().conv2d_act_forward(g2, y1.read<float>(), act2, b.w2.read<float>(), s.read<float>(),
                            out.data<float>());

  // Backward. need_a: the gradient of a (for x or BN1); need_h: of h (for any of those or layer 1);
  // the shortcut's weight needs neither (dout and x).
  const bool need_x = x.requires_grad(),
             need_bn1 = l1.gamma.requires_grad() || l1.beta.requires_grad();
  const bool need_a = need_x || need_bn1;
  const bool need_w1 = b.w1.requires_grad(),
             need_bn2 = l2.gamma.requires_grad() || l2.beta.requires_grad();
  const bool need_h = need_a || need_w1 || need_bn2;
  const bool need_w2 = b.w2.requires_grad(), need_wsc = wsc.defined() && wsc.requires_grad();
  const Tensor sx = x.detach(), sg1 = l1.gamma.detach(), sw1 = b.w1.detach(),
               sg2 = l2.gamma.detach(), sw2 = b.w2.detach(),
               swsc = wsc.defined() ? wsc.detach() : Tensor();
  const Tensor m1 = l1.mask, m2 = l2.mask;  // kept alive for act1, act2
  const bool identity = !wsc.defined();
  Tensor result = out;
  record(kOp, {x, l1.gamma, l1.beta, b.w1, l2.gamma, l2.beta, b.w2, wsc}, result,
         [g1, g2, gs, p1, p2, o1, o2, y1, sx, sg1, sw1, sg2, sw2, swsc, m1, m2, act1, act2,
          identity, need_x, need_a, need_w1, need_h, need_w2,
          need_wsc](const Tensor& dout) -> std::vector<Tensor> {
           const float* dp = dout.read<float>();
           // conv2: dh, dw2 (wgrad reads y1 through act2).
           Tensor dh = need_h ? Tensor::empty_like(y1) : Tensor();
           Tensor dw2 = need_w2 ? Tensor::empty_like(sw2) : Tensor();
           cuda().conv2d_act_backward(g2, y1.read<float>(), act2, sw2.read<float>(), dp,
                                      ptr_or_null<float>(dh), ptr_or_null<float>(dw2));
           Tensor dx, dgamma1, dbeta1, dw1, dgamma2, dbeta2, dwsc, dsa;
           // The projection shortcut: its wgrad reads x through act1; its dgrad joins da below.
           if (!identity && (need_a || need_wsc)) {
             dsa = need_a ? Tensor::empty_like(sx) : Tensor();
             dwsc = need_wsc ? Tensor::empty_like(swsc) : Tensor();
             cuda().conv2d_act_backward(gs, sx.read<float>(), act1, swsc.read<float>(), dp,
                                        ptr_or_null<float>(dsa), ptr_or_null<float>(dwsc));
           }
           if (!need_h) return {dx, dgamma1, dbeta1, dw1, dgamma2, dbeta2, dw2, dwsc};
           // conv1 → BN2: its pass bits recomputed from y1, wgrad reads x through act1.
           Tensor da = need_a ? Tensor::empty_like(sx) : Tensor();
           dw1 = need_w1 ? Tensor::empty_like(sw1) : Tensor();
           dgamma2 = vec(g1.K), dbeta2 = vec(g1.K);
           conv_bn_mrelu_bwd_tensors bt;
           bt.x = sx.read<float>(), bt.x_act = act1, bt.w = sw1.read<float>();
           bt.da = dh.read<float>(), bt.y_act = act2, bt.y = y1.read<float>();
           bt.mean = o2.mean.read<float>(), bt.invstd = o2.invstd.read<float>();
           bt.gamma = sg2.read<float>(), bt.dx = ptr_or_null<float>(da);
           bt.dw = ptr_or_null<float>(dw1);
           bt.dgamma = dgamma2.data<float>(), bt.dbeta = dbeta2.data<float>();
           cuda().conv_bn_act_backward(g1, p2, bt);
           if (dsa.defined())
             cuda().axpby(1.f, da.read<float>(), 1.f, dsa.read<float>(), da.data<float>(),
                          da.numel());
           if (!need_a) return {dx, dgamma1, dbeta1, dw1, dgamma2, dbeta2, dw2, dwsc};
           // BN1: its pass bits recomputed from x; the identity shortcut's dout joins dx.
           dx = Tensor::empty_like(sx), dgamma1 = vec(p1.C), dbeta1 = vec(p1.C);
           mrelu_bn_bwd_tensors b1;
           b1.da = da.read<float>(), b1.y_act = act1, b1.y = sx.read<float>();
           b1.mean = o1.mean.read<float>(), b1.invstd = o1.invstd.read<float>();
           b1.gamma = sg1.read<float>(), b1.dy = dx.data<float>();
           b1.dgamma = dgamma1.data<float>(), b1.dbeta = dbeta1.data<float>();
           cuda().bn_act_backward(p1, b1);
           if (identity) cuda().axpby(1.f, dx.read<float>(), 1.f, dp, dx.data<float>(), dx.numel());
           if (!need_x) dx = Tensor();
           (void)m1, (void)m2;
           return {dx, dgamma1, dbeta1, dw1, dgamma2, dbeta2, dw2, dwsc};
         });
  return result;
}

}  // namespace senet
