// engine/ops/conv_bn_act.h — fused conv2d → BatchNorm → (+ residual) → (masked) ReLU, with autograd.
//   y = conv(x, w) (no bias: BN's β replaces it);  z = γ·(y−μ)/√(σ²+ε) + β (+ r);  a = act(z)
// The residual r (optional, the output's shape) is how a ResNet block's second conv is fused: its
// gradient is dz.
// Training forward: conv per group of images; while Y_g is in cache, its per-channel (mean, M2)
//   partials; merged in group order (Chan) → μ, σ² (running stats updated) → one pass y → a + bits.
//   Saves x, w, y, γ, μ, 1/σ and the pass bits (no z, no col).
// Training backward: dz = da ⊙ p;  one pass (da, bits, y) → dβ = Σdz, dγ = Σdz·x̂; then per group:
//   dY_g = (γ/σ)(dz − dβ/M − x̂·dγ/M) into a thread-local buffer, immediately dW += dY_g·col_gᵀ and
//   dX_g = col2im(Wᵀ·dY_g). The full-batch dz and dy are never materialised.
// Eval (training = false): μ, σ² are the running stats. Without gradients BN is folded into the conv
//   (w' = w·γ/σ, b' = β − μ·γ/σ) and the activation applied in the conv's epilogue: one pass.
// Numerically equal to conv2d → batch_norm2d → masked_relu up to fp32 rounding of the statistics
// (the partial sums are grouped differently): tests allow 1e-5 relative.
#pragma once
#include "engine/core/tensor.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"

namespace senet {

Tensor conv_bn_act(const Tensor& x, const Tensor& w, const Tensor& gamma, const Tensor& beta,
                   BatchNormState& st, bool training, Act act, const Tensor& mask, int stride,
                   int pad, const Tensor& residual = Tensor());

}  // namespace senet
