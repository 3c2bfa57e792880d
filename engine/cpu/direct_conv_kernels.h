// engine/cpu/direct_conv_kernels.h — the direct convolution kernels, written once over a vector
// type V (engine/cpu/simd.h) and compiled per ISA by direct_conv_avx512.cpp / direct_conv_avx2.cpp.
// The design and the math are in engine/cpu/direct_conv.h; this file is the how:
//   1. gather_tile   the register-blocked microkernel: UQ output pixels × UK channel vectors
//   2. gather_plane  tiles one output plane (fprop, or one dgrad phase) with gather_tile
//   3. wgrad_unit    the weight-gradient microkernel: UKB × UC × S accumulator vectors
//   4. packing       weights → blocked layouts, images → zero-padded copies, blocked ↔ NCHW
//   5. fprop / bprop the drivers: chunks of images, threads, barriers, hooks
#pragma once
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/direct_conv.h"
#include "engine/cpu/simd.h"

namespace senet::cpu::SENET_SIMD_NS {

#if defined(__AVX512F__)
constexpr int kRegs = 32;  // zmm0–31 (ymm0–31 for F32x8 under AVX-512VL)
#else
constexpr int kRegs = 16;  // ymm0–15
#endif

// ---------------------------------------------------------------------------------------------
// Scratch: 64-byte aligned float buffers, one set per thread, grown on demand and kept.
class Scratch {
 public:
  float* get(size_t n, bool zero = false) {
    if (n > cap_) {
      buf_.reset();
      void* p = ::operator new[](n * sizeof(float) + 256, std::align_val_t(64), std::nothrow);
      if (!p)
        fail("out of host memory: direct conv scratch of ", (n * sizeof(float)) >> 20,
             " MiB; reduce the batch size or model width");
      buf_.reset(static_cast<float*>(p));
      cap_ = n;
      std::memset(p, 0, n * sizeof(float) + 256);  // the slack past n stays 0 (see wgrad)
    } else if (zero) {
      std::memset(buf_.get(), 0, n * sizeof(float));
    }
    return buf_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  std::unique_ptr<float[], Free> buf_;
  size_t cap_ = 0;
};

// What one thread keeps between calls: the tile buffer, the padded dy of an image, and (on the
// calling thread) the buffers shared by the region: packed weights, the chunk's images.
struct ThreadScratch {
  Scratch tile, dy_pad, dy_img;
  Scratch weights, chunk_x, chunk_dy, dw_acc;
};
inline ThreadScratch& thread_scratch() {
  static thread_local ThreadScratch s;
  return s;
}

// ---------------------------------------------------------------------------------------------
// 1. gather_tile: out[u][q] = Σ_c Σ_{r<R} Σ_{s<S} in[c][r][q·ST + s] · w[u][c][r][s]   (vectors)
// L / RT: the first L and last RT input columns of the tile are zero padding: skipped at compile
// time (no FMA on them, and never read, so the input needs no padded copy). `in` points at
// (channel 0, tap row 0, input column L of the tile); rows are in_rs apart, channels in_cs.
// `w` points at block u = 0, tap row 0 of a packed [C][R_all][S][V] panel: channels w_cs apart,
// blocks w_bs apart (R ≤ R_all: rows of zero padding are left out by the caller).
// Output pixel q of block u is stored at out + q·out_ps + u·out_bs (a blocked tile buffer).
struct GatherArgs {
  int64_t in_cs, in_rs;
  int C, R;
  int64_t w_cs, w_bs;
  int64_t out_ps, out_bs;
};

template <class V, int UQ, int UK, int S, int ST, int L, int RT>
void gather_tile(const GatherArgs& a, const float* in, const float* w, float* out) {
  using T = typename V::T;
  constexpr int N = V::N, span = (UQ - 1) * ST + S;
  T acc[UQ][UK];
  static_for<UQ>([&](auto q) { static_for<UK>([&](auto u) { acc[q][u] = V::zero(); }); });
  for (int c = 0; c < a.C; ++c) {
    const float* ic = in + c * a.in_cs;
    const float* wc = w + c * a.w_cs;
    for (int r = 0; r < a.R; ++r) {
      const float* row = ic + r * a.in_rs;
      const float* wr = wc + r * S * N;
      T wv[S][UK];
      static_for<S>([&](auto s) {
        static_for<UK>([&](auto u) { wv[s][u] = V::load(wr + s * N + u * a.w_bs); });
      });
      // Input column i of the tile feeds output q = (i − s)/ST for every tap s that divides.
      static_for<span>([&](auto i) {
        constexpr int iv = decltype(i)::value;
        if constexpr (iv >= L && iv < span - RT) {
          const T b = V::bcast(row + (iv - L));
          static_for<S>([&](auto s) {
            constexpr int d = iv - decltype(s)::value;
            if constexpr (d >= 0 && d % ST == 0 && d / ST < UQ) {
              static_for<UK>([&](auto u) { acc[d / ST][u] = V::fma(b, wv[s][u], acc[d / ST][u]); });
            }
          });
        }
      });
    }
  }
  static_for<UQ>([&](auto q) {
    static_for<UK>([&](auto u) { V::store(out + q * a.out_ps + u * a.out_bs, acc[q][u]); });
  });
}

// The widest tile that fits the registers: UQ·UK accumulators + S·UK weights + 1 broadcast.
constexpr int max_uq(int uk, int s) {
  int q = (kRegs - 1 - s * uk) / uk;
  return std::min(q, uk == 1 ? 16 : uk == 2 ? 11 : 4);
}

using TileFn = void (*)(const GatherArgs&, const float*, const float*, float*);
constexpr int kMaxUQ = 16;

// Which kernels exist (each one is a fully unrolled instantiation, and they dominate the build):
//  - S = 2 only at stride 1 (the 2-tap sub-kernels of stride-2 dgrad phases);
//  - the AVX-512 build's 8-lane vectors serve layers of ≤ 8 channels: one block, UK = 1;
//  - edge variants (a padding column skipped on the left, right or both) for S = 3, and for S = 2 on
//    the right (the only side its phases pad), at the tile widths the model layers use (W = 32 →
//    11/10 or 16, 16 → 8 or 16, 8, 4); other widths compute the padding's zeros: correct, slower.
template <class V, int UK, int S, int ST>
constexpr bool tiles_used() {
  if constexpr (S == 2 && ST == 2)
    return false;
  else if constexpr (V::N == 8 && kRegs == 32)
    return UK == 1;
  else
    return true;
}
constexpr bool has_edges(int uq) { return uq == 4 || uq == 8 || uq == 10 || uq == 11 || uq == 16; }
constexpr bool edges_used(int s, int l, int rt) { return s == 3 || (s == 2 && l == 0 && rt == 1); }

template <class V, int UK, int S, int ST, int UQ, int L, int RT>
constexpr TileFn tile_or_null() {
  if constexpr (tiles_used<V, UK, S, ST>() && UQ <= max_uq(UK, S) &&
                ((L == 0 && RT == 0) || (has_edges(UQ) && edges_used(S, L, RT))))
    return &gather_tile<V, UQ, UK, S, ST, L, RT>;
  else
    return nullptr;
}

template <class V, int UK, int S, int ST, int L, int RT, int... Q>
constexpr std::array<TileFn, kMaxUQ + 1> tile_table(std::integer_sequence<int, Q...>) {
  return {nullptr, tile_or_null<V, UK, S, ST, Q + 1, L, RT>()...};
}

// All tiles for one (UK, S, ST): [edge variant: none, left, right, both][UQ].
template <class V, int UK, int S, int ST>
struct TileSet {
  using Seq = std::make_integer_sequence<int, kMaxUQ>;
  static constexpr std::array<std::array<TileFn, kMaxUQ + 1>, 4> t = {
      tile_table<V, UK, S, ST, 0, 0>(Seq{}), tile_table<V, UK, S, ST, 1, 0>(Seq{}),
      tile_table<V, UK, S, ST, 0, 1>(Seq{}), tile_table<V, UK, S, ST, 1, 1>(Seq{})};
};

// The tile kernel for (UK, S, ST, UQ) that skips `left` / `right` padding columns (0 or 1) if such
// a variant exists; *skips = what the returned kernel skips (bit 0 left, bit 1 right): 0 when
// there is only the plain kernel, which then reads the padding. One function per kernel width S,
// so that the ISA builds can instantiate the three in separate translation units.
template <class V, int S>
TileFn tile_fn_s(int uk, int st, int uq, int left, int right, int* skips) {
  const int e = (left == 1 ? 1 : 0) + (right == 1 ? 2 : 0);
  auto pick = [&](const std::array<std::array<TileFn, kMaxUQ + 1>, 4>& t) {
    *skips = t[size_t(e)][size_t(uq)] ? e : 0;
    return t[size_t(e)][size_t(uq)] ? t[size_t(e)][size_t(uq)] : t[0][size_t(uq)];
  };
  TileFn f = nullptr;
#define SENET_TILESET(UK_, ST_) \
  if (uk == UK_ && st == ST_) f = pick(TileSet<V, UK_, S, ST_>::t)
  SENET_TILESET(1, 1);
  SENET_TILESET(1, 2);
  SENET_TILESET(2, 1);
  SENET_TILESET(2, 2);
  SENET_TILESET(4, 1);
  SENET_TILESET(4, 2);
#undef SENET_TILESET
  SENET_CHECK(f, "direct conv: no tile kernel for UK=", uk, " S=", S, " stride=", st, " UQ=", uq);
  return f;
}

template <class V>
TileFn tile_fn(int uk, int s, int st, int uq, int left, int right, int* skips) {
  if (s == 1) return tile_fn_s<V, 1>(uk, st, uq, left, right, skips);
  if (s == 2) return tile_fn_s<V, 2>(uk, st, uq, left, right, skips);
  return tile_fn_s<V, 3>(uk, st, uq, left, right, skips);
}

// ---------------------------------------------------------------------------------------------
// 2. gather_plane: one output plane of OH×OW pixels for a group of UK channel blocks.
// The input is described in its real coordinates: real pixel (0, 0) of channel 0 at `in`, data in
// rows [0, rows) × columns [0, cols), zero padding around. Output pixel (oy, ox) reads tap (r, s) at
// input (row0 + oy·ST + r, col0 + ox·ST + s). Taps on padding rows are left out per output row
// (R shrinks), padding columns by the edge tile variants; so `in` can be the tensor itself, with no
// padded copy, when every edge tile has its variant (plane_reads_data_only). Otherwise `in` points
// into a zero-padded copy and a tile without its variant reads the zeros.
struct GatherPlane {
  const float* in;
  int64_t in_cs, in_rs;
  int rows, cols, row0, col0;
  int C, R, S, ST;
  const float* w;  // block 0 of the group, [C][R][S][V]
  int64_t w_bs;
  int OH, OW;
  float* out;  // pixel (0, 0) of block 0
  int64_t out_rs, out_ps, out_bs;
};

// Tile widths along a row: balanced tiles of at most umax (e.g. 32 → 11, 11, 10).
inline int tiles_along(int ow, int umax, int* uq_big, int* n_big) {
  const int nt = (ow + umax - 1) / umax;
  *uq_big = (ow + nt - 1) / nt;
  *n_big = ow - (*uq_big - 1) * nt;  // tiles of uq_big, the rest uq_big − 1
  return nt;
}

// The tiles of one output row (the same for every row): first output column, kernel, and where
// its first read input column lies relative to col0 + x0·ST.
struct RowTiles {
  int n = 0;
  TileFn fn[64];
  int x0[64], skip_left[64];
  bool reads_padding = false;  // some tile lacks its edge variant
};

template <class V>
RowTiles row_tiles(const GatherPlane& p, int uk) {
  RowTiles t;
  int uq_big, n_big;
  t.n = tiles_along(p.OW, max_uq(uk, p.S), &uq_big, &n_big);
  SENET_CHECK(t.n <= 64, "direct conv: output rows of ", p.OW, " pixels are too wide");
  for (int i = 0, ox = 0; i < t.n; ++i) {
    const int uq = i < n_big ? uq_big : uq_big - 1;
    const int first = p.col0 + ox * p.ST, span = (uq - 1) * p.ST + p.S;
    const int left = std::max(0, -first), right = std::max(0, first + span - p.cols);
    int skips = 0;
    t.fn[i] = tile_fn<V>(uk, p.S, p.ST, uq, left, right, &skips);
    t.skip_left[i] = skips & 1;
    t.reads_padding |= (left > 0 && !(skips & 1)) || (right > 0 && !(skips & 2));
    t.x0[i] = ox;
    ox += uq;
  }
  return t;
}

template <class V>
bool plane_reads_data_only(const GatherPlane& p, int uk) {
  return !row_tiles<V>(p, uk).reads_padding;
}

template <class V>
void gather_plane(const GatherPlane& p, int uk) {
  constexpr int N = V::N;
  const RowTiles t = row_tiles<V>(p, uk);
  GatherArgs a{p.in_cs, p.in_rs, p.C, p.R, int64_t(p.R) * p.S * N, p.w_bs, p.out_ps, p.out_bs};
  for (int oy = 0; oy < p.OH; ++oy) {
    const int top = p.row0 + oy * p.ST;  // input row of tap row 0
    const int r0 = std::clamp(-top, 0, p.R), r1 = std::clamp(p.rows - top, r0, p.R);
    a.R = r1 - r0;
    const float* w = p.w + int64_t(r0) * p.S * N;
    float* out_row = p.out + oy * p.out_rs;
    for (int i = 0; i < t.n; ++i) {
      const int64_t off = int64_t(top + r0) * p.in_rs + p.col0 + t.x0[i] * p.ST + t.skip_left[i];
      t.fn[i](a, p.in + off, w, out_row + t.x0[i] * p.out_ps);
    }
  }
}

// Channel blocks per group: the UK with the fewest loads per FMA that divides the block count.
// Per input channel and kernel row a tile loads S·UK weight vectors and (UQ−1)·ST + S inputs for
// S·UQ·UK FMAs.
inline int choose_uk(int blocks, int ow, int s, int st) {
  int best = 1;
  double best_cost = 1e30;
  for (int uk : {1, 2, 4}) {
    if (blocks % uk != 0 || max_uq(uk, s) < 1) continue;
    int uq_big, n_big;
    const int nt = tiles_along(ow, max_uq(uk, s), &uq_big, &n_big);
    double loads = 0;
    for (int t = 0; t < nt; ++t) {
      const int uq = t < n_big ? uq_big : uq_big - 1;
      loads += s * uk + (uq - 1) * st + s;
    }
    const double cost = loads / (double(s) * ow * uk);  // loads per FMA
    if (cost < best_cost - 1e-9) {
      best_cost = cost;
      best = uk;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// 3. wgrad_unit: acc[u][c][s] += Σ_{images, rows p, columns q} dy[u][p][q] · x[c][p·ST + r − pad][q·ST + s − pad]
// for one kernel row r, over a chunk of images. dy rows are channel-blocked ([Q + 4][V], q = 0 at
// +2·V, two zero pixels each side). Only output rows [p0, p1) read real input rows (the others
// are skipped). At stride 1 the loop runs over the real input columns only: column j feeds the
// outputs q = j + pad − s, and the taps that fall off the row read dy's zero padding, so x is read
// in place (no copy) and the padding costs no FMA (at a 4×4 plane it was 1/3 of the work). At
// stride 2 the loop runs over a zero-padded copy of the row, two columns at a time.
struct WgradArgs {
  int p0, p1;                   // output rows whose input row is real
  int Q, W, pad;                // output columns, input columns (stride 1), padding
  int64_t x_cs, x_rs, x_is;     // x: channel, row, image strides
  int x_row0;                   // x row read by output row p: p·ST + x_row0
  int64_t dy_bs, dy_rs, dy_is;  // blocked dy: block, row, image strides
};

// x points at (image 0, channel c0, row 0, column 0) of the input it reads (the tensor at stride 1,
// the padded copy at stride 2), dy at (image 0, block kb0, row 0, pixel −2).
template <class V, int UKB, int UC, int S, int ST>
void wgrad_unit(const WgradArgs& a, const float* x, const float* dy, int nimg, float* acc_io,
                int64_t acc_cs, int64_t acc_bs) {
  using T = typename V::T;
  constexpr int N = V::N;
  T acc[UKB][UC][S];
  static_for<UKB>([&](auto u) {
    static_for<UC>([&](auto c) {
      static_for<S>(
          [&](auto s) { acc[u][c][s] = V::load(acc_io + u * acc_bs + c * acc_cs + s * N); });
    });
  });
  const int last = (a.Q - 1) * ST + S - 1;  // last padded input column any output reads (stride 2)
  for (int im = 0; im < nimg; ++im) {
    for (int row = a.p0; row < a.p1; ++row) {
      const float* xr = x + im * a.x_is + int64_t(row * ST + a.x_row0) * a.x_rs;
      const float* dr = dy + im * a.dy_is + row * a.dy_rs + 2 * N;  // q = 0
      if constexpr (ST == 1) {
        for (int j = 0; j < a.W; ++j) {
          T d[S][UKB];
          static_for<S>([&](auto s) {
            const float* dq = dr + (j + a.pad - decltype(s)::value) * N;
            static_for<UKB>([&](auto u) { d[s][u] = V::load(dq + u * a.dy_bs); });
          });
          static_for<UC>([&](auto c) {
            const T b = V::bcast(xr + c * a.x_cs + j);
            static_for<S>([&](auto s) {
              static_for<UKB>([&](auto u) { acc[u][c][s] = V::fma(b, d[s][u], acc[u][c][s]); });
            });
          });
        }
      } else {
        for (int iw = 0; iw <= last; iw += ST) {
          // Padded input columns iw .. iw+ST−1; column iw+ph feeds output q = iw/ST + (ph − s)/ST.
          static_for<ST>([&](auto ph) {
            T d[S][UKB];
            static_for<S>([&](auto s) {
              constexpr int e = decltype(ph)::value - decltype(s)::value;
              if constexpr (e % ST == 0) {
                const float* dq = dr + (iw / ST + e / ST) * N;
                static_for<UKB>([&](auto u) { d[s][u] = V::load(dq + u * a.dy_bs); });
              }
            });
            static_for<UC>([&](auto c) {
              const T b = V::bcast(xr + c * a.x_cs + iw + ph);
              static_for<S>([&](auto s) {
                constexpr int e = decltype(ph)::value - decltype(s)::value;
                if constexpr (e % ST == 0) {
                  static_for<UKB>([&](auto u) { acc[u][c][s] = V::fma(b, d[s][u], acc[u][c][s]); });
                }
              });
            });
          });
        }
      }
    }
  }
  static_for<UKB>([&](auto u) {
    static_for<UC>([&](auto c) {
      static_for<S>(
          [&](auto s) { V::store(acc_io + u * acc_bs + c * acc_cs + s * N, acc[u][c][s]); });
    });
  });
}

// Registers: UKB·UC·S accumulators + S·UKB dy vectors + 1 broadcast.
constexpr int max_uc(int ukb, int s) {
  return std::min(12, (kRegs - 1 - s * ukb - (kRegs == 32 ? 2 : 0)) / (ukb * s));
}

using WgradFn = void (*)(const WgradArgs&, const float*, const float*, int, float*, int64_t,
                         int64_t);
constexpr int kMaxUC = 12;

// The AVX-512 build's 8-lane vectors serve ≤ 8 output channels: one block.
template <class V, int UKB, int S, int ST, int UC>
constexpr WgradFn wgrad_or_null() {
  if constexpr (UC <= max_uc(UKB, S) && !(V::N == 8 && kRegs == 32 && UKB > 1))
    return &wgrad_unit<V, UKB, UC, S, ST>;
  else
    return nullptr;
}

template <class V, int UKB, int S, int ST, int... C>
constexpr std::array<WgradFn, kMaxUC + 1> wgrad_table(std::integer_sequence<int, C...>) {
  return {nullptr, wgrad_or_null<V, UKB, S, ST, C + 1>()...};
}

template <class V>
WgradFn wgrad_fn(int ukb, int s, int st, int uc) {
  using Seq = std::make_integer_sequence<int, kMaxUC>;
  static const std::array<WgradFn, kMaxUC + 1> t[3][3][2] = {
      {{wgrad_table<V, 1, 1, 1>(Seq{}), wgrad_table<V, 1, 1, 2>(Seq{})},
       {wgrad_table<V, 1, 2, 1>(Seq{}), wgrad_table<V, 1, 2, 2>(Seq{})},
       {wgrad_table<V, 1, 3, 1>(Seq{}), wgrad_table<V, 1, 3, 2>(Seq{})}},
      {{wgrad_table<V, 2, 1, 1>(Seq{}), wgrad_table<V, 2, 1, 2>(Seq{})},
       {wgrad_table<V, 2, 2, 1>(Seq{}), wgrad_table<V, 2, 2, 2>(Seq{})},
       {wgrad_table<V, 2, 3, 1>(Seq{}), wgrad_table<V, 2, 3, 2>(Seq{})}},
      {{wgrad_table<V, 4, 1, 1>(Seq{}), wgrad_table<V, 4, 1, 2>(Seq{})},
       {wgrad_table<V, 4, 2, 1>(Seq{}), wgrad_table<V, 4, 2, 2>(Seq{})},
       {wgrad_table<V, 4, 3, 1>(Seq{}), wgrad_table<V, 4, 3, 2>(Seq{})}}};
  const int ui = ukb == 1 ? 0 : ukb == 2 ? 1 : 2;
  WgradFn f = t[ui][s - 1][st - 1][uc];
  SENET_CHECK(f, "direct conv: no wgrad kernel for UKB=", ukb, " S=", s, " stride=", st,
              " UC=", uc);
  return f;
}

// ---------------------------------------------------------------------------------------------
// 4. Packing and layout changes.

// One block of a rows × n matrix to the blocked layout: dst[i][l] = src[l][i] for the `valid`
// rows l < valid of the block (src = row b·V), 0 for the others.
template <class V>
void rows_to_blocked(const float* src, int valid, int64_t n, float* dst) {
  using T = typename V::T;
  constexpr int N = V::N;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    T v[N];
    for (int l = 0; l < N; ++l) v[l] = l < valid ? V::load(src + l * n + i) : V::zero();
    V::transpose(v);
    for (int j = 0; j < N; ++j) V::store(dst + (i + j) * N, v[j]);
  }
  for (; i < n; ++i)
    for (int l = 0; l < N; ++l) dst[i * N + l] = l < valid ? src[l * n + i] : 0.f;
}

// The inverse for the valid rows: dst[l][i] = src[i][l], l < valid (dst = row b·V of the matrix).
template <class V>
void blocked_to_rows(const float* src, int valid, int64_t n, float* dst) {
  using T = typename V::T;
  constexpr int N = V::N;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    T v[N];
    for (int j = 0; j < N; ++j) v[j] = V::load(src + (i + j) * N);
    V::transpose(v);
    for (int l = 0; l < valid; ++l) V::store(dst + l * n + i, v[l]);
  }
  if (i < n) {
    const int rest = int(n - i);
    T v[N];
    for (int j = 0; j < N; ++j) v[j] = j < rest ? V::load(src + (i + j) * N) : V::zero();
    V::transpose(v);
    for (int l = 0; l < valid; ++l) V::store_n(dst + l * n + i, v[l], rest);
  }
}

// dgrad weights of one output phase: wd[cb][k][r'][s'][l] = w[k][cb·V + l][r(r')][s(s')], where
// r(r') and s(s') list the phase's taps (r' ascending = input row offset ascending).
template <class V>
void pack_dgrad_phase(const float* w, int K, int C, int R, int S, const int* rt, int nr,
                      const int* st, int ns, float* wd, int cb) {
  using T = typename V::T;
  constexpr int N = V::N;
  const int valid = std::min(N, C - cb * N);
  const int RS = R * S;
  float* d0 = wd + int64_t(cb) * K * nr * ns * N;
  for (int k = 0; k < K; ++k) {
    const float* src = w + (int64_t(k) * C + cb * N) * RS;  // valid rows of RS taps
    if (RS <= N) {
      T v[N];
      for (int l = 0; l < N; ++l) v[l] = l < valid ? V::load_n(src + l * RS, RS) : V::zero();
      V::transpose(v);  // v[r·S + s] = the N channels' tap (r, s)
      for (int i = 0; i < nr; ++i)
        for (int j = 0; j < ns; ++j)
          V::store(d0 + ((int64_t(k) * nr + i) * ns + j) * N, v[rt[i] * S + st[j]]);
    } else {
      for (int i = 0; i < nr; ++i)
        for (int j = 0; j < ns; ++j)
          for (int l = 0; l < N; ++l)
            d0[((int64_t(k) * nr + i) * ns + j) * N + l] =
                l < valid ? src[l * RS + rt[i] * S + st[j]] : 0.f;
    }
  }
}

// Zero-padded copy of one image: dst[c][pt + h][pl + v] = map(x[c][h][v]), zeros around, rows of
// width Wd. map = identity, or x·scale[c] + shift[c] then ReLU where the mask is set. Rows are
// short (4–64 floats), so the copy is vector loads/stores inline, not a memcpy call per row.
template <class V>
void pad_image(const float* x, int C, int H, int W, int pt, int pb, int pl, int pr,
               const ConvInputMap* m, float* dst) {
  using T = typename V::T;
  constexpr int N = V::N;
  const int Wd = W + pl + pr, Hd = H + pt + pb;
  auto zero_rows = [&](float* d, int rows) {
    for (int64_t i = 0, n = int64_t(rows) * Wd; i < n; i += N)
      V::store_n(d + i, V::zero(), int(std::min<int64_t>(N, n - i)));
  };
  for (int c = 0; c < C; ++c) {
    float* dc = dst + int64_t(c) * Hd * Wd;
    zero_rows(dc, pt);
    zero_rows(dc + int64_t(pt + H) * Wd, pb);
    const float* xc = x + int64_t(c) * H * W;
    const T sc = m && m->scale ? V::set1(m->scale[c]) : V::set1(1.f);
    const T sh = m && m->shift ? V::set1(m->shift[c]) : V::zero();
    for (int h = 0; h < H; ++h) {
      float* d = dc + int64_t(pt + h) * Wd;
      if (pl) V::store_n(d, V::zero(), pl);  // (a plain loop here becomes a memset call per row)
      if (pr) V::store_n(d + pl + W, V::zero(), pr);
      const float* s = xc + int64_t(h) * W;
      d += pl;
      const uint8_t* mk = m && m->mask ? m->mask + (int64_t(c) * H + h) * W : nullptr;
      for (int v = 0; v < W; v += N) {
        const int n = std::min(N, W - v);
        T z = V::load_n(s + v, n);
        if (m) {
          z = V::fma(z, sc, sh);
          if (m->act != Act::None) {
            auto keep = V::gt0(z);
            if (mk) {
              uint8_t mb[N] = {};
              std::memcpy(mb, mk + v, size_t(n));
              keep = V::or_(keep, V::andnot(V::nonzero_u8(mb), V::from_bits(0xffffu)));
            }
            z = V::select(keep, z, V::zero());
          }
        }
        V::store_n(d + v, z, n);
      }
    }
  }
}

// Channel-blocked, column-padded copy of one dy image for wgrad: dst[b][i][2 + j][l] =
// dy[b·V + l][i][j] (0 for channels ≥ K and in the two pixels on each side of every row).
template <class V>
void dy_to_blocked(const float* dy, int K, int P, int Q, float* dst) {
  using T = typename V::T;
  constexpr int N = V::N;
  const int Kb = (K + N - 1) / N, Qb = Q + 4;
  const int64_t PQ = int64_t(P) * Q;
  for (int b = 0; b < Kb; ++b) {
    const int valid = std::min(N, K - b * N);
    for (int i = 0; i < P; ++i) {
      float* d = dst + (int64_t(b) * P + i) * Qb * N;
      for (int l = 0; l < 2 * N; ++l) d[l] = d[(Qb - 2) * N + l] = 0.f;
      const float* s = dy + int64_t(b) * N * PQ + int64_t(i) * Q;
      int j = 0;
      for (; j + N <= Q; j += N) {
        T v[N];
        for (int l = 0; l < N; ++l) v[l] = l < valid ? V::load(s + l * PQ + j) : V::zero();
        V::transpose(v);
        for (int t = 0; t < N; ++t) V::store(d + (2 + j + t) * N, v[t]);
      }
      for (; j < Q; ++j)
        for (int l = 0; l < N; ++l) d[(2 + j) * N + l] = l < valid ? s[l * PQ + j] : 0.f;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Drivers.

// Images per chunk: ≈ 1 MiB of per-image buffers, at least one per thread, at most N.
inline int chunk_images(int64_t bytes_per_image, int N, int nthreads) {
  int64_t want = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, bytes_per_image));
  want = std::max<int64_t>(want, nthreads);
  return int(std::min<int64_t>(want, N));
}

inline int region_threads() { return in_parallel_region() ? 1 : num_threads(); }

// fprop: y[n] = conv(x[n], w) per (channel group, image) item, chunk by chunk. The input is read in
// place (real coordinates, padding skipped by the tiles) unless an input map must be applied or an
// edge tile lacks its variant: then each image is first copied, mapped and zero-padded, per chunk.
template <class V>
void fprop(const Conv2dGeom& g, const float* x, const float* w, float* y, const ConvRowsHook& hook,
           const ConvInputMap* xmap) {
  constexpr int N = V::N;
  const int Kb = (g.K + N - 1) / N;
  const int64_t CRS = g.CRS(), PQ = g.PQ(), CHW = int64_t(g.C) * g.HW();
  const int Hp = g.H + 2 * g.pad, Wp = g.W + 2 * g.pad;
  const int T = region_threads();
  const int uk = choose_uk(Kb, g.Q, g.S, g.stride);
  const int groups = Kb / uk;
  // The plane of image 0, group 0, read in place; whether that never touches padding.
  const GatherPlane in_place{
      x,        g.HW(),  g.W,     g.H, g.W, -g.pad,  -g.pad,           g.C, g.R,   g.S,
      g.stride, nullptr, CRS * N, g.P, g.Q, nullptr, int64_t(g.Q) * N, N,   PQ * N};
  const bool copy = xmap || !plane_reads_data_only<V>(in_place, uk);
  const int64_t img_floats = int64_t(g.C) * Hp * Wp;
  const int nc = chunk_images((copy ? img_floats : CHW) * 4, g.N, T);

  ThreadScratch& main = thread_scratch();
  float* wp = main.weights.get(size_t(Kb) * CRS * N);
  float* xs = copy ? main.chunk_x.get(size_t(nc) * img_floats) : nullptr;
  parallel_for(0, Kb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      rows_to_blocked<V>(w + b * N * CRS, std::min<int>(N, g.K - int(b) * N), CRS,
                         wp + b * CRS * N);
  });
  RegionBarrier barrier(T);
  parallel_region([&](int tid, int nt) {
    float* tile = thread_scratch().tile.get(size_t(uk) * PQ * N);
    for (int n0 = 0; n0 < g.N; n0 += nc) {
      const int cn = std::min(nc, g.N - n0);
      int64_t b, e;
      if (copy) {
        chunk_range(0, cn, tid, nt, &b, &e);
        for (int64_t j = b; j < e; ++j)
          pad_image<V>(x + (n0 + j) * CHW, g.C, g.H, g.W, g.pad, g.pad, g.pad, g.pad, xmap,
                       xs + j * img_floats);
        barrier.wait();
      }
      // Items (channel group, image), group-major: a thread's weights stay in its cache.
      chunk_range(0, int64_t(groups) * cn, tid, nt, &b, &e);
      for (int64_t item = b; item < e; ++item) {
        const int grp = int(item / cn), j = int(item % cn), n = n0 + j;
        GatherPlane p = in_place;
        if (copy) {
          p.in = xs + j * img_floats + int64_t(g.pad) * Wp + g.pad;
          p.in_cs = int64_t(Hp) * Wp;
          p.in_rs = Wp;
        } else {
          p.in = x + n * CHW;
        }
        p.w = wp + int64_t(grp) * uk * CRS * N;
        p.out = tile;
        gather_plane<V>(p, uk);
        for (int u = 0; u < uk; ++u) {
          const int blk = grp * uk + u;
          const int k0 = blk * N, k1 = std::min(g.K, k0 + N);
          float* rows = y + (int64_t(n) * g.K + k0) * PQ;
          blocked_to_rows<V>(tile + u * PQ * N, k1 - k0, PQ, rows);
          if (hook) hook(tid, n, k0, k1, rows);
        }
      }
      if (copy) barrier.wait();  // before the next chunk's copies overwrite xs
    }
  });
}

// Taps of one dgrad output phase a (rows) of a stride-t, pad-p, R-tap kernel: r ≡ a + p (mod t),
// listed by ascending input offset d(r) = (a + p − r)/t, i.e. descending r. Returns the count;
// *dmin = the smallest offset.
inline int phase_taps(int a, int t, int pad, int R, int* taps, int* dmin) {
  int n = 0;
  for (int r = R - 1; r >= 0; --r)
    if (((a + pad - r) % t + t) % t == 0) taps[n++] = r;
  *dmin = n ? (a + pad - taps[0]) / t : 0;
  return n;
}

struct DgradPlan {
  int t;
  int nr[2], rt[2][3], rmin[2];  // per row phase a: tap count, taps, smallest input row offset
  int ns[2], st[2][3], smin[2];  // per column phase: the same for columns
  int padT, padB, padL, padR;    // zero rows/columns around dy so that no tap needs a check
};

inline DgradPlan dgrad_plan(const Conv2dGeom& g) {
  DgradPlan d{};
  d.t = g.stride;
  int lo_r = 0, hi_r = 0, lo_s = 0, hi_s = 0;
  for (int a = 0; a < d.t; ++a) {
    d.nr[a] = phase_taps(a, d.t, g.pad, g.R, d.rt[a], &d.rmin[a]);
    d.ns[a] = phase_taps(a, d.t, g.pad, g.S, d.st[a], &d.smin[a]);
    const int oh = (g.H - a + d.t - 1) / d.t, ow = (g.W - a + d.t - 1) / d.t;
    if (d.nr[a]) {
      lo_r = std::min(lo_r, d.rmin[a]);
      hi_r = std::max(hi_r, d.rmin[a] + d.nr[a] - 1 + oh - 1 - (g.P - 1));
    }
    if (d.ns[a]) {
      lo_s = std::min(lo_s, d.smin[a]);
      hi_s = std::max(hi_s, d.smin[a] + d.ns[a] - 1 + ow - 1 - (g.Q - 1));
    }
  }
  d.padT = -lo_r, d.padB = std::max(0, hi_r), d.padL = -lo_s, d.padR = std::max(0, hi_s);
  return d;
}

// bprop, per chunk of images. Phase A (threads split the images): image n of dy (dy_fill), its
// channel-blocked copy for wgrad, and dgrad for image n — each output phase a stride-1 gather conv
// of dy (read in place, or from a padded copy) into the tile buffer, then transposed into dx.
// Barrier. Phase B: the wgrad units over the chunk (x read in place at stride 1; a padded copy,
// made in phase A, at stride 2 or with an input map). Barrier.
// VD: the vector over input channels (dgrad), VW: over output channels (wgrad); each is the ymm
// width when its channel count is ≤ 8, so small layers do not leave half of every zmm empty.
template <class VD, class VW>
void bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& dy_fill,
           float* dx, float* dw, const ConvInputMap* xmap) {
  constexpr int ND = VD::N, NW = VW::N;
  const int64_t PQ = g.PQ(), HW = g.HW(), CHW = int64_t(g.C) * HW;
  const int T = region_threads();
  ThreadScratch& main = thread_scratch();

  // dgrad: per-phase packed weights [phase][C/ND][K][R'][S'][ND]; each phase's plane on dy.
  const int Cb = (g.C + ND - 1) / ND;
  const DgradPlan dp = dgrad_plan(g);
  const int tph = std::min(dp.t, 2);  // phases per axis (stride ≤ 2: direct_conv_supported)
  const int Pp = g.P + dp.padT + dp.padB, Qp = g.Q + dp.padL + dp.padR;
  int64_t ph_off[4] = {0, 0, 0, 0}, wd_total = 0;
  for (int a = 0; a < dp.t; ++a)
    for (int b = 0; b < dp.t; ++b) {
      ph_off[a * dp.t + b] = wd_total;
      wd_total += int64_t(Cb) * g.K * dp.nr[a] * dp.ns[b] * ND;
    }
  float* wd = dx ? main.weights.get(size_t(std::max<int64_t>(wd_total, 1))) : nullptr;
  if (dx)
    parallel_for(0, Cb, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t cb = c0; cb < c1; ++cb)
        for (int a = 0; a < dp.t; ++a)
          for (int b = 0; b < dp.t; ++b)
            if (dp.nr[a] && dp.ns[b])
              pack_dgrad_phase<VD>(w, g.K, g.C, g.R, g.S, dp.rt[a], dp.nr[a], dp.st[b], dp.ns[b],
                                   wd + ph_off[a * dp.t + b], int(cb));
    });
  int max_ns = 1;
  for (int b = 0; b < dp.t; ++b) max_ns = std::max(max_ns, dp.ns[b]);
  const int uk_d = dx ? choose_uk(Cb, (g.W + dp.t - 1) / dp.t, max_ns, 1) : 1;
  // Output phase (a, b) of group cg: rows a + t·i, columns b + t·j of dx, reading dy rows
  // i + rmin + r' and columns j + smin + s' (dy in place: real coordinates).
  auto phase_plane = [&](int a, int b, int cg, float* tile) {
    const int64_t wblk = int64_t(g.K) * dp.nr[a] * dp.ns[b] * ND;
    return GatherPlane{nullptr,
                       PQ,
                       g.Q,
                       g.P,
                       g.Q,
                       dp.rmin[a],
                       dp.smin[b],
                       g.K,
                       dp.nr[a],
                       dp.ns[b],
                       1,
                       wd + ph_off[a * dp.t + b] + int64_t(cg) * uk_d * wblk,
                       wblk,
                       (g.H - a + dp.t - 1) / dp.t,
                       (g.W - b + dp.t - 1) / dp.t,
                       tile + (int64_t(a) * g.W + b) * ND,
                       int64_t(dp.t) * g.W * ND,
                       int64_t(dp.t) * ND,
                       HW * ND};
  };
  bool dy_copy = false;
  if (dx)
    for (int a = 0; a < dp.t; ++a)
      for (int b = 0; b < dp.t; ++b)
        if (dp.nr[a] && dp.ns[b]) {
          GatherPlane p = phase_plane(a, b, 0, nullptr);
          if (p.OH > 0 && p.OW > 0) dy_copy |= !plane_reads_data_only<VD>(p, uk_d);
        }

