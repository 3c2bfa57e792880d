// kernels/conv_gather_fast.cuh — the implicit-GEMM gathers of fprop, dgrad and wgrad without a
// division in the main loop. Device code only (included by kernels/*.cu).
//
// The first gathers (conv2d_fprop_gather in implicit_gemm_tile.cuh, dgrad's and wgrad's in their
// .cu files) decode every element from scratch: g.a(m, kk) splits m into (n, p, q) and kk into
// (c, r, s) with four run-time divisions, ~100 instructions for one 4-byte load — the SASS report
// found FFMA at 10–15 % of the main loop because of it. These do two things instead:
//  1. Hoisting. In the main loops that use them, a thread's GEMM row m (A) and column n (B) are the
//     same in every k slice (the tiles assert threads % BM == 0 and threads % BK == 0), so the part
//     of the index that depends on m or n alone is decoded once, before the k loop:
//        row = g.a_row(m),  col = g.b_col(n)     →   g.a(row, kk),  g.b(col, kk) per element.
//  2. fast_divmod (kernels/fast_divmod.h): what remains to decode per element (kk into (c, r, s) or
//     (k, r, s), wgrad's reduction index into (n, p, q)) uses multiply-shift division by divisors
//     fixed for the launch, built on the host by make(...).
// No branch per element: a(row, kk, ok) and b(col, kk, ok) get the loader's own validity (row < M,
// column < N, kk < k_end) and fold in their bounds (padding; dgrad's taps between strided outputs):
// an invalid element is a predicated-off load that leaves 0 (load_or_zero, kernels/load_or_zero.cuh;
// its address still clamped to offset 0 of its row or column, which the loader keeps inside the
// tensor — except in wgrad's gathers on the GPU, load_or_zero_at) — where an `if` around the load
// compiled to a branch and a convergence barrier (BSSY/BSYNC) per element, and a select on the
// loaded value made the warp wait for it at once.
// Per element left: fprop a ≈ 2 divmods (3 instructions each) + bounds + 1 load; b = 1 load.
#pragma once
#include <cstdint>

#include "kernels/conv2d_geom.h"
#include "kernels/emu/cuda_compat.h"
#include "kernels/fast_divmod.h"
#include "kernels/load_or_zero.cuh"
#include "kernels/type_if.h"

