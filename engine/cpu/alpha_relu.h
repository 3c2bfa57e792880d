// engine/cpu/alpha_relu.h — SNL's per-element relaxed ReLU on the CPU backend.
// x: N×P (P = C·H·W), α: P (shared by every sample).
//   forward:  y = α·relu(x) + (1−α)·x        (= x where x > 0, (1−α)·x elsewhere)
//   backward: dx = dy · (x > 0 ? 1 : 1−α)
//             dα = Σ_n dy · (relu(x) − x)    (= Σ_n dy · (x > 0 ? 0 : −x))
// dα is reduced over the batch per position (threads own positions): reproducible.
#pragma once
#include <cstdint>

namespace senet::cpu {

void alpha_relu_forward(const float* x, const float* alpha, float* y, int64_t N, int64_t P);
// dx and/or dalpha may be null.
void alpha_relu_backward(const float* x, const float* alpha, const float* dy, float* dx,
                         float* dalpha, int64_t N, int64_t P);

}  // namespace senet::cpu
