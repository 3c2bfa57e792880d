// kernels/scale_shift_mrelu.h — per-channel affine map + optional residual + (masked) ReLU, writing
// the 1-bit pass mask for the backward. With scale/shift from bn_finalize this is BN → masked ReLU,
// and with a residual it is ResNet's "BN → add → masked ReLU".
#pragma once
#include "kernels/kernel_params.h"

namespace senet {

struct scale_shift_mrelu_params {
  int N = 0, K = 0, PQ = 0;  // y, residual, a: N×K×PQ
  Act act = Act::None;
  bool mask_per_channel = false;  // mask: K bytes (per channel) or K·PQ bytes (per element)
  SENET_HD int64_t size() const { return int64_t(N) * K * PQ; }
};

// a = act(scale[k]·y + shift[k] (+ residual));  bits (pass_bits_words(size) words, may be null):
// p = (Act::None) || m == 0 || z > 0. residual may be null; mask is required for MaskedReLU only.
cudaError_t scale_shift_mrelu(scale_shift_mrelu_params p, const float* y, const float* scale,
                              const float* shift, const float* residual, const uint8_t* mask,
                              float* a, uint32_t* bits, cudaStream_t stream);

}  // namespace senet