namespace senet::detail {

// One element of dy as dgrad's A gathers it from dy[n] (N×K×P×Q): channel k, position pq = p·Q + q,
// idx = k·P·Q + pq; both 0 (a valid address) outside the taps, where `in` is false.
struct dy_tap {
  int idx, k;
  bool in;
  static __device__ __forceinline__ dy_tap make(bool in, int k, int pq, int PQ) {
    const int kk = in ? k : 0;
    return {kk * PQ + (in ? pq : 0), kk, in};
  }
};

// fprop: A = im2col(x) [N·P·Q, C·R·S], B = wᵀ [C·R·S, K].
struct conv2d_fprop_gather_fast {
  const float* __restrict__ x;
  const float* __restrict__ w;
  int C, H, W, CRS, stride, pad;
  fast_divmod PQ, Q, RS, S;
  static conv2d_fprop_gather_fast make(const Conv2dGeom& p, const float* x, const float* w) {
    return {x,
            w,
            p.C,
            p.H,
            p.W,
            int(p.CRS()),
            p.stride,
            p.pad,
            fast_divmod(p.P * p.Q),
            fast_divmod(p.Q),
            fast_divmod(p.R * p.S),
            fast_divmod(p.S)};
  }
  struct a_row_t {
    const float* __restrict__ img;  // x[n]
    int h0, w0;                     // the tap (r, s) = (0, 0) of output pixel (p, q)
  };
  __device__ __forceinline__ a_row_t a_row(int m) const {
    int n, pq, p, q;
    PQ.divmod(m, n, pq);
    Q.divmod(pq, p, q);
    return {x + int64_t(n) * C * H * W, p * stride - pad, q * stride - pad};
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    int c, rs, r, s;
    RS.divmod(kk, c, rs);
    S.divmod(rs, r, s);
    const int h = row.h0 + r, ww = row.w0 + s;
    const bool in = ok && unsigned(h) < unsigned(H) && unsigned(ww) < unsigned(W);
    return load_or_zero(row.img + (in ? (c * H + h) * W + ww : 0), in);
  }
  // What the GEMM sees of the in-image element x at channel c, position hw: x itself (the prologue
  // gather, conv_gather_act.cuh, applies the previous layer's activation and says transforms_x).
  static constexpr bool transforms_x = false;
  __device__ __forceinline__ float value(float x, int, int) const { return x; }
  using b_col_t = const float*;  // w[k]
  __device__ __forceinline__ b_col_t b_col(int k) const { return w + int64_t(k) * CRS; }
  __device__ __forceinline__ float b(b_col_t col, int kk, bool ok) const {
    return load_or_zero(col + (ok ? kk : 0), ok);
  }
};

// dgrad: A = dy at the taps of input pixel (n, h, w) [N·H·W, K·R·S], B = w regrouped [K·R·S, C].
//   A[(n,h,w), (k,r,s)] = dy[n, k, p, q] where p·stride = h + pad − r, q·stride = w + pad − s.
struct conv2d_dgrad_gather_fast {
  const float* __restrict__ dy;
  const float* __restrict__ w;
  int C, K, P, Q, pad;
  fast_divmod HW, W, RS, S, stride;
  static conv2d_dgrad_gather_fast make(const Conv2dGeom& p, const float* dy, const float* w) {
    return {dy,
            w,
            p.C,
            p.K,
            p.P,
            p.Q,
            p.pad,
            fast_divmod(p.H * p.W),
            fast_divmod(p.W),
            fast_divmod(p.R * p.S),
            fast_divmod(p.S),
            fast_divmod(p.stride)};
  }
  struct a_row_t {
    const float* __restrict__ img;  // dy[n]
    int hp, wp;                     // h + pad, w + pad
  };
  __device__ __forceinline__ a_row_t a_row(int m) const {
    int n, hw, h, ww;
    HW.divmod(m, n, hw);
    W.divmod(hw, h, ww);
    return {dy + int64_t(n) * K * P * Q, h + pad, ww + pad};
  }
  // Where element (row, kk) lives in dy[n]: idx = (k·P + p)·Q + q, and its channel k (both 0 when
  // it is a zero tap or padding: `in` false). a() loads it; the folded BN backward
  // (kernels/conv_gather_bn.cuh) also needs k.
  __device__ __forceinline__ dy_tap a_tap(const a_row_t& row, int kk, bool ok) const {
    int k, rs;
    RS.divmod(kk, k, rs);
    return tap_at(row, rs, k, ok);
  }
  // Channel k at tap rs = r·S + s of the row's pixel.
  __device__ __forceinline__ dy_tap tap_at(const a_row_t& row, int rs, int k, bool ok) const {
    int r, s;
    S.divmod(rs, r, s);
    const int ph = row.hp - r, qw = row.wp - s;  // may be < 0: then the quotients are unused
    int pp, ph_rem, q, qw_rem;
    stride.divmod(ph, pp, ph_rem);
    stride.divmod(qw, q, qw_rem);
    const bool in = ok && ph >= 0 && qw >= 0 && (ph_rem | qw_rem) == 0 && pp < P && q < Q;
    return dy_tap::make(in, k, pp * Q + q, P * Q);
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    const dy_tap t = a_tap(row, kk, ok);
    return load_or_zero(row.img + t.idx, t.in);
  }
  using b_col_t = const float*;  // w[0, c]
  __device__ __forceinline__ b_col_t b_col(int c) const { return w + int64_t(c) * RS.d; }
  // w[k, c, r, s] from w[0, c], tap rs.
  __device__ __forceinline__ int w_off(int k, int rs) const { return k * C * RS.d + rs; }
  __device__ __forceinline__ float b(b_col_t col, int kk, bool ok) const {
    int k, rs;
    RS.divmod(kk, k, rs);
    return load_or_zero(col + (ok ? w_off(k, rs) : 0), ok);
  }
};

// dgrad of a strided conv, one output phase (kernels/conv2d_dgrad.cu v5, v10, v11): the dx pixels with
// (h + pad) mod σ = a and (w + pad) mod σ = b, σ = stride. Only the taps r ≡ a, s ≡ b (mod σ) reach
// them, so this GEMM has no zero taps: for dx row i of the phase (h = h0 + σ·i) and tap j
// (r = a + σ·j), p = i − j + off_h with off_h = (h0 + pad − a)/σ (exact), likewise q.
//   A[(n,i,i'), (k,j,j')] = dy[n, k, i − j + off_h, i' − j' + off_w]  (0 outside P × Q)
//   B[(k,j,j'), c] = w[k, c, a + σ·j, b + σ·j']
//   GEMM: M = N·Hp·Wp, N = C, K = K·Rp·Sp (Rp = ⌈(R − a)/σ⌉ taps; 0 when a ≥ R: dx = 0 there)
struct conv2d_dgrad_phase_gather {
  const float* __restrict__ dy;
  const float* __restrict__ w;  // w[0, 0, a, b]
  int C, K, P, Q, S, RS, CRS, stride;
  int h0, w0, off_h, off_w;  // first dx row / column of the phase; p = i − j + off_h
  int M, KRS;                // the phase's GEMM: N·Hp·Wp rows, K·Rp·Sp reduction
  fast_divmod HWp, Wp, RSp, Sp;
  static conv2d_dgrad_phase_gather make(const Conv2dGeom& p, const float* dy, const float* w, int a,
                                        int b) {
    const int sg = p.stride;
    const int h0 = ((a - p.pad) % sg + sg) % sg, w0 = ((b - p.pad) % sg + sg) % sg;
    const int Hp = h0 < p.H ? (p.H - h0 + sg - 1) / sg : 0,
              Wp = w0 < p.W ? (p.W - w0 + sg - 1) / sg : 0;
    const int Rp = a < p.R ? (p.R - a + sg - 1) / sg : 0,
              Sp = b < p.S ? (p.S - b + sg - 1) / sg : 0;
    conv2d_dgrad_phase_gather g{};
    g.dy = dy, g.w = w + a * p.S + b;
    g.C = p.C, g.K = p.K, g.P = p.P, g.Q = p.Q, g.S = p.S, g.RS = p.R * p.S;
    g.CRS = p.C * p.R * p.S, g.stride = sg;
    g.h0 = h0, g.w0 = w0, g.off_h = (h0 + p.pad - a) / sg, g.off_w = (w0 + p.pad - b) / sg;
    g.M = p.N * Hp * Wp, g.KRS = p.K * Rp * Sp;
    g.HWp = fast_divmod(Hp * Wp > 0 ? Hp * Wp : 1), g.Wp = fast_divmod(Wp > 0 ? Wp : 1);
    g.RSp = fast_divmod(Rp * Sp > 0 ? Rp * Sp : 1), g.Sp = fast_divmod(Sp > 0 ? Sp : 1);
    return g;
  }
  struct a_row_t {
    const float* __restrict__ img;  // dy[n]
    int pi, qi;                     // i + off_h, i' + off_w: p and q of tap (0, 0)
  };
  __device__ __forceinline__ a_row_t a_row(int m) const {
    int n, ij, i, i2;
    HWp.divmod(m, n, ij);
    Wp.divmod(ij, i, i2);
    return {dy + int64_t(n) * K * P * Q, i + off_h, i2 + off_w};
  }
  __device__ __forceinline__ dy_tap a_tap(const a_row_t& row, int kk, bool ok) const {
    int k, jj;
    RSp.divmod(kk, k, jj);
    return tap_at(row, jj, k, ok);
  }
  // Channel k at the phase's tap jj = j·Sp + j'.
  __device__ __forceinline__ dy_tap tap_at(const a_row_t& row, int jj, int k, bool ok) const {
    int j, j2;
    Sp.divmod(jj, j, j2);
    const int pp = row.pi - j, q = row.qi - j2;
    const bool in = ok && unsigned(pp) < unsigned(P) && unsigned(q) < unsigned(Q);
    return dy_tap::make(in, k, pp * Q + q, P * Q);
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    const dy_tap t = a_tap(row, kk, ok);
    return load_or_zero(row.img + t.idx, t.in);
  }
  using b_col_t = const float*;  // w[0, c, a, b]
  __device__ __forceinline__ b_col_t b_col(int c) const { return w + int64_t(c) * RS; }
  // w[k, c, a + σ·j, b + σ·j'] from w[0, c, a, b], tap jj.
  __device__ __forceinline__ int w_off(int k, int jj) const {
    int j, j2;
    Sp.divmod(jj, j, j2);
    return k * CRS + (j * S + j2) * stride;
  }
  __device__ __forceinline__ float b(b_col_t col, int kk, bool ok) const {
    int k, jj;
    RSp.divmod(kk, k, jj);
    return load_or_zero(col + (ok ? w_off(k, jj) : 0), ok);
  }
  // The dx index of GEMM row m, channel c (N×C×H×W).
  __device__ __forceinline__ int64_t dx_index(int m, int c, int H, int W) const {
    int n, ij, i, i2;
    HWp.divmod(m, n, ij);
    Wp.divmod(ij, i, i2);
    return ((int64_t(n) * C + c) * H + h0 + stride * i) * W + w0 + stride * i2;
  }
};

// wgrad: GEMM_M = K, GEMM_N = C·R·S, GEMM_K = N·P·Q.
//   A[k, (n,p,q)] = dy[n, k, p, q],  B[(n,p,q), (c,r,s)] = x[n, c, p·stride − pad + r, q·stride − pad + s]
struct conv2d_wgrad_gather_fast {
  // A's reduction index runs along a dy row (consecutive pixels): the loader reads it kk-fastest.
  static constexpr bool a_kk_fastest = true;
  const float* __restrict__ x;
  const float* __restrict__ dy;
  int C, H, W, K, stride;
  fast_divmod PQ, Q;
  int R, S, pad;
  static conv2d_wgrad_gather_fast make(const Conv2dGeom& p, const float* x, const float* dy) {
    return {x,   dy,  p.C,  p.H, p.W, p.K, p.stride, fast_divmod(p.P * p.Q), fast_divmod(p.Q),
            p.R, p.S, p.pad};
  }
  using a_row_t = const float*;  // dy[0, k]
  __device__ __forceinline__ a_row_t a_row(int k) const { return dy + int64_t(k) * PQ.d; }
  __device__ __forceinline__ float a(a_row_t row, int m, bool ok) const {
    int n, pq;
    PQ.divmod(m, n, pq);
    return load_or_zero_at(row, n * K * PQ.d + pq, ok);
  }
  struct b_col_t {
    const float* __restrict__ chan;  // x[0, c]
    int r0, s0;                      // r − pad, s − pad
  };
  // j = (c, r, s): decoded once per thread with plain division (outside the k loop).
  __device__ __forceinline__ b_col_t b_col(int j) const {
    const int RS = R * S, c = j / RS, rs = j - c * RS, r = rs / S;
    return {x + int64_t(c) * H * W, r - pad, rs - r * S - pad};
  }
  __device__ __forceinline__ float b(const b_col_t& col, int m, bool ok) const {
    int n, pq, p, q;
    PQ.divmod(m, n, pq);
    Q.divmod(pq, p, q);
    const int h = p * stride + col.r0, ww = q * stride + col.s0;
    const bool in = ok && unsigned(h) < unsigned(H) && unsigned(ww) < unsigned(W);
    return load_or_zero_at(col.chan, n * C * H * W + h * W + ww, in);
  }
};

// dgrad, tap-major (v3–v11 when K is a multiple of the tile's BK): Base's GEMM
// (conv2d_dgrad_gather_fast, or a phase's conv2d_dgrad_phase_gather) with its reduction reordered —
// kk = tap·K + k instead of k·taps + tap:
//   A[(n,h,w), (tap,k)] = dy[n, k, p, q] (p, q of the tap, as before),  B[(tap,k), c] = w[k, c, tap].
// A slice of BK consecutive kk that starts at a multiple of BK then lies inside one tap, so the
// whole decode — kk into (tap, k), the tap into (r, s), the stride divmods and the bounds, ~40
// instructions — is a thread's once per slice (a_slice), not once per element: its elements in the
// slice are the same pixel of channels k + dk (dk = 0, 2, 4, …: the loader's a_kk), each one
// multiply-add for the address (dk·P·Q floats) and a load (a_at). The loader calls a_slice/a_at
// when a gather has them (kernels/implicit_gemm_loader.cuh); a() is the same element for any
// other caller.
template <class Base>
struct dgrad_gather_tap_major : Base {
  fast_divmod Kd;
  template <class... Args>
  static dgrad_gather_tap_major make(const Conv2dGeom& p, Args... args) {
    return {Base::make(p, args...), fast_divmod(p.K)};
  }
  using typename Base::a_row_t;
  struct a_slice_t {
    const float* __restrict__ at;  // dy[n, k, p, q] of the slice's kk (dy[n] when !in)
    int i, k;                      // its offset in dy[n] and its channel (0 when !in)
    bool in;
  };
  __device__ __forceinline__ a_slice_t a_slice(const a_row_t& row, int kk, bool ok) const {
    int tap, k;
    Kd.divmod(kk, tap, k);
    const dy_tap t = this->tap_at(row, tap, k, ok);
    return {row.img + t.idx, t.idx, t.k, t.in};
  }
  // The slice's element kk + dk (0 ≤ dk < BK ≤ K: the same tap, channel k + dk, inside dy[n] even
  // when !in). ok: the loader's kk + dk < k_end.
  __device__ __forceinline__ float a_at(const a_slice_t& sl, int dk, bool ok) const {
    return load_or_zero(sl.at + dk * this->P * this->Q, sl.in && ok);
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    return a_at(a_slice(row, kk, ok), 0, true);
  }
  __device__ __forceinline__ float b(typename Base::b_col_t col, int kk, bool ok) const {
    int tap, k;
    Kd.divmod(kk, tap, k);
    return load_or_zero(col + (ok ? this->w_off(k, tap) : 0), ok);
  }
};
using conv2d_dgrad_gather_tap = dgrad_gather_tap_major<conv2d_dgrad_gather_fast>;
using conv2d_dgrad_phase_gather_tap = dgrad_gather_tap_major<conv2d_dgrad_phase_gather>;

// Base::consts_t (the prologue gather's per-element constants), for type_if: what
// fprop_gather_tap_major's a_full_t keeps beside x where Base transforms x, else no_consts.
template <class Base>
struct consts_of {
  using type = typename Base::consts_t;
};
struct no_consts {};

// fprop, tap-major (when C is a multiple of the tile's BK: every layer but a network's first):
// the same reorder for fprop's reduction, kk = (r·S + s)·C + c instead of (c·R + r)·S + s —
//   A[(n,p,q), (r,s,c)] = x[n, c, p·σ − pad + r, q·σ − pad + s],   B[(r,s,c), k] = w[k, c, r, s]
// — so a thread's slice of A is one input pixel of channels c + dk: a_slice decodes the tap and
// checks the bounds once, a_at adds dk·H·W. Base: conv2d_fprop_gather_fast, or its prologue
// (conv2d_fprop_gather_act, conv_gather_act.cuh), whose value() applies the activation of channel
// c + dk at the slice's position. B's (c, tap) is one divmod, the same for a thread's columns.
template <class Base>
struct fprop_gather_tap_major : Base {
  fast_divmod Cd;
  template <class... Args>
  static fprop_gather_tap_major make(const Conv2dGeom& p, Args... args) {
    return {Base::make(p, args...), fast_divmod(p.C)};
  }
  using typename Base::a_row_t;
  struct a_slice_t {
    const float* __restrict__ at;  // x[n, c, h, w] of the slice's kk (x[n] when !in)
    int c, hw;                     // its channel and position (0 when !in)
    bool in;
  };
  __device__ __forceinline__ a_slice_t a_slice(const a_row_t& row, int kk, bool ok) const {
    int tap, c, r, s;
    Cd.divmod(kk, tap, c);
    this->S.divmod(tap, r, s);
    const int h = row.h0 + r, ww = row.w0 + s;
    const bool in = ok && unsigned(h) < unsigned(this->H) && unsigned(ww) < unsigned(this->W);
    const int hw = in ? h * this->W + ww : 0, cc = in ? c : 0;
    return {row.img + cc * this->H * this->W + hw, cc, hw, in};
  }
  // The slice's element kk + dk (0 ≤ dk < BK ≤ C: channel c + dk, inside x[n] even when !in), in
  // two steps: a_raw, its load (0 when out of the image), and a_finish, what the GEMM sees of it.
  // A Base whose value() is not x itself (the prologue) says `transforms_x`; the loader then
  // calls a_finish only when it stores the slice, after the math, so that applying the activation
  // does not wait for the load (a_deferred).
  static constexpr bool a_deferred = Base::transforms_x;
  __device__ __forceinline__ float a_raw(const a_slice_t& sl, int dk, bool ok) const {
    return load_or_zero(sl.at + dk * this->H * this->W, sl.in && ok);
  }
  __device__ __forceinline__ float a_finish(const a_slice_t& sl, int dk, bool ok, float x) const {
    if constexpr (Base::transforms_x) {
      // Evaluated for every element (its channel and position are valid even when !in): a
      // conditional evaluation compiled to a branch around value()'s loads.
      const float v = this->value(x, sl.c + dk, sl.hw);
      return sl.in && ok ? v : 0.0f;
    } else {
      return x;
    }
  }
  // a_raw and a_finish with the activation's per-element constants (scale, shift, the mask byte)
  // loaded by the first, with x, instead of by the second: they then fly during the slice's math
  // too, for 3 more registers an element — what the loader does for tiles with registers to spare
  // (kernels/implicit_gemm_loader.cuh, a_full). Same value, bit for bit.
  struct a_full_t {
    float x;
    type_if<Base::transforms_x, consts_of<Base>, no_consts> k;
  };
  // (Called by the loader only when a_deferred, i.e. when Base has consts() and value(x, k).)
  __device__ __forceinline__ a_full_t a_raw_full(const a_slice_t& sl, int dk, bool ok) const {
    return {a_raw(sl, dk, ok), this->consts(sl.c + dk, sl.hw)};
  }
  __device__ __forceinline__ float a_finish_full(const a_slice_t& sl, int /*dk*/, bool ok,
                                                 const a_full_t& r) const {
    const float v = this->value(r.x, r.k);
    return sl.in && ok ? v : 0.0f;
  }
  __device__ __forceinline__ float a_at(const a_slice_t& sl, int dk, bool ok) const {
    return a_finish(sl, dk, ok, a_raw(sl, dk, ok));
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    return a_at(a_slice(row, kk, ok), 0, true);
  }
  __device__ __forceinline__ float b(typename Base::b_col_t col, int kk, bool ok) const {
    int tap, c;
    Cd.divmod(kk, tap, c);
    return load_or_zero(col + (ok ? c * this->RS.d + tap : 0), ok);
  }
};
using conv2d_fprop_gather_tap = fprop_gather_tap_major<conv2d_fprop_gather_fast>;

}  // namespace senet::detail