  // wgrad: the chunk's blocked dy (and padded x when it cannot be read in place), the
  // accumulators [K/NW][C][R][S][NW].
  const int Kb = (g.K + NW - 1) / NW;
  const int Hp = g.H + 2 * g.pad, Wp = g.W + 2 * g.pad;
  const bool x_copy = dw && (g.stride != 1 || xmap);
  const int64_t x_floats = int64_t(g.C) * Hp * Wp, dyb_floats = int64_t(Kb) * g.P * (g.Q + 4) * NW;
  const int nc = chunk_images((dw ? (x_copy ? x_floats : CHW) + dyb_floats : 0) * 4 + 1, g.N, T);
  float* xs = x_copy ? main.chunk_x.get(size_t(nc) * x_floats) : nullptr;
  float* dyb = dw ? main.chunk_dy.get(size_t(nc) * dyb_floats) : nullptr;
  float* acc = dw ? main.dw_acc.get(size_t(Kb) * g.CRS() * NW, /*zero=*/true) : nullptr;
  // Units (UKB blocks, UC channels, one kernel row): the widest UC that still gives every thread
  // two units (a 3×3 layer with 8 or 16 channels has only 3–6 units at the widest UC).
  const int ukb = g.S == 1 ? (Kb % 4 == 0 && kRegs == 32 ? 4 : Kb % 2 == 0 ? 2 : 1) : 1;
  int ucmax = max_uc(ukb, g.S);
  while (ucmax > 2 && int64_t(Kb / ukb) * ((g.C + ucmax - 1) / ucmax) * g.R < 2 * T)
    ucmax = (ucmax + 1) / 2;
  const int cgroups = (g.C + ucmax - 1) / ucmax;
  const int64_t units = int64_t(Kb / ukb) * cgroups * g.R;
  WgradArgs wa0{};
  wa0.Q = g.Q, wa0.W = g.W, wa0.pad = g.pad;
  wa0.x_cs = x_copy ? int64_t(Hp) * Wp : HW;
  wa0.x_rs = x_copy ? Wp : g.W;
  wa0.x_is = x_copy ? x_floats : CHW;
  wa0.dy_bs = int64_t(g.P) * (g.Q + 4) * NW, wa0.dy_rs = int64_t(g.Q + 4) * NW,
  wa0.dy_is = dyb_floats;

