// engine/cpu/l1.cpp — see l1.h.
#include "engine/cpu/l1.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/parallel.h"

namespace senet::cpu {

double l1_forward(const float* x, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;  // fixed chunks: the result does not depend on thread count
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(size_t(chunks), 0.0);
  parallel_for(0, chunks, 2, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double s = 0;
      for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i)
        s += std::fabs(x[i]);
      part[size_t(c)] = s;
    }
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

void l1_backward(const float* x, float g, float* dx, int64_t n) {
  parallel_for(0, n, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.f ? g : (x[i] < 0.f ? -g : 0.f);
  });
}

}  // namespace senet::cpu
