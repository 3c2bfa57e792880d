// engine/cpu/alpha_relu.cpp — see alpha_relu.h.
#include "engine/cpu/alpha_relu.h"

#include <algorithm>
#include <vector>

#include "engine/core/parallel.h"

namespace senet::cpu {

constexpr int64_t kGrain = 1 << 15;

void alpha_relu_forward(const float* x, const float* alpha, float* y, int64_t N, int64_t P) {
  if (N <= 0 || P <= 0) return;
  parallel_for(0, N * P, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b, p = b % P; i < e; ++i, p = (p + 1 == P ? 0 : p + 1)) {
      const float v = x[i];
      y[i] = v > 0.f ? v : (1.f - alpha[p]) * v;
    }
  });
}

void alpha_relu_backward(const float* x, const float* alpha, const float* dy, float* dx,
                         float* dalpha, int64_t N, int64_t P) {
  if (P <= 0) return;
  if (dx)
    parallel_for(0, N * P, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b, p = b % P; i < e; ++i, p = (p + 1 == P ? 0 : p + 1))
        dx[i] = x[i] > 0.f ? dy[i] : (1.f - alpha[p]) * dy[i];
    });
  if (dalpha)  // threads own positions [b, e); samples are walked in order, rows contiguous
    parallel_for(0, P, std::max<int64_t>(1, kGrain / std::max<int64_t>(N, 1)),
                 [&](int64_t b, int64_t e) {
                   std::vector<double> acc(size_t(e - b), 0.0);
                   for (int64_t n = 0; n < N; ++n) {
                     const float* xr = x + n * P;
                     const float* gr = dy + n * P;
                     for (int64_t p = b; p < e; ++p)
                       if (!(xr[p] > 0.f)) acc[size_t(p - b)] -= double(gr[p]) * xr[p];
                   }
                   for (int64_t p = b; p < e; ++p) dalpha[p] = float(acc[size_t(p - b)]);
                 });
}

}  // namespace senet::cpu
