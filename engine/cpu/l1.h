// engine/cpu/l1.h — the L1 norm on the CPU backend (SNL's sparsity penalty λ·Σ|α|).
//   forward:  Σ|x|   (in double, fixed chunks merged in order: independent of the thread count)
//   backward: dx = g · sign(x),  sign(0) = 0  (the subgradient at the kink)
#pragma once
#include <cstdint>

namespace senet::cpu {

double l1_forward(const float* x, int64_t n);
void l1_backward(const float* x, float g, float* dx, int64_t n);

}  // namespace senet::cpu
