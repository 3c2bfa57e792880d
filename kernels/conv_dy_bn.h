// kernels/conv_dy_bn.h — the BatchNorm backward folded into the conv's dgrad and wgrad (issue 16,
// item 3: "the BN backward folded into dgrad/wgrad where it saves a pass"). Plain struct of device
// pointers, no CUDA runtime, like kernels/conv_input_act.h, whose forward trick this mirrors.
// The layer is conv → BN → act with no residual, its activation's pass bit recomputable from y
// (prologue fusion: conv_input_act of the layer's own scale, shift, mask and act). Its backward is
//   dz = p ? da : 0,   p = !relu || fmaf(scale, y, shift) > 0     (kernels/conv_input_act.h)
//   x̂ = (y − μ)·invstd
//   dy = c1·dz + c2·x̂ + c3,   c1 = γ·invstd,  c2 = −c1·Σ(dz·x̂)/M,  c3 = −c1·Σdz/M
// (training; eval: c2 = c3 = 0). The two sums need the whole batch, so one reduction pass
// (mrelu_bn_bwd_reduce: reads da and y) must come first, and the per-channel constants
// (mrelu_bn_bwd_coefficients) after it. But dy itself is an element-wise function of da and y:
// instead of a pass that reads da and y and writes dy (and dgrad and wgrad reading dy), dgrad and
// wgrad read da and y and compute dy as they load it. Per layer: one pass fewer (9 → 8, the table
// of kernels/README.md "Memory passes"), and dy is never allocated.
// Evaluated per element — by dgrad and wgrad for every tap they load, so every instruction counts —
// as two FMAs from constants folded once per channel, x̂ never formed:
//   dy = fmaf(c1, dz, fmaf(c2', y, c3')),   c2' = c2·invstd,  c3' = c3 − c2'·μ
// (c2'·y + c3' = c2·x̂ + c3 up to rounding). And relu is a per-channel flag, except under a
// per-position mask, whose byte is read where the element is.
// mrelu_bn_bwd's own element-wise kernel evaluates the same expression from the same constants, so
// a folded dgrad/wgrad equals dgrad/wgrad of the dy it writes, bitwise.
#pragma once
#include <cstdint>

namespace senet {

// Per channel k, 8 floats at coef[8k], two float4s: {scale, shift, c1, c2'} and
// {c3', relu, 0, 0} — relu 1 where the activation is a ReLU at every position of channel k (ReLU;
// MaskedReLU with a per-channel mask byte set), else 0.
inline constexpr int kBnBwdCoefFloats = 8;

struct conv_dy_bn {
  const float* da = nullptr;    // N×K×P×Q: the gradient of the layer's activation a (null: off)
  const float* y = nullptr;     // N×K×P×Q: the layer's conv output, the BN input
  const float* coef = nullptr;  // kBnBwdCoefFloats·K (mrelu_bn_bwd_coefficients), 16-byte aligned
  const uint8_t* mask = nullptr;  // a per-position MaskedReLU's K·P·Q bytes; null: relu per channel

  bool active() const { return da != nullptr; }
  // What a launcher checks: y and the constants (aligned for their float4 loads).
  bool valid() const {
    return !active() || (y && coef && (reinterpret_cast<uintptr_t>(coef) & 15) == 0);
  }
};

}  // namespace senet
