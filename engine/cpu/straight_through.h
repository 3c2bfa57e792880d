// engine/cpu/straight_through.h — a learned ReLU site's mask on the CPU backend (the reference of
// kernels/straight_through.cu):
//   forward:  mask = top-k of |s| (exactly k ones; ties toward the lower index; NaN ranks lowest,
//             −0 = +0), y = mask ? 1 : 0
//   backward: ds = dy · sign(s),  sign(s) = s < 0 ? −1 : +1
#pragma once
#include <cstdint>

namespace senet::cpu {

// mask: n bytes; y may be null (the mask alone). 0 ≤ k ≤ n.
void straight_through_forward(const float* s, int64_t n, int64_t k, uint8_t* mask, float* y);
// ds may alias dy.
void straight_through_backward(const float* s, const float* dy, float* ds, int64_t n);

}  // namespace senet::cpu
