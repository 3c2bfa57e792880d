// kernels/conv_input_act.h — the previous layer's BatchNorm and activation, applied by a conv to its
// input while it loads it (the "prologue" of issue 16, item 3). Plain struct of device pointers, no
// CUDA runtime, like kernels/conv_bn_mrelu_tensors.h.
// A fused conv → BN → act layer writes y (its conv output) and the per-channel scale = γ/σ and
// shift = β − μ·scale; its activation a = act(scale·y + shift) feeds only the next conv. Instead of
// a pass that reads y and writes a (and a read of a by the next conv), the next conv reads y and
// computes, per loaded element x[n, c, h, w] (padding stays 0: it pads a, not y),
//   z = fmaf(scale[c], x, shift[c]);  m = mask[c] (per channel) or mask[(c·H + h)·W + w];
//   x_eff = (act == ReLU || (act == MaskedReLU && m)) && !(z > 0) ? 0 : z
// — scale_shift_mrelu's expression (kernels/scale_shift_mrelu.cu) without a residual, so the fused
// conv equals conv(scale_shift_mrelu(y)) bitwise. The backward recomputes the same x_eff in wgrad's
// load of x, and the pass bit p = !(relu) || z > 0 from y in the BN backward (mrelu_bn_bwd), so
// neither a nor its bits are ever stored.
#pragma once
#include <cstdint>

#include "kernels/act.h"
#include "kernels/host_device.h"

namespace senet {

struct conv_input_act {
  const float* scale = nullptr;   // C: γ·invstd of the layer that wrote x (null: x is used as is)
  const float* shift = nullptr;   // C: β − μ·scale
  const uint8_t* mask = nullptr;  // Act::MaskedReLU: C bytes (per channel) or C·H·W (per position)
  Act act = Act::None;
  bool mask_per_channel = false;

  SENET_HD bool active() const { return scale != nullptr; }
  // What a launcher checks: both vectors, a known activation, a mask where one is needed.
  bool valid() const {
    if (!active()) return true;
    if (!shift || (act != Act::None && act != Act::ReLU && act != Act::MaskedReLU)) return false;
    return act != Act::MaskedReLU || mask != nullptr;
  }
};

}  // namespace senet
