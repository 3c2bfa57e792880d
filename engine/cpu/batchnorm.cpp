// engine/cpu/batchnorm.cpp — stable per-channel statistics and the fused BN(-add)-act passes.
// Elementwise passes split the flat tensor into chunks of whole 64-bit pass-bit words and walk each
// chunk as row segments (one image, one channel), so per-channel constants are loaded once per run.
// With AVX-512 or AVX2 the per-chunk work runs in the vector kernels (engine/cpu/bn_act_simd.h);
// the scalar loops here are the Generic path and the tests' oracle (the *_scalar functions).
#include "engine/cpu/batchnorm.h"

#include <vector>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/activation.h"
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {

void merge(MeanM2& a, const MeanM2& b) {
  if (b.n == 0) return;
  if (a.n == 0) {
    a = b;
    return;
  }
  double n = a.n + b.n, d = b.mean - a.mean;
  a.mean += d * (b.n / n);
  a.m2 += b.m2 + d * d * (a.n * b.n / n);
  a.n = n;
}

// Σ of n values in double, 8 independent accumulators (so the loop vectorises without -ffast-math).
static double sum_f64(const float* y, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; ++l) acc[l] += double(y[k + l]);
  double s = 0;
  for (; k < n; ++k) s += double(y[k]);
  for (int l = 0; l < 8; ++l) s += acc[l];
  return s;
}

static double sum_sq_dev_f64(const float* y, int64_t n, double mean) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; ++l) {
      double d = double(y[k + l]) - mean;
      acc[l] += d * d;
    }
  double s = 0;
  for (; k < n; ++k) {
    double d = double(y[k]) - mean;
    s += d * d;
  }
  for (int l = 0; l < 8; ++l) s += acc[l];
  return s;
}

MeanM2 segment_mean_m2(const float* y, int64_t n) {
  if (const BnActKernels* k = bn_act_kernels()) return k->segment_mean_m2(y, n);
  return segment_mean_m2_scalar(y, n);
}

MeanM2 segment_mean_m2_scalar(const float* y, int64_t n) {
  MeanM2 r;
  if (n <= 0) return r;
  r.n = double(n);
  r.mean = sum_f64(y, n) / r.n;
  r.m2 = sum_sq_dev_f64(y, n, r.mean);
  return r;
}

void bn_stats_acc(const float* y, int64_t N, int64_t C, int64_t HW, MeanM2* acc) {
  parallel_for(0, C, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      acc[c] = MeanM2{};
      for (int64_t n = 0; n < N; ++n) merge(acc[c], segment_mean_m2(y + (n * C + c) * HW, HW));
    }
  });
}

void mean_var(const MeanM2* acc, int64_t C, float* mean, float* var) {
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = float(acc[c].mean);
    var[c] = acc[c].n > 0 ? float(acc[c].m2 / acc[c].n) : 0.f;
  }
}

void bn_stats(const float* y, int64_t N, int64_t C, int64_t HW, float* mean, float* var) {
  std::vector<MeanM2> acc(static_cast<size_t>(C));
  bn_stats_acc(y, N, C, HW, acc.data());
  mean_var(acc.data(), C, mean, var);
}

// kRes: a residual is added before the activation.
template <Act kAct, bool kRes>
static void bn_act_chunk(const BnAct& p, const float* y, const float* r, float* a, uint64_t* bits,
                         int64_t b, int64_t e) {
  constexpr int64_t kBlock = 256;
  uint8_t pass[kBlock];
  for (int64_t i = b; i < e;) {
    int64_t row = i / p.HW, j = i - row * p.HW, c = row % p.C;
    int64_t len = std::min({e - i, p.HW - j, kBlock});
    const float mu = p.mean[c], s = p.gamma[c] * p.invstd[c], bt = p.beta[c];
    const float* yy = y + i;
    const float* rr = kRes ? r + i : nullptr;
    const uint8_t* m = kAct == Act::MaskedReLU ? p.mask + c * p.HW + j : nullptr;
    float* aa = a + i;
    for (int64_t k = 0; k < len; ++k) {
      float z = (yy[k] - mu) * s + bt;
      if constexpr (kRes) z += rr[k];
      bool keep = kAct == Act::None ? true : kAct == Act::ReLU ? z > 0.f : (!m[k] || z > 0.f);
      aa[k] = keep ? z : 0.f;
      pass[k] = keep;
    }
    if (kAct != Act::None && bits) pack_bits(pass, len, bits, i);
    i += len;
  }
}

template <Act kAct>
static void bn_act_chunk_r(const BnAct& p, const float* y, const float* r, float* a, uint64_t* bits,
                           int64_t b, int64_t e) {
  if (r)
    bn_act_chunk<kAct, true>(p, y, r, a, bits, b, e);
  else
    bn_act_chunk<kAct, false>(p, y, r, a, bits, b, e);
}

