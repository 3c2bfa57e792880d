// kernels/conv_bn_mrelu_tensors.h — the device tensors of the fused conv → BN → masked-ReLU layer,
// forward (training) and backward: plain structs of device pointers, no CUDA runtime, so the
// engine's table of CUDA operations (engine/cuda/cuda_ops.h) hands them over as they are.
// The launchers: conv_bn_mrelu_fwd_train (kernels/conv_bn_mrelu_fwd.h), conv_bn_mrelu_bwd
// (kernels/mrelu_bn_bwd.h). Scratch (scale, shift, dy, workspace) is the caller's to allocate.
#pragma once
#include <cstdint>

namespace senet {

// Training forward's tensors (device pointers): a = act(BN(conv(x, w)) (+ residual)). Outputs are
// overwritten.
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
  float* a = nullptr;          // the activation
  uint32_t* bits = nullptr;    // pass bits, pass_bits_words(N·K·P·Q) words (null: no backward)
  float* workspace = nullptr;  // conv_bn_mrelu_fwd_workspace_floats(conv) floats
  const float* residual = nullptr;  // N×K×P×Q added before the activation (null: none)
};

// The training backward's tensors: da → (mReLU, BN backward) → dy → dx = dgrad(dy, w), dw = wgrad(x,
// dy). dx or dw may be null (skipped); dγ, dβ always written; dresidual = dz when not null.
struct conv_bn_mrelu_bwd_tensors {
  const float* x = nullptr;
  const float* w = nullptr;
  const float* da = nullptr;
  const uint32_t* bits = nullptr;  // null: no activation
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
};

}  // namespace senet