  RegionBarrier barrier(T);
  parallel_region([&](int tid, int nt) {
    ThreadScratch& ts = thread_scratch();
    float* tile = dx ? ts.tile.get(size_t(uk_d) * HW * ND) : nullptr;
    float* dyp = dx && dy_copy ? ts.dy_pad.get(size_t(g.K) * Pp * Qp) : nullptr;
    float* dyimg = ts.dy_img.get(size_t(g.K) * PQ);
    for (int n0 = 0; n0 < g.N; n0 += nc) {
      const int cn = std::min(nc, g.N - n0);
      int64_t b, e;
      chunk_range(0, cn, tid, nt, &b, &e);
      for (int64_t j = b; j < e; ++j) {  // phase A
        const int n = n0 + int(j);
        const float* dyn = dy_fill(tid, n, 1, dyimg);
        if (dw) {
          if (x_copy)
            pad_image<VW>(x + n * CHW, g.C, g.H, g.W, g.pad, g.pad, g.pad, g.pad, xmap,
                          xs + j * x_floats);
          dy_to_blocked<VW>(dyn, g.K, g.P, g.Q, dyb + j * dyb_floats);
        }
        if (!dx) continue;
        if (dy_copy)
          pad_image<VD>(dyn, g.K, g.P, g.Q, dp.padT, dp.padB, dp.padL, dp.padR, nullptr, dyp);
        float* dxn = dx + n * CHW;
        for (int cg = 0; cg < Cb / uk_d; ++cg) {
          for (int a = 0; a < tph; ++a)
            for (int ph = 0; ph < tph; ++ph) {
              GatherPlane p = phase_plane(a, ph, cg, tile);
              if (p.OH <= 0 || p.OW <= 0) continue;
              if (!dp.nr[a] || !dp.ns[ph]) {  // no tap reaches this phase: dx is 0 there
                for (int u = 0; u < uk_d; ++u)
                  for (int i = 0; i < p.OH; ++i)
                    for (int jj = 0; jj < p.OW; ++jj)
                      VD::store(p.out + u * p.out_bs + i * p.out_rs + jj * p.out_ps, VD::zero());
                continue;
              }
              if (dy_copy) {
                p.in = dyp + int64_t(dp.padT) * Qp + dp.padL;
                p.in_cs = int64_t(Pp) * Qp;
                p.in_rs = Qp;
              } else {
                p.in = dyn;
              }
              gather_plane<VD>(p, uk_d);
            }
          for (int u = 0; u < uk_d; ++u) {
            const int c0 = (cg * uk_d + u) * ND;
            blocked_to_rows<VD>(tile + u * HW * ND, std::min(ND, g.C - c0), HW,
                                dxn + int64_t(c0) * HW);
          }
        }
      }
      if (!dw) continue;
      barrier.wait();  // phase B: wgrad units over the chunk
      chunk_range(0, units, tid, nt, &b, &e);
      for (int64_t unit = b; unit < e; ++unit) {
        const int r = int(unit % g.R);
        const int cgi = int((unit / g.R) % cgroups);
        const int kg = int(unit / (int64_t(g.R) * cgroups));
        const int c0 = cgi * ucmax, uc = std::min(ucmax, g.C - c0);
        // Output rows p whose input row p·t + r − pad is real.
        WgradArgs wa = wa0;
        wa.p0 = std::max(0, (g.pad - r + g.stride - 1) / g.stride);
        if (g.pad - r < 0) wa.p0 = 0;
        wa.p1 = std::min(g.P, (g.pad + g.H - 1 - r) / g.stride + 1);
        const float* x0;
        if (x_copy) {  // padded coordinates
          wa.x_row0 = r;
          x0 = xs + int64_t(c0) * wa.x_cs +
               (g.stride == 1 ? g.pad : 0);  // stride 1 reads real columns
        } else {                             // the tensor: real row p + r − pad
          wa.x_row0 = r - g.pad;
          x0 = x + int64_t(n0) * CHW + int64_t(c0) * HW;
        }
        const float* dy0 = dyb + int64_t(kg) * ukb * wa.dy_bs;
        float* a0 = acc + ((int64_t(kg) * ukb * g.C + c0) * g.R + r) * g.S * NW;
        if (wa.p1 > wa.p0)
          wgrad_fn<VW>(ukb, g.S, g.stride, uc)(wa, x0, dy0, cn, a0, int64_t(g.R) * g.S * NW,
                                               g.CRS() * NW);
      }
      barrier.wait();
    }
  });
  if (dw)
    parallel_for(0, Kb, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t kb = k0; kb < k1; ++kb)
        blocked_to_rows<VW>(acc + kb * g.CRS() * NW, std::min<int>(NW, g.K - int(kb) * NW), g.CRS(),
                            dw + kb * NW * g.CRS());
    });
}

}  // namespace senet::cpu::SENET_SIMD_NS