void bn_act_forward(const BnAct& p, const float* y, const float* residual, float* a,
                    uint64_t* bits) {
  const int64_t n = p.N * p.C * p.HW;
  const Act act = p.act;
  SENET_CHECK(act != Act::MaskedReLU || p.mask, "bn_act_forward: Act::MaskedReLU without a mask");
  const BnActKernels* k = bn_act_kernels();
  parallel_for(0, bit_words(n), 256, [&](int64_t wb, int64_t we) {
    int64_t b = wb * 64, e = std::min(n, we * 64);
    if (k) {
      k->bn_act_forward_chunk(p, act, y, residual, a, bits, b, e);
      return;
    }
    if (act == Act::None) bn_act_chunk_r<Act::None>(p, y, residual, a, bits, b, e);
    if (act == Act::ReLU) bn_act_chunk_r<Act::ReLU>(p, y, residual, a, bits, b, e);
    if (act == Act::MaskedReLU) bn_act_chunk_r<Act::MaskedReLU>(p, y, residual, a, bits, b, e);
  });
}

void bn_act_grad_reduce(const BnAct& p, const float* da, const uint64_t* bits, const float* y,
                        float* dgamma, float* dbeta) {
  const BnActKernels* k = bn_act_kernels();
  parallel_for(0, p.C, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      if (k) {
        double sdz, sdzy;
        k->bn_act_grad_reduce_channel(p, da, bits, y, c, &sdz, &sdzy);
        dbeta[c] = float(sdz);
        dgamma[c] = float(sdzy * p.invstd[c]);
        continue;
      }
      const float mu = p.mean[c];
      double sdz = 0, sdzy = 0;  // Σdz, Σdz·(y−μ)
      for (int64_t n = 0; n < p.N; ++n) {
        const int64_t i0 = (n * p.C + c) * p.HW;
        const float* dd = da + i0;
        const float* yy = y + i0;
        float a1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t k = 0;
        for (; k + 8 <= p.HW; k += 8)
          for (int l = 0; l < 8; ++l) {
            float dz = !bits || bit_get(bits, i0 + k + l) ? dd[k + l] : 0.f;
            a1[l] += dz;
            a2[l] += dz * (yy[k + l] - mu);
          }
        for (; k < p.HW; ++k) {
          float dz = !bits || bit_get(bits, i0 + k) ? dd[k] : 0.f;
          a1[0] += dz;
          a2[0] += dz * (yy[k] - mu);
        }
        for (int l = 0; l < 8; ++l) {
          sdz += a1[l];
          sdzy += a2[l];
        }
      }
      dbeta[c] = float(sdz);
      dgamma[c] = float(sdzy * p.invstd[c]);
    }
  });
}

void bn_act_grad_row(const float* da, const uint64_t* bits, int64_t i0, const float* y, int64_t len,
                     float mean, float invstd, float s, float mdb, float mdg, float* dy,
                     float* dz_out) {
  if (const BnActKernels* k = bn_act_kernels())
    return k->bn_act_grad_row(da, bits, i0, y, len, mean, invstd, s, mdb, mdg, dy, dz_out);
  bn_act_grad_row_scalar(da, bits, i0, y, len, mean, invstd, s, mdb, mdg, dy, dz_out);
}

void bn_act_grad_row_scalar(const float* da, const uint64_t* bits, int64_t i0, const float* y,
                            int64_t len, float mean, float invstd, float s, float mdb, float mdg,
                            float* dy, float* dz_out) {
  for (int64_t k = 0; k < len; ++k) {
    float dz = !bits || bit_get(bits, i0 + k) ? da[k] : 0.f;
    float xh = (y[k] - mean) * invstd;
    dy[k] = s * (dz - mdb - xh * mdg);
    if (dz_out) dz_out[k] = dz;
  }
}

void bn_act_backward(const BnAct& p, const float* da, const uint64_t* bits, const float* y,
                     const float* dgamma, const float* dbeta, bool training, float* dy, float* dz) {
  const float inv_m = 1.f / float(p.count > 0 ? p.count : p.N * p.HW);
  parallel_for(0, p.N * p.C, std::max<int64_t>(1, 4096 / p.HW), [&](int64_t rb, int64_t re) {
    for (int64_t row = rb; row < re; ++row) {
      const int64_t c = row % p.C, i0 = row * p.HW;
      const float s = p.gamma[c] * p.invstd[c];
      const float mdb = training ? dbeta[c] * inv_m : 0.f, mdg = training ? dgamma[c] * inv_m : 0.f;
      bn_act_grad_row(da + i0, bits, i0, y + i0, p.HW, p.mean[c], p.invstd[c], s, mdb, mdg, dy + i0,
                      dz ? dz + i0 : nullptr);
    }
  });
}

}  // namespace senet::cpu
