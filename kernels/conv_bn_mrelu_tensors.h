// kernels/conv_bn_mrelu_tensors.h — the device tensors of the fused conv → BN → masked-ReLU layer,
// forward (training) and backward: plain structs of device pointers, no CUDA runtime, so the
// engine's table of CUDA operations (engine/cuda/cuda_ops.h) hands them over as they are.
// Each layer's struct is its BN → activation half's (bn_act_fwd_tensors, mrelu_bn_bwd_tensors:
// what the BN alone takes, engine/cuda/cuda_ops.h bn_act_forward/backward) plus the conv's tensors.
// The launchers: conv_bn_mrelu_fwd_train (kernels/conv_bn_mrelu_fwd.h), mrelu_bn_bwd and
// conv_bn_mrelu_bwd (kernels/mrelu_bn_bwd.h). Scratch (scale, shift, dy, workspace) is the
// caller's to allocate.
#pragma once
#include <cstdint>

#include "kernels/conv_input_act.h"

namespace senet {

// BN → (+ residual) → activation, forward: a = act(γ·(y − μ)/σ + β (+ residual)). Outputs are
// overwritten. y, the BN's input, is not here: the fused layer's is its conv output (below).
struct bn_act_fwd_tensors {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const uint8_t* mask = nullptr;  // Act::MaskedReLU only
  float* running_mean = nullptr;  // updated in place in training (both null: no update); read in
  float* running_var = nullptr;   // eval
  float* mean = nullptr;          // K: batch μ        (saved)
  float* invstd = nullptr;        // K: 1/√(σ²+ε)     (saved)
  float* scale = nullptr;         // K: γ·invstd
  float* shift = nullptr;         // K: β − μ·scale
  float* a = nullptr;             // the activation (null with bits null: left to the next conv)
  uint32_t* bits = nullptr;  // pass bits, pass_bits_words(N·K·P·Q) words (null: no backward,
                             // or recomputed from y by the backward)
  const float* residual = nullptr;  // N×K×P×Q added before the activation (null: none)
};

// Training forward's tensors (device pointers): a = act(BN(conv(x, w)) (+ residual)), the BN half
// above on y = conv(x, w). Prologue fusion (kernels/conv_input_act.h): with x_act active, x is the
// previous layer's y and the conv reads act(scale·x + shift) instead; with `lazy`, this layer's
// activation is not written either (a, bits and residual null: y, scale and shift are what the
// next conv's prologue needs).
struct conv_bn_mrelu_fwd_tensors : bn_act_fwd_tensors {
  const float* x = nullptr;
  const float* w = nullptr;
  float* y = nullptr;          // conv output (saved for the backward)
  float* workspace = nullptr;  // conv_bn_mrelu_fwd_workspace_floats(conv, tf32) floats
  conv_input_act x_act;        // inactive: x as it is
  bool lazy = false;           // write no activation (the next conv's prologue applies it)
};

// BN → (+ residual) → activation, backward (kernels/mrelu_bn_bwd.h): dz = da ⊙ p (p the pass bits),
// dβ = Σdz, dγ = Σdz·x̂, dy from them, dresidual = dz when not null.
struct mrelu_bn_bwd_tensors {
  const float* da = nullptr;       // upstream gradient of a
  const uint32_t* bits = nullptr;  // forward's pass bits; null: dz = da (no activation), or
                                   // recomputed (y_act)
  const float* y = nullptr;        // BN input saved by the forward
  const float* mean = nullptr;     // K: μ and 1/σ the forward normalised with
  const float* invstd = nullptr;
  const float* gamma = nullptr;
  float* dy = nullptr;         // out: gradient of y
  float* dresidual = nullptr;  // out (may be null): dz
  float* dgamma = nullptr;     // out: K, overwritten
  float* dbeta = nullptr;      // out: K, overwritten
  float* workspace = nullptr;  // mrelu_bn_bwd_workspace_floats(p) floats (the partials, then the
                               // per-channel constants of dy: kernels/conv_dy_bn.h)
  // bits null and y_act active: p recomputed from y as the forward's activation computed it
  // (kernels/conv_input_act.h: y_act = the layer's own scale, shift, mask, act; no residual).
  conv_input_act y_act;
};

// The training backward's tensors: da → (mReLU, BN backward: the half above) → dy → dx = dgrad(dy,
// w), dw = wgrad(x, dy). dx or dw may be null (skipped); dγ, dβ always written. workspace:
// conv_bn_mrelu_bwd_workspace_floats(conv) floats, the BN half's first. Prologue fusion: x_act as
// in the forward (wgrad reads act(scale·x + shift)); bits null with y_act active: the pass bits
// are recomputed from y (y_act = this layer's own scale, shift, mask, activation — what the
// forward's skipped scale_shift_mrelu would have used; so only for a forward without a residual,
// which y alone does not determine).
struct conv_bn_mrelu_bwd_tensors : mrelu_bn_bwd_tensors {
  const float* x = nullptr;
  const float* w = nullptr;
  float* dx = nullptr;
  float* dw = nullptr;
  conv_input_act x_act;  // inactive: x as it is
};

}  // namespace senet
