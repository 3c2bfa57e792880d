// engine/cpu/softmax.cpp — see softmax.h.
#include "engine/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/parallel.h"

namespace senet::cpu {

static int64_t row_grain(int64_t K) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)); }

// log-softmax of one row of z/T into out (K values); returns nothing, out may alias nothing.
static void log_softmax_row(const float* z, float inv_T, float* out, int64_t K) {
  float m = -INFINITY;
  for (int64_t k = 0; k < K; ++k) m = std::max(m, z[k] * inv_T);
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(double(z[k] * inv_T - m));
  const double lse = double(m) + std::log(s);
  for (int64_t k = 0; k < K; ++k) out[k] = float(double(z[k] * inv_T) - lse);
}

void softmax_rows(const float* z, float inv_T, float* p, float* logp, int64_t N, int64_t K) {
  parallel_for(0, N, row_grain(K), [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t n = b; n < e; ++n) {
      float* lp = logp ? logp + n * K : row.data();
      log_softmax_row(z + n * K, inv_T, lp, K);
      if (p)
        for (int64_t k = 0; k < K; ++k) p[n * K + k] = std::exp(lp[k]);
    }
  });
}

double cross_entropy_forward(const float* z, const int32_t* labels, float* p, int64_t N,
                             int64_t K) {
  std::vector<double> row_loss(static_cast<size_t>(N));
  parallel_for(0, N, row_grain(K), [&](int64_t b, int64_t e) {
    std::vector<float> lp(static_cast<size_t>(K));
    for (int64_t n = b; n < e; ++n) {
      log_softmax_row(z + n * K, 1.f, lp.data(), K);
      for (int64_t k = 0; k < K; ++k) p[n * K + k] = std::exp(lp[size_t(k)]);
      row_loss[size_t(n)] = -double(lp[size_t(labels[n])]);
    }
  });
  double s = 0;
  for (double l : row_loss) s += l;
  return N > 0 ? s / double(N) : 0.0;
}

void cross_entropy_backward(const float* p, const int32_t* labels, float g, float* dz, int64_t N,
                            int64_t K) {
  const float c = N > 0 ? g / float(N) : 0.f;
  parallel_for(0, N, row_grain(K), [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      for (int64_t k = 0; k < K; ++k) dz[n * K + k] = c * p[n * K + k];
      dz[n * K + labels[n]] -= c;
    }
  });
}

double kd_forward(const float* zs, const float* zt, int64_t N, int64_t K, float T, float* ps,
                  float* pt) {
  const float inv_T = 1.f / T;
  std::vector<double> row_loss(static_cast<size_t>(N));
  parallel_for(0, N, row_grain(K), [&](int64_t b, int64_t e) {
    std::vector<float> ls(static_cast<size_t>(K)), lt(static_cast<size_t>(K));
    for (int64_t n = b; n < e; ++n) {
      log_softmax_row(zs + n * K, inv_T, ls.data(), K);
      log_softmax_row(zt + n * K, inv_T, lt.data(), K);
      double kl = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float pk_t = std::exp(lt[size_t(k)]);
        ps[n * K + k] = std::exp(ls[size_t(k)]);
        pt[n * K + k] = pk_t;
        kl += double(pk_t) * (double(lt[size_t(k)]) - double(ls[size_t(k)]));  // 0·(finite) = 0
      }
      row_loss[size_t(n)] = kl;
    }
  });
  double s = 0;
  for (double l : row_loss) s += l;
  return N > 0 ? double(T) * double(T) * s / double(N) : 0.0;
}

void kd_backward(const float* ps, const float* pt, int64_t N, int64_t K, float T, float g,
                 float* dzs) {
  const float c = N > 0 ? g * T / float(N) : 0.f;
  parallel_for(0, N * K, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dzs[i] = c * (ps[i] - pt[i]);
  });
}

}  // namespace senet::cpu
