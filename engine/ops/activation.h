// engine/ops/activation.h — ReLU and SENet's masked (partial) ReLU, with autograd.
//   relu(x) = max(x, 0)                                  ∂/∂x = dy ⊙ [x > 0]
//   masked_relu(x, m) = m ? max(x, 0) : x                ∂/∂x = dy ⊙ (m ? [x > 0] : 1)
// x: N×C×H×W with mask u8 [C, H, W] (per element) or [C] (per channel); or x: N×C with mask [C].
// The mask is broadcast over the batch and never receives a gradient. The forward keeps only the
// pass bits p = !m || x > 0 (1 bit per element) for the backward.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/tensor.h"
#include "kernels/act.h"

namespace senet {

// Act {None, ReLU, MaskedReLU}, the activation the fused ops apply: kernels/act.h (one enum for the
// ops, the CPU backend and the CUDA kernels).

Tensor relu(const Tensor& x);
Tensor masked_relu(const Tensor& x, const Tensor& mask);

// Pass bits of an activation, shared by the backward closures (engine/cpu/activation.h layout).
using PassBits = std::shared_ptr<std::vector<uint64_t>>;
PassBits make_pass_bits(int64_t n);

// Checks `mask` against an activation of x's shape (as below) and returns true for a per-channel
// mask [C] of a 4-D x with H·W > 1 (the CUDA kernels take per-channel masks as they are).
bool check_mask(const char* op, const Tensor& x, const Tensor& mask);

// Checks `mask` against an activation of x's shape (dtype u8, shape [C,H,W] or [C], same device;
// errors name both shapes) and returns the mask as C·H·W bytes per image: the mask's own data, or
// `expanded` filled from a per-channel mask.
const uint8_t* mask_per_element(const char* op, const Tensor& x, const Tensor& mask,
                                std::vector<uint8_t>& expanded);

}  // namespace senet
