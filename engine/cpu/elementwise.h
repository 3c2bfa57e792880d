// engine/cpu/elementwise.h — element-wise loops and reductions of the CPU backend (threaded).
//   add: y = a + b    axpby: y = α·a + β·b    mul: y = a ⊙ b    scale: y = s·x
//   sum: Σx accumulated in double, per-thread partials merged in chunk order (reproducible).
#pragma once
#include <cstdint>

namespace senet::cpu {

void add(const float* a, const float* b, float* y, int64_t n);
void axpby(float alpha, const float* a, float beta, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
double sum(const float* x, int64_t n);

}  // namespace senet::cpu
