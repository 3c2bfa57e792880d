// engine/cpu/winograd_kernels.h — F(2×2, 3×3) (engine/cpu/winograd.h has the math) written over a
// vector type V (engine/cpu/simd.h), compiled per ISA by winograd_avx512.cpp / winograd_avx2.cpp.
// Vectors run over channels everywhere (16 or 8 lanes):
//   1. image_to_blocked   one image → channel-blocked, zero-padded [C/V][2·TP+2][2·TQ+2][V]
//   2. input_transform    per tile: 16 patch vectors → V_ξ (adds only), stored V[ξ][t][C]
//   3. gemm_tile          the products: acc[UR][UK] += a (broadcast) × b (UK vectors), over L
//   4. output_transform   per tile: M_·[t][K] → the 2×2 output, into a blocked tile buffer
//   5. fprop_images       chunks of images on one thread: 1 → 2 → 3 → 4 → NCHW rows + hook
//   6. wgrad              chunks on all threads: V and Ŷ (A dy Aᵀ), then (ξ, c-group) units of 3
#pragma once
#include <algorithm>
#include <array>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/direct_conv_kernels.h"
#include "engine/cpu/winograd.h"

namespace senet::cpu::SENET_SIMD_NS {

// Leading dimension of the V, U, M, Ŷ matrices for n channels: one cache line more than n when n is
// a multiple of 64, so that the rows a product kernel walks at once (6 broadcast rows, the filter
// rows) do not all fall into the same two L1 sets (at n = 512 they did: the products ran at 45 %
// of the FMA peak).
constexpr int64_t wino_ld(int64_t n) { return n % 64 == 0 ? n + 16 : n; }

struct WinoGeom {
  int C, K, H, W, TP, TQ, Hb,
      Wb;  // tiles ⌈H/2⌉ × ⌈W/2⌉; blocked image Hb × Wb (padding 1 + the odd edge)
  int64_t tiles() const { return int64_t(TP) * TQ; }
};
inline WinoGeom wino_geom(int C, int K, int H, int W) {
  WinoGeom w{C, K, H, W, (H + 1) / 2, (W + 1) / 2, 0, 0};
  w.Hb = 2 * w.TP + 2;
  w.Wb = 2 * w.TQ + 2;
  return w;
}

// ---------------------------------------------------------------------------------------------
// 1. One image x (C×H×W, NCHW) → xb[cb][1 + h][1 + v][l] = x[cb·V + l][h][v], zeros around
// (one pixel of padding, plus the row/column an odd H or W leaves in the last tile).
template <class V>
void image_to_blocked(const float* x, const WinoGeom& g, float* xb) {
  constexpr int N = V::N;
  const int Cb = (g.C + N - 1) / N;
  const int64_t HW = int64_t(g.H) * g.W;
  for (int cb = 0; cb < Cb; ++cb) {
    float* d = xb + int64_t(cb) * g.Hb * g.Wb * N;
    const int valid = std::min(N, g.C - cb * N);
    for (int i = 0; i < g.Wb * N; ++i) d[i] = 0.f;  // top padding row
    for (int h = 0; h < g.H; ++h) {
      float* row = d + int64_t(1 + h) * g.Wb * N;
      V::store(row, V::zero());
      for (int v = 1 + g.W; v < g.Wb; ++v) V::store(row + v * N, V::zero());
      // 16 (or 8) pixels × V channels at a time through the register transpose
      const float* src = x + int64_t(cb) * N * HW + int64_t(h) * g.W;
      int v = 0;
      for (; v + N <= g.W; v += N) {
        typename V::T t[N];
        for (int l = 0; l < N; ++l) t[l] = l < valid ? V::load(src + l * HW + v) : V::zero();
        V::transpose(t);
        for (int j = 0; j < N; ++j) V::store(row + (1 + v + j) * N, t[j]);
      }
      for (; v < g.W; ++v)
        for (int l = 0; l < N; ++l) row[(1 + v) * N + l] = l < valid ? src[l * HW + v] : 0.f;
    }
    for (int h = 1 + g.H; h < g.Hb; ++h)
      for (int i = 0; i < g.Wb * N; ++i) d[int64_t(h) * g.Wb * N + i] = 0.f;
  }
}

// ---------------------------------------------------------------------------------------------
// 2. V_ξ = Bᵀ d B for tile (ti, tj) of a blocked image, all channel blocks: vt[ξ·xi_stride + cb·V].
template <class V>
void input_transform(const float* xb, const WinoGeom& g, int ti, int tj, float* vt,
                     int64_t xi_stride) {
  constexpr int N = V::N;
  using T = typename V::T;
  const int Cb = (g.C + N - 1) / N;
  for (int cb = 0; cb < Cb; ++cb) {
    const float* p = xb + ((int64_t(cb) * g.Hb + 2 * ti) * g.Wb + 2 * tj) * N;
    T d[4][4], t[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) d[i][j] = V::load(p + (int64_t(i) * g.Wb + j) * N);
    for (int j = 0; j < 4; ++j) {  // t = Bᵀ d
      t[0][j] = V::sub(d[0][j], d[2][j]);
      t[1][j] = V::add(d[1][j], d[2][j]);
      t[2][j] = V::sub(d[2][j], d[1][j]);
      t[3][j] = V::sub(d[1][j], d[3][j]);
    }
    float* out = vt + cb * N;
    for (int i = 0; i < 4; ++i) {  // V = t B
      V::store(out + (4 * i + 0) * xi_stride, V::sub(t[i][0], t[i][2]));
      V::store(out + (4 * i + 1) * xi_stride, V::add(t[i][1], t[i][2]));
      V::store(out + (4 * i + 2) * xi_stride, V::sub(t[i][2], t[i][1]));
      V::store(out + (4 * i + 3) * xi_stride, V::sub(t[i][1], t[i][3]));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 3. gemm_tile: acc[r][u] (+)= Σ_{i<L} a[r·a_rs + i·a_is] · b[i·b_is + u·V]  (vectors of b)
// fprop/dgrad: r = tile, i = input channel (a = V_ξ, b = U_ξ). wgrad: r = channel, i = tile (a =
// V_ξ, b = Ŷ_ξ), accumulating across chunks. UR·UK accumulators + UK + 1 registers.
template <class V, int UR, int UK, bool ACC>
void gemm_tile(const float* a, int64_t a_rs, int64_t a_is, const float* b, int64_t b_is, int L,
               float* c, int64_t c_rs) {
  using T = typename V::T;
  constexpr int N = V::N;
  T acc[UR][UK];
  static_for<UR>([&](auto r) {
    static_for<UK>([&](auto u) { acc[r][u] = ACC ? V::load(c + r * c_rs + u * N) : V::zero(); });
  });
  for (int i = 0; i < L; ++i) {
    T bv[UK];
    static_for<UK>([&](auto u) { bv[u] = V::load(b + i * b_is + u * N); });
    static_for<UR>([&](auto r) {
      const T s = V::bcast(a + r * a_rs + i * a_is);
      static_for<UK>([&](auto u) { acc[r][u] = V::fma(s, bv[u], acc[r][u]); });
    });
  }
  static_for<UR>(
      [&](auto r) { static_for<UK>([&](auto u) { V::store(c + r * c_rs + u * N, acc[r][u]); }); });
}

constexpr int max_ur(int uk) { return std::min(14, (kRegs - 1 - uk) / uk); }
using GemmFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, int, float*,
                        int64_t);
constexpr int kMaxUR = 14;

template <class V, int UK, bool ACC, int UR>
constexpr GemmFn gemm_or_null() {
  if constexpr (UR <= max_ur(UK))
    return &gemm_tile<V, UR, UK, ACC>;
  else
    return nullptr;
}
template <class V, int UK, bool ACC, int... R>
constexpr std::array<GemmFn, kMaxUR + 1> gemm_table(std::integer_sequence<int, R...>) {
  return {nullptr, gemm_or_null<V, UK, ACC, R + 1>()...};
}
template <class V>
GemmFn gemm_fn(int uk, bool acc, int ur) {
  using Seq = std::make_integer_sequence<int, kMaxUR>;
  static const std::array<GemmFn, kMaxUR + 1> t[2][3] = {
      {gemm_table<V, 1, false>(Seq{}), gemm_table<V, 2, false>(Seq{}),
       gemm_table<V, 4, false>(Seq{})},
      {gemm_table<V, 1, true>(Seq{}), gemm_table<V, 2, true>(Seq{}),
       gemm_table<V, 4, true>(Seq{})}};
  GemmFn f = t[acc ? 1 : 0][uk == 1 ? 0 : uk == 2 ? 1 : 2][ur];
  SENET_CHECK(f, "winograd: no product kernel for UK=", uk, " UR=", ur);
  return f;
}

// C[r][0..Kb·V) (+)= Σ_i A[r, i] · B[i][·] for rows [0, rows): UK-vector column groups (4, 2, 1 as
// the block count allows), rows in tiles of max_ur(UK).
template <class V>
void gemm(const float* a, int64_t a_rs, int64_t a_is, const float* b, int64_t b_is, int L, int rows,
          int Kb, float* c, int64_t c_rs, bool accumulate) {
  constexpr int N = V::N;
  int kb = 0;
  for (int uk : {4, 2, 1}) {
    if (max_ur(uk) < 1) continue;
    for (; kb + uk <= Kb; kb += uk) {
      const int umax = max_ur(uk);
      for (int r = 0; r < rows; r += umax) {
        const int ur = std::min(umax, rows - r);
        gemm_fn<V>(uk, accumulate, ur)(a + r * a_rs, a_rs, a_is, b + kb * N, b_is, L,
                                       c + r * c_rs + kb * N, c_rs);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Output transform of tile (ti, tj), all K blocks: Y = Aᵀ M A from m[ξ·xi_stride + kb·V], into the
// blocked buffer out[kb][P][Q][V] (the 2×2 clipped to the plane).
template <class V>
void output_transform(const float* m, int64_t xi_stride, int Kb, int P, int Q, int ti, int tj,
                      float* out) {
  constexpr int N = V::N;
  using T = typename V::T;
  for (int kb = 0; kb < Kb; ++kb) {
    T M[4][4], s[2][4];
    for (int xi = 0; xi < 16; ++xi) M[xi / 4][xi % 4] = V::load(m + xi * xi_stride + kb * N);
    for (int j = 0; j < 4; ++j) {  // s = Aᵀ M
      s[0][j] = V::add(V::add(M[0][j], M[1][j]), M[2][j]);
      s[1][j] = V::sub(V::sub(M[1][j], M[2][j]), M[3][j]);
    }
    float* o = out + int64_t(kb) * P * Q * N;
    for (int i = 0; i < 2 && 2 * ti + i < P; ++i) {  // Y = s A
      const T y0 = V::add(V::add(s[i][0], s[i][1]), s[i][2]);
      const T y1 = V::sub(V::sub(s[i][1], s[i][2]), s[i][3]);
      float* row = o + (int64_t(2 * ti + i) * Q + 2 * tj) * N;
      V::store(row, y0);
      if (2 * tj + 1 < Q) V::store(row + N, y1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The filter transform U = G g Gᵀ (engine/cpu/winograd.cpp has the scalar one, the reference),
// V filters at a time: fprop rows c, vectors over k (U[ξ][c][ld]); dgrad (flip) rows k, vectors over
// c, filter rotated by 180° (U[ξ][k][ld]). The V filters' 9 taps come in by a V×V transpose of V
// rows of 9 floats.
template <class V>
void filter_transform(const float* w, int K, int C, bool flip, float* U, int64_t ld) {
  constexpr int N = V::N;
  using T = typename V::T;
  const int rows = flip ? K : C, cols = flip ? C : K, cb_n = (cols + N - 1) / N;
  const T half = V::set1(0.5f);
  parallel_for(0, rows, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int cb = 0; cb < cb_n; ++cb) {
        const int valid = std::min(N, cols - cb * N);
        T t[N > 9 ? N : 16];
        for (int l = 0; l < N; ++l) {
          if (l >= valid) {
            t[l] = V::zero();
            continue;
          }
          const int k = flip ? int(r) : cb * N + l, c = flip ? cb * N + l : int(r);
          t[l] = V::load_n(w + (int64_t(k) * C + c) * 9, 9);
        }
        T g[9];
        if constexpr (N >= 9) {
          V::transpose(t);  // t[i] = tap i of the N filters
          for (int i = 0; i < 9; ++i) g[i] = t[flip ? 8 - i : i];
        } else {  // 8 lanes: taps 0–7 by the transpose, tap 8 by hand
          alignas(64) float tap8[N];
          for (int l = 0; l < N; ++l) {
            const int k = flip ? int(r) : cb * N + l, c = flip ? cb * N + l : int(r);
            tap8[l] = l < valid ? w[(int64_t(k) * C + c) * 9 + 8] : 0.f;
          }
          V::transpose(t);
          for (int i = 0; i < 8; ++i) g[flip ? 8 - i : i] = t[i];
          g[flip ? 0 : 8] = V::load(tap8);
        }
        T h[4][3];  // h = G g
        for (int j = 0; j < 3; ++j) {
          const T a = g[j], b = g[3 + j], c = g[6 + j];
          h[0][j] = a;
          h[1][j] = V::mul(half, V::add(V::add(a, b), c));
          h[2][j] = V::mul(half, V::add(V::sub(a, b), c));
          h[3][j] = c;
        }
        float* out = U + r * ld + cb * N;
        const int64_t xs = int64_t(rows) * ld;
        for (int i = 0; i < 4; ++i) {  // U = h Gᵀ
          const T a = h[i][0], b = h[i][1], c = h[i][2];
          V::store(out + (4 * i + 0) * xs, a);
          V::store(out + (4 * i + 1) * xs, V::mul(half, V::add(V::add(a, b), c)));
          V::store(out + (4 * i + 2) * xs, V::mul(half, V::add(V::sub(a, b), c)));
          V::store(out + (4 * i + 3) * xs, c);
        }
      }
  });
}

// ---------------------------------------------------------------------------------------------
// 5. fprop on one thread's images [n_begin, n_end): in (Cin×H×W per image) → out (Cout×H×W), with
// the transformed filter U[ξ][Cin][Coutpad]; `in_of(n)` returns image n (for dgrad: dy_fill).
struct WinoScratch {
  Scratch xb, v, m, out;
};
inline WinoScratch& wino_scratch() {
  static thread_local WinoScratch s;
  return s;
}

// Images per chunk: ≈ 128 tiles (so the 16 filter matrices stream once per 128 tiles), whole images.
inline int wino_chunk(const WinoGeom& g) {
  return int(std::max<int64_t>(1, (128 + g.tiles() - 1) / g.tiles()));
}

template <class V, class InOf>
void fprop_images(const WinoGeom& g, const InOf& in_of, const float* U, int n_begin, int n_end,
                  float* y, int tid, const ConvRowsHook& hook) {
  constexpr int N = V::N;
  const int Cb = (g.C + N - 1) / N, Kb = (g.K + N - 1) / N;
  const int64_t Cp = wino_ld(int64_t(Cb) * N), Kp = wino_ld(int64_t(Kb) * N),
                HW = int64_t(g.H) * g.W;
  const int64_t T1 = g.tiles();
  const int ipc = wino_chunk(g);
  WinoScratch& s = wino_scratch();
  float* xb = s.xb.get(size_t(Cb) * g.Hb * g.Wb * N);
  float* vbuf = s.v.get(size_t(16) * ipc * T1 * Cp);
  float* mbuf = s.m.get(size_t(16) * ipc * T1 * Kp);
  float* out = s.out.get(size_t(Kb) * HW * N);
  for (int n0 = n_begin; n0 < n_end; n0 += ipc) {
    const int cn = std::min(ipc, n_end - n0);
    const int64_t Tc = cn * T1;
    for (int j = 0; j < cn; ++j) {  // 1 + 2: blocked copy, input transform → V[ξ][t][Cp]
      image_to_blocked<V>(in_of(n0 + j), g, xb);
      for (int ti = 0; ti < g.TP; ++ti)
        for (int tj = 0; tj < g.TQ; ++tj)
          input_transform<V>(xb, g, ti, tj, vbuf + (j * T1 + ti * g.TQ + tj) * Cp, Tc * Cp);
    }
    for (int xi = 0; xi < 16; ++xi)  // 3: M_ξ = V_ξ · U_ξ   (U: [ξ][C][Kp])
      gemm<V>(vbuf + xi * Tc * Cp, Cp, 1, U + xi * g.C * Kp, Kp, g.C, int(Tc), Kb,
              mbuf + xi * Tc * Kp, Kp, false);
    for (int j = 0; j < cn; ++j) {  // 4: output transform, then NCHW rows (+ hook) per block
      for (int ti = 0; ti < g.TP; ++ti)
        for (int tj = 0; tj < g.TQ; ++tj)
          output_transform<V>(mbuf + (j * T1 + ti * g.TQ + tj) * Kp, Tc * Kp, Kb, g.H, g.W, ti, tj,
                              out);
      const int n = n0 + j;
      for (int kb = 0; kb < Kb; ++kb) {
        const int k0 = kb * N, k1 = std::min(g.K, k0 + N);
        float* rows = y + (int64_t(n) * g.K + k0) * HW;
        blocked_to_rows<V>(out + kb * HW * N, k1 - k0, HW, rows);
        if (hook) hook(tid, n, k0, k1, rows);
      }
    }
  }
}

template <class V>
void wino_fprop(const Conv2dGeom& cg, const float* x, const float* w, float* y,
                const ConvRowsHook& hook) {
  constexpr int N = V::N;
  const WinoGeom g = wino_geom(cg.C, cg.K, cg.H, cg.W);
  const int64_t Kp = wino_ld(int64_t((g.K + N - 1) / N) * N);
  float* U = thread_scratch().weights.get(size_t(16) * g.C * Kp);
  filter_transform<V>(w, g.K, g.C, false, U, Kp);
  const int64_t CHW = int64_t(g.C) * g.H * g.W;
  parallel_region([&](int tid, int nt) {
    int64_t b, e;
    chunk_range(0, cg.N, tid, nt, &b, &e);
    fprop_images<V>(
        g, [&](int n) { return x + n * CHW; }, U, int(b), int(e), y, tid, hook);
  });
}

// ---------------------------------------------------------------------------------------------
// 6. wgrad: dU_ξ[c][k] = Σ_t V_ξ[t][c]·Ŷ_ξ[t][k], Ŷ = A dy Aᵀ; units (ξ, group of UC channels) own
// their rows of dU, so the sums run in one order on any thread count.
template <class V>
void dy_transform(const float* dyb /* [Kb][P][Q][N] */, const WinoGeom& g, int ti, int tj,
                  float* yt, int64_t xi_stride) {
  constexpr int N = V::N;
  using T = typename V::T;
  const int Kb = (g.K + N - 1) / N;
  for (int kb = 0; kb < Kb; ++kb) {
    const float* p = dyb + int64_t(kb) * g.H * g.W * N;
    T d[2][2];
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) {
        const int h = 2 * ti + i, v = 2 * tj + j;
        d[i][j] = h < g.H && v < g.W ? V::load(p + (int64_t(h) * g.W + v) * N) : V::zero();
      }
    T r[4][2];  // r = A dy
    for (int j = 0; j < 2; ++j) {
      r[0][j] = d[0][j];
      r[1][j] = V::add(d[0][j], d[1][j]);
      r[2][j] = V::sub(d[0][j], d[1][j]);
      r[3][j] = V::sub(V::zero(), d[1][j]);
    }
    float* out = yt + kb * N;
    for (int i = 0; i < 4; ++i) {  // Ŷ = r Aᵀ
      V::store(out + (4 * i + 0) * xi_stride, r[i][0]);
      V::store(out + (4 * i + 1) * xi_stride, V::add(r[i][0], r[i][1]));
      V::store(out + (4 * i + 2) * xi_stride, V::sub(r[i][0], r[i][1]));
      V::store(out + (4 * i + 3) * xi_stride, V::sub(V::zero(), r[i][1]));
    }
  }
}

template <class V>
void wino_wgrad(const Conv2dGeom& cg, const float* x, const ConvDyFill& dy_fill, float* dw) {
  constexpr int N = V::N;
  const WinoGeom g = wino_geom(cg.C, cg.K, cg.H, cg.W);
  const int Cb = (g.C + N - 1) / N, Kb = (g.K + N - 1) / N;
  const int64_t Cp = wino_ld(int64_t(Cb) * N), Kp = wino_ld(int64_t(Kb) * N),
                HW = int64_t(g.H) * g.W;
  const int64_t T1 = g.tiles();
  const int T = region_threads();
  const int ipc = std::max(wino_chunk(g), T);  // every thread transforms an image of each chunk
  ThreadScratch& main = thread_scratch();
  float* dU = main.dw_acc.get(size_t(16) * g.C * Kp, /*zero=*/true);
  float* vbuf = main.chunk_x.get(size_t(16) * ipc * T1 * Cp);
  float* ybuf = main.chunk_dy.get(size_t(16) * ipc * T1 * Kp);
  const int64_t CHW = int64_t(g.C) * HW;
  // Units: (ξ, UC channels); UC a multiple of the product kernel's rows, small enough for ≥ 2 units
  // per thread.
  int uc = 4 * max_ur(Kb >= 4 ? 4 : Kb >= 2 ? 2 : 1);
  while (uc > 1 && int64_t(16) * ((g.C + uc - 1) / uc) < 2 * T) uc = (uc + 1) / 2;
  const int cgroups = (g.C + uc - 1) / uc;
  RegionBarrier barrier(T);
  parallel_region([&](int tid, int nt) {
    WinoScratch& s = wino_scratch();
    float* xb = s.xb.get(size_t(Cb) * g.Hb * g.Wb * N);
    float* dyb = s.out.get(size_t(Kb) * HW * N);
    float* dyimg = thread_scratch().dy_img.get(size_t(g.K) * HW);
    for (int n0 = 0; n0 < cg.N; n0 += ipc) {
      const int cn = std::min(ipc, cg.N - n0);
      const int64_t Tc = cn * T1;
      int64_t b, e;
      chunk_range(0, cn, tid, nt, &b, &e);
      for (int64_t j = b; j < e; ++j) {  // V and Ŷ of the chunk's images
        const int n = n0 + int(j);
        image_to_blocked<V>(x + n * CHW, g, xb);
        const float* dyn = dy_fill(tid, n, 1, dyimg);
        for (int kb = 0; kb < Kb; ++kb)
          rows_to_blocked<V>(dyn + int64_t(kb) * N * HW, std::min(N, g.K - kb * N), HW,
                             dyb + kb * HW * N);
        for (int ti = 0; ti < g.TP; ++ti)
          for (int tj = 0; tj < g.TQ; ++tj) {
            const int64_t t = j * T1 + ti * g.TQ + tj;
            input_transform<V>(xb, g, ti, tj, vbuf + t * Cp, Tc * Cp);
            dy_transform<V>(dyb, g, ti, tj, ybuf + t * Kp, Tc * Kp);
          }
      }
      barrier.wait();
      chunk_range(0, int64_t(16) * cgroups, tid, nt, &b, &e);
      for (int64_t unit = b; unit < e; ++unit) {
        const int xi = int(unit / cgroups), c0 = int(unit % cgroups) * uc,
                  rows = std::min(uc, g.C - c0);
        // dU_ξ[c0 .. c0+rows)[·] += Σ_t V_ξ[t][c]·Ŷ_ξ[t][·]
        gemm<V>(vbuf + xi * Tc * Cp + c0, 1, Cp, ybuf + xi * Tc * Kp, Kp, int(Tc), rows, Kb,
                dU + (int64_t(xi) * g.C + c0) * Kp, Kp, true);
      }
      barrier.wait();
    }
  });
  winograd_filter_grad(dU, g.K, g.C, Kp, dw);
}

template <class V>
void wino_bprop(const Conv2dGeom& cg, const float* x, const float* w, const ConvDyFill& dy_fill,
                float* dx, float* dw) {
  constexpr int N = V::N;
  if (dx) {  // dgrad: F(2×2, 3×3) of dy with the flipped, transposed filter: K → C channels
    const WinoGeom g = wino_geom(cg.K, cg.C, cg.H, cg.W);
    const int64_t Cp = wino_ld(int64_t((cg.C + N - 1) / N) * N);
    float* U = thread_scratch().weights.get(size_t(16) * cg.K * Cp);
    filter_transform<V>(w, cg.K, cg.C, true, U, Cp);
    const int64_t KHW = int64_t(cg.K) * cg.H * cg.W;
    parallel_region([&](int tid, int nt) {
      int64_t b, e;
      chunk_range(0, cg.N, tid, nt, &b, &e);
      float* dyimg = thread_scratch().dy_img.get(size_t(KHW));
      fprop_images<V>(g, [&](int n) { return dy_fill(tid, n, 1, dyimg); }, U, int(b), int(e), dx,
                      tid, {});
    });
  }
  if (dw) wino_wgrad<V>(cg, x, dy_fill, dw);
}

}  // namespace senet::cpu::SENET_SIMD_NS
