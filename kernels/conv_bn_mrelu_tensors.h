// kernels/conv_bn_mrelu_tensors.h — the device tensors of the fused conv → BN → masked-ReLU layer,
// forward (training) and backward: plain structs of device pointers, no CUDA runtime, so the
// engine's table of CUDA operations (engine/cuda/cuda_ops.h) hands them over as they are.
// The launchers: conv_bn_mrelu_fwd_train (kernels/conv_bn_mrelu_fwd.h), conv_bn_mrelu_bwd
// (kernels/mrelu_bn_bwd.h). Scratch (scale, shift, dy, workspace) is the caller's to allocate.
#pragma once
#include <cstdint>

#include "kernels/conv_input_act.h"

namespace senet {

// Training forward's tensors (device pointers): a = act(BN(conv(x, w)) (+ residual)). Outputs are
// overwritten. Prologue fusion (kernels/conv_input_act.h): with x_act active, x is the previous
// layer's y and the conv reads act(scale·x + shift) instead; with `lazy`, this layer's activation
// is not written either (a, bits and residual null: y, scale and shift are what the next conv's
// prologue needs).
struct conv_bn_mrelu_fwd_tensors {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const uint8_t* mask = nullptr;  // Act::MaskedReLU only
  float* running_mean = nullptr;  // updated in place; both null: no update
  float* running_var = nullptr;
  float* y = nullptr;          // conv output (saved for the backward)
  float* mean = nullptr;       // K: batch μ        (saved)
  float* invstd = nullptr;     // K: 1/√(σ²+ε)     (saved)
  float* scale = nullptr;      // K: γ·invstd
  float* shift = nullptr;      // K: β − μ·scale
  float* a = nullptr;          // the activation (null with bits null: left to the next conv)
  uint32_t* bits = nullptr;    // pass bits, pass_bits_words(N·K·P·Q) words (null: no backward,
                               // or recomputed from y by the backward)
  float* workspace = nullptr;  // conv_bn_mrelu_fwd_workspace_floats(conv, tf32) floats
  const float* residual = nullptr;  // N×K×P×Q added before the activation (null: none)
  conv_input_act x_act;             // inactive: x as it is
  bool lazy = false;                // write no activation (the next conv's prologue applies it)
};

// The training backward's tensors: da → (mReLU, BN backward) → dy → dx = dgrad(dy, w), dw = wgrad(x,
// dy). dx or dw may be null (skipped); dγ, dβ always written; dresidual = dz when not null.
// Prologue fusion: x_act as in the forward (wgrad reads act(scale·x + shift)); bits null with
// y_act active: the pass bits are recomputed from y (y_act = this layer's own scale, shift, mask,
// activation — what the forward's skipped scale_shift_mrelu would have used; so only for a
// forward without a residual, which y alone does not determine).
struct conv_bn_mrelu_bwd_tensors {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* da = nullptr;
  const uint32_t* bits = nullptr;  // null: no activation, or recomputed (y_act)
  const float* y = nullptr;
  const float* mean = nullptr;
  const float* invstd = nullptr;
  const float* gamma = nullptr;
  float* dy = nullptr;  // scratch (or wanted): N×K×P×Q
  float* dx = nullptr;
  float* dw = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
  float* workspace = nullptr;  // conv_bn_mrelu_bwd_workspace_floats(conv) floats
  float* dresidual = nullptr;  // out (may be null): dz, the residual's gradient
  conv_input_act x_act;        // inactive: x as it is
  conv_input_act y_act;        // inactive: bits as given
};

}  // namespace senet
