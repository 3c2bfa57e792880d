// engine/cpu/elementwise.cpp — see elementwise.h.
#include "engine/cpu/elementwise.h"

#include <vector>

#include "engine/core/parallel.h"

namespace senet::cpu {

constexpr int64_t kGrain =
    1 << 15;  // below ~32k elements a thread wake-up costs more than it saves

void add(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = a[i] + b[i];
  });
}

void axpby(float alpha, const float* a, float beta, const float* b, float* y, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = alpha * a[i] + beta * b[i];
  });
}

void mul(const float* a, const float* b, float* y, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = a[i] * b[i];
  });
}

void scale(const float* x, float s, float* y, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = s * x[i];
  });
}

double sum(const float* x, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;  // fixed chunks: the result does not depend on thread count
  int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(size_t(chunks), 0.0);
  parallel_for(0, chunks, 2, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double s = 0;
      for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) s += x[i];
      part[size_t(c)] = s;
    }
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

}  // namespace senet::cpu
