// engine/cpu/pram.cpp — see pram.h. Samples run in parallel; each map is reduced over channels in
// double, channel-outer so the inner loop walks contiguous H·W.
#include "engine/cpu/pram.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/parallel.h"

namespace senet::cpu {

void pram_attention(const float* A, float* qhat, float* norm, int64_t B, int64_t C, int64_t HW) {
  parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> q(static_cast<size_t>(HW));
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(q.begin(), q.end(), 0.0);
      const float* a = A + b * C * HW;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i) q[size_t(i)] += double(a[c * HW + i]) * a[c * HW + i];
      double ss = 0;
      for (double& v : q) {
        v /= double(C);
        ss += v * v;
      }
      const double n = std::sqrt(ss);
      norm[b] = float(n);
      const double inv = 1.0 / std::max(n, double(kPramEps));
      for (int64_t i = 0; i < HW; ++i) qhat[b * HW + i] = float(q[size_t(i)] * inv);
    }
  });
}

double pram_distance(const float* qs, const float* qt, int64_t B, int64_t HW) {
  double s = 0;
  for (int64_t i = 0; i < B * HW; ++i) {
    const double d = double(qs[i]) - double(qt[i]);
    s += d * d;
  }
  return B * HW > 0 ? s / double(B * HW) : 0.0;
}

void pram_backward(const float* As, const float* qs, const float* norm_s, const float* qt,
                   int64_t B, int64_t C, int64_t HW, float g, float* dA) {
  const double c_u = 2.0 * double(g) / double(B * HW);
  parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> dq(static_cast<size_t>(HW));
    for (int64_t b = b0; b < b1; ++b) {
      const float* q = qs + b * HW;
      const float* t = qt + b * HW;
      double dot = 0;  // q̂·u
      for (int64_t i = 0; i < HW; ++i) {
        dq[size_t(i)] = c_u * (double(q[i]) - double(t[i]));  // u
        dot += double(q[i]) * dq[size_t(i)];
      }
      const double n = norm_s[b];
      if (n >= double(kPramEps)) {
        for (int64_t i = 0; i < HW; ++i) dq[size_t(i)] = (dq[size_t(i)] - double(q[i]) * dot) / n;
      } else {  // clamped denominator: q̂ = q/ε is linear in q
        for (double& v : dq) v /= double(kPramEps);
      }
      const float* a = As + b * C * HW;
      float* da = dA + b * C * HW;
      const double c_a = 2.0 / double(C);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i)
          da[c * HW + i] = float(dq[size_t(i)] * c_a * double(a[c * HW + i]));
    }
  });
}

}  // namespace senet::cpu
