// engine/cpu/bn_act_kernels.h — the BatchNorm / (masked) ReLU passes of engine/cpu/batchnorm.h and
// engine/cpu/activation.h written over a vector type V (engine/cpu/simd.h), compiled per ISA by
// bn_act_avx512.cpp and bn_act_avx2.cpp. The scalar loops in batchnorm.cpp / activation.cpp stay as
// the Generic path and the oracle; these compute the same formulas in the same operation order
// (no FMA contraction where the scalar code has none), so the elementwise outputs and pass bits are
// bitwise equal to them; only the reductions (statistics, dγ, dβ) sum in another order.
// Pass bits: element i is bit (i & 63) of word i >> 6; a vector's N bits are written and read at
// any bit offset (rows need not start on a word), by the thread that owns the words.
#pragma once
#include <algorithm>
#include <cstring>

#include "engine/cpu/batchnorm.h"
#include "engine/cpu/bn_act_simd.h"
#include "engine/cpu/simd.h"

namespace senet::cpu::SENET_SIMD_NS {

// Bits [i, i+n) of the bit array ← the low n bits of v (n ≤ 32).
inline void put_bits(uint64_t* bits, int64_t i, uint32_t v, int n) {
  const uint64_t m = (uint64_t(1) << n) - 1;
  const int64_t w = i >> 6;
  const int o = int(i & 63);
  const uint64_t val = uint64_t(v) & m;
  bits[w] = (bits[w] & ~(m << o)) | (val << o);
  if (o + n > 64) {
    const int hi = o + n - 64;
    const uint64_t mh = (uint64_t(1) << hi) - 1;
    bits[w + 1] = (bits[w + 1] & ~mh) | (val >> (64 - o));
  }
}
// The n bits [i, i+n) as an integer.
inline uint32_t get_bits(const uint64_t* bits, int64_t i, int n) {
  const int64_t w = i >> 6;
  const int o = int(i & 63);
  uint64_t v = bits[w] >> o;
  if (o + n > 64) v |= bits[w + 1] << (64 - o);
  return uint32_t(v & ((uint64_t(1) << n) - 1));
}

// Lanes whose mask byte is 0 (the identity positions of a masked ReLU), for n ≤ N valid bytes.
template <class V>
inline typename V::M mask_off(const uint8_t* m, int n) {
  if (n == V::N) return V::andnot(V::nonzero_u8(m), V::from_bits(0xffffu));
  uint8_t b[V::N] = {};
  std::memcpy(b, m, size_t(n));
  return V::andnot(V::nonzero_u8(b), V::from_bits(0xffffu));
}

// a = act((y − μ)·s + β (+ r)) over flat elements [b, e) (whole bit words owned by the caller);
// kAct 0 none, 1 ReLU, 2 masked ReLU.
template <class V, int kAct, bool kRes>
void bn_act_forward_chunk(const BnAct& p, const float* y, const float* r, float* a, uint64_t* bits,
                          int64_t b, int64_t e) {
  constexpr int N = V::N;
  for (int64_t i = b; i < e;) {
    const int64_t row = i / p.HW, j = i - row * p.HW, c = row % p.C;
    const int64_t len = std::min(e - i, p.HW - j);
    const auto mu = V::set1(p.mean[c]), s = V::set1(p.gamma[c] * p.invstd[c]),
               bt = V::set1(p.beta[c]);
    const uint8_t* mk = kAct == 2 ? p.mask + c * p.HW + j : nullptr;
    for (int64_t k = 0; k < len; k += N) {
      const int n = int(std::min<int64_t>(N, len - k));
      auto z = V::add(V::mul(V::sub(V::load_n(y + i + k, n), mu), s), bt);
      if constexpr (kRes) z = V::add(z, V::load_n(r + i + k, n));
      if constexpr (kAct == 0) {
        V::store_n(a + i + k, z, n);
      } else {
        auto keep = V::gt0(z);
        if constexpr (kAct == 2) keep = V::or_(keep, mask_off<V>(mk + k, n));
        V::store_n(a + i + k, V::select(keep, z, V::zero()), n);
        if (bits) put_bits(bits, i + k, V::bits(keep), n);
      }
    }
    i += len;
  }
}

// Σdz and Σdz·(y − μ) of one channel over the batch (dz = da where the pass bit is set).
template <class V>
void bn_act_grad_reduce_channel(const BnAct& p, const float* da, const uint64_t* bits,
                                const float* y, int64_t c, double* sdz, double* sdzy) {
  constexpr int N = V::N;
  const auto mu = V::set1(p.mean[c]);
  double s1 = 0, s2 = 0;
  for (int64_t n = 0; n < p.N; ++n) {
    const int64_t i0 = (n * p.C + c) * p.HW;
    auto a1 = V::zero(), a2 = V::zero();
    for (int64_t k = 0; k < p.HW; k += N) {
      const int cnt = int(std::min<int64_t>(N, p.HW - k));
      auto dz = V::load_n(da + i0 + k, cnt);
      if (bits) dz = V::select(V::from_bits(get_bits(bits, i0 + k, cnt)), dz, V::zero());
      a1 = V::add(a1, dz);
      a2 = V::fma(dz, V::sub(V::load_n(y + i0 + k, cnt), mu), a2);
    }
    s1 += double(V::hsum(a1));
    s2 += double(V::hsum(a2));
  }
  *sdz = s1;
  *sdzy = s2;
}

// dy = s·(dz − mdb − x̂·mdg), x̂ = (y − μ)·invstd, for one row (the scalar formula, op for op).
template <class V>
void bn_act_grad_row(const float* da, const uint64_t* bits, int64_t i0, const float* y, int64_t len,
                     float mean, float invstd, float s, float mdb, float mdg, float* dy,
                     float* dz_out) {
  constexpr int N = V::N;
  const auto mu = V::set1(mean), is = V::set1(invstd), sv = V::set1(s), vb = V::set1(mdb),
             vg = V::set1(mdg);
  for (int64_t k = 0; k < len; k += N) {
    const int n = int(std::min<int64_t>(N, len - k));
    auto dz = V::load_n(da + k, n);
    if (bits) dz = V::select(V::from_bits(get_bits(bits, i0 + k, n)), dz, V::zero());
    const auto xh = V::mul(V::sub(V::load_n(y + k, n), mu), is);
    V::store_n(dy + k, V::mul(sv, V::sub(V::sub(dz, vb), V::mul(xh, vg))), n);
    if (dz_out) V::store_n(dz_out + k, dz, n);
  }
}

// y = p ? x : 0, p = !m || x > 0, over [b, e) of images of L elements (mask: L bytes or null).
template <class V>
void masked_relu_chunk(const float* x, const uint8_t* mask, int64_t L, int64_t b, int64_t e,
                       float* y, uint64_t* bits) {
  constexpr int N = V::N;
  for (int64_t i = b; i < e;) {
    const int64_t j = mask ? i % L : 0;
    const int64_t len = mask ? std::min(e - i, L - j) : e - i;
    for (int64_t k = 0; k < len; k += N) {
      const int n = int(std::min<int64_t>(N, len - k));
      const auto v = V::load_n(x + i + k, n);
      auto keep = V::gt0(v);
      if (mask) keep = V::or_(keep, mask_off<V>(mask + j + k, n));
      V::store_n(y + i + k, V::select(keep, v, V::zero()), n);
      if (bits) put_bits(bits, i + k, V::bits(keep), n);
    }
    i += len;
  }
}

// dx = p ? dy : 0 over [b, e).
template <class V>
void masked_relu_backward_chunk(const float* dy, const uint64_t* bits, int64_t b, int64_t e,
                                float* dx) {
  constexpr int N = V::N;
  for (int64_t i = b; i < e; i += N) {
    const int n = int(std::min<int64_t>(N, e - i));
    V::store_n(dx + i,
               V::select(V::from_bits(get_bits(bits, i, n)), V::load_n(dy + i, n), V::zero()), n);
  }
}

// Count, mean and M2 of n values in two passes, stable for |mean| ≫ σ: fp32 vector sums of the
// values shifted by y[0] (so their size is σ's, not the mean's), over blocks of 64 per lane, then
// double; the second pass sums (y − fp32(mean))² and Σ(y − fp32(mean)), and corrects for the part
// of the mean fp32 cannot hold: Σ(y − mean)² = Σd² − 2·δ·Σd + n·δ², δ = mean − fp32(mean).
template <class V>
MeanM2 segment_mean_m2(const float* y, int64_t n) {
  constexpr int N = V::N;
  MeanM2 r;
  if (n <= 0) return r;
  const float y0 = y[0];
  const auto shift = V::set1(y0);
  double sum = 0;
  for (int64_t k = 0; k < n; k += 64 * N) {
    const int64_t end = std::min(n, k + 64 * N);
    auto s = V::zero();
    for (int64_t i = k; i < end; i += N) {
      const int cnt = int(std::min<int64_t>(N, end - i));
      s = V::add(s, V::select(V::from_bits((1u << cnt) - 1), V::sub(V::load_n(y + i, cnt), shift),
                              V::zero()));
    }
    sum += double(V::hsum(s));
  }
  r.n = double(n);
  r.mean = double(y0) + sum / r.n;
  const auto mu = V::set1(float(r.mean));
  const double dmu = r.mean - double(float(r.mean));
  double m2 = 0, lin = 0;
  for (int64_t k = 0; k < n; k += 64 * N) {
    const int64_t end = std::min(n, k + 64 * N);
    auto q = V::zero(), l = V::zero();
    for (int64_t i = k; i < end; i += N) {
      const int cnt = int(std::min<int64_t>(N, end - i));
      const auto d =
          V::select(V::from_bits((1u << cnt) - 1), V::sub(V::load_n(y + i, cnt), mu), V::zero());
      q = V::fma(d, d, q);
      l = V::add(l, d);
    }
    m2 += double(V::hsum(q));
    lin += double(V::hsum(l));
  }
  r.m2 = std::max(0.0, m2 - 2 * dmu * lin + r.n * dmu * dmu);
  return r;
}

// The ISA's table (engine/cpu/bn_act_simd.h): the forward pass dispatched to its compile-time
// variant (activation, residual or not).
template <class V>
void bn_act_forward_any(const BnAct& p, Act act, const float* y, const float* r, float* a,
                        uint64_t* bits, int64_t b, int64_t e) {
  static_for<3>([&](auto k) {
    constexpr int ka = decltype(k)::value;
    if (int(act) != ka) return;
    if (r)
      bn_act_forward_chunk<V, ka, true>(p, y, r, a, bits, b, e);
    else
      bn_act_forward_chunk<V, ka, false>(p, y, r, a, bits, b, e);
  });
}

template <class V>
BnActKernels make_bn_act_kernels() {
  return BnActKernels{&bn_act_forward_any<V>, &bn_act_grad_reduce_channel<V>, &bn_act_grad_row<V>,
                      &masked_relu_chunk<V>,  &masked_relu_backward_chunk<V>, &segment_mean_m2<V>};
}

}  // namespace senet::cpu::SENET_SIMD_NS
