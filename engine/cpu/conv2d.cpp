// engine/cpu/conv2d.cpp — the conv dispatch (direct kernels or im2col), and the im2col + GEMM
// convolution, grouped over images, threaded over groups.
// Rules of the im2col path: one parallel region per pass; each thread allocates its scratch once
// per call; weight gradients are per-thread partials summed in thread order (reproducible for a
// given thread count).
#include "engine/cpu/conv2d.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/conv_algo.h"
#include "engine/cpu/direct_conv.h"
#include "engine/cpu/winograd.h"

namespace senet::cpu {

int conv2d_group_size(const Conv2dGeom& g, int nthreads) {
  constexpr int64_t kMinGemmN = 256;  // below this width the GEMM kernels lose most of their speed
  int64_t want = (kMinGemmN + g.PQ() - 1) / g.PQ();
  int64_t per_thread = (g.N + nthreads - 1) / nthreads;  // keep ≥ one group per thread
  return int(std::max<int64_t>(1, std::min({want, per_thread, int64_t(g.N)})));
}

// Output columns q whose input column q·stride − pad + s lies inside [0, W): [*q0, *q1).
static void valid_q(const Conv2dGeom& g, int s, int* q0, int* q1) {
  int lo = g.pad - s;            // q·stride ≥ pad − s
  int hi = g.W - 1 + g.pad - s;  // q·stride ≤ W − 1 + pad − s
  *q0 = lo <= 0 ? 0 : (lo + g.stride - 1) / g.stride;
  *q1 = hi < 0 ? 0 : std::min(g.Q, hi / g.stride + 1);
  if (*q0 > *q1) *q0 = *q1;
}

void im2col(const Conv2dGeom& g, const float* x, float* col, int64_t ld) {
  for (int c = 0; c < g.C; ++c)
    for (int r = 0; r < g.R; ++r)
      for (int s = 0; s < g.S; ++s) {
        float* row = col + ((int64_t(c) * g.R + r) * g.S + s) * ld;
        int q0, q1;
        valid_q(g, s, &q0, &q1);
        for (int p = 0; p < g.P; ++p) {
          float* d = row + int64_t(p) * g.Q;
          int ih = p * g.stride - g.pad + r;
          if (ih < 0 || ih >= g.H) {
            std::fill(d, d + g.Q, 0.f);
            continue;
          }
          const float* src = x + (int64_t(c) * g.H + ih) * g.W + (s - g.pad);  // src[q·stride]
          std::fill(d, d + q0, 0.f);
          if (g.stride == 1) {
            std::copy(src + q0, src + q1, d + q0);
          } else {
            for (int q = q0; q < q1; ++q) d[q] = src[int64_t(q) * g.stride];
          }
          std::fill(d + q1, d + g.Q, 0.f);
        }
      }
}

void col2im(const Conv2dGeom& g, const float* dcol, int64_t ld, float* dx) {
  for (int c = 0; c < g.C; ++c)
    for (int r = 0; r < g.R; ++r)
      for (int s = 0; s < g.S; ++s) {
        const float* row = dcol + ((int64_t(c) * g.R + r) * g.S + s) * ld;
        int q0, q1;
        valid_q(g, s, &q0, &q1);
        for (int p = 0; p < g.P; ++p) {
          int ih = p * g.stride - g.pad + r;
          if (ih < 0 || ih >= g.H) continue;
          const float* d = row + int64_t(p) * g.Q;
          float* dst = dx + (int64_t(c) * g.H + ih) * g.W + (s - g.pad);
          if (g.stride == 1) {
            for (int q = q0; q < q1; ++q) dst[q] += d[q];
          } else {
            for (int q = q0; q < q1; ++q) dst[int64_t(q) * g.stride] += d[q];
          }
        }
      }
}

// Y[K, ld] = Yt[ld, K]ᵀ, blocked over ld so both sides stay in L1.
static void transpose_to_rows(const float* yt, int K, int64_t ld, float* y) {
  constexpr int64_t kBlock = 64;
  for (int64_t i0 = 0; i0 < ld; i0 += kBlock) {
    const int64_t i1 = std::min(ld, i0 + kBlock);
    for (int k = 0; k < K; ++k) {
      float* dst = y + k * ld;
      for (int64_t i = i0; i < i1; ++i) dst[i] = yt[i * K + k];
    }
  }
}

static std::unique_ptr<float[]> scratch(int64_t n) {
  if (n <= 0) return nullptr;
  float* p = new (std::nothrow) float[size_t(n)];
  if (!p)
    fail("out of host memory: conv2d could not allocate a scratch buffer of ",
         size_t(n) * sizeof(float), " bytes (", double(n) * sizeof(float) / (1 << 20),
         " MiB); reduce the batch size or model width");
  return std::unique_ptr<float[]>(p);
}

static int pass_threads() { return in_parallel_region() ? 1 : num_threads(); }

static ConvAlgo forced_algo(bool* any) {
  const char* e = std::getenv("SENET_CONV_ALGO");
  *any = e && *e;
  if (!*any) return ConvAlgo::Direct;
  const std::string v = e;
  if (v == "im2col") return ConvAlgo::Im2col;
  if (v == "direct") return ConvAlgo::Direct;
  if (v == "winograd") return ConvAlgo::Winograd;
  fail("SENET_CONV_ALGO: expected im2col, direct or winograd, got '", v, "'");
}

ConvPlan conv_plan(const Conv2dGeom& g) {
  const bool direct = direct_conv_supported(g), wino = winograd_supported(g);
  const int narrow = std::min(g.C, g.K);
  ConvPlan p{ConvAlgo::Im2col, ConvAlgo::Im2col, ConvAlgo::Im2col};
  if (direct) {
    p.fprop = p.dgrad = ConvAlgo::Direct;
    if (g.R == 1 && g.stride == 2 && g.C >= 64) p.fprop = ConvAlgo::Im2col;
    if (g.C >= 4 && g.stride == 1) p.wgrad = ConvAlgo::Direct;
  }
  if (wino && narrow >= 32) p.fprop = p.dgrad = ConvAlgo::Winograd;
  if (wino && narrow >= 64) p.wgrad = ConvAlgo::Winograd;
  bool forced;
  const ConvAlgo f = forced_algo(&forced);
  if (forced && (f == ConvAlgo::Im2col || (f == ConvAlgo::Direct && direct) ||
                 (f == ConvAlgo::Winograd && wino)))
    p.fprop = p.dgrad = p.wgrad = f;
  return p;
}

const char* conv_algo_name(ConvAlgo a) {
  switch (a) {
    case ConvAlgo::Im2col: return "im2col";
    case ConvAlgo::Direct: return "direct";
    case ConvAlgo::Winograd: return "winograd";
  }
  return "?";
}

void conv2d_fprop(const Conv2dGeom& g, const float* x, const float* w, float* y,
                  const ConvRowsHook& hook) {
  switch (conv_plan(g).fprop) {
    case ConvAlgo::Winograd: return winograd_fprop(g, x, w, y, hook);
    case ConvAlgo::Direct: return direct_conv_fprop(g, x, w, y, hook);
    case ConvAlgo::Im2col: return conv2d_fprop_im2col(g, x, w, y, hook);
  }
}

int conv2d_bprop_dy_reads(const Conv2dGeom& g, bool dx, bool dw) {
  if (!dx || !dw) return 1;
  const ConvPlan p = conv_plan(g);
  return p.dgrad == p.wgrad && p.dgrad != ConvAlgo::Winograd ? 1 : 2;
}

// dgrad and wgrad in one call when they share the algorithm (dy_fill then runs once per image),
// else one call each.
void conv2d_bprop(const Conv2dGeom& g, const float* x, const float* w, const ConvDyFill& dy_fill,
                  float* dx, float* dw) {
  const ConvPlan p = conv_plan(g);
  auto run = [&](ConvAlgo a, float* dxa, float* dwa) {
    if (!dxa && !dwa) return;
    switch (a) {
      case ConvAlgo::Winograd: return winograd_bprop(g, x, w, dy_fill, dxa, dwa);
      case ConvAlgo::Direct: return direct_conv_bprop(g, x, w, dy_fill, dxa, dwa);
      case ConvAlgo::Im2col: return conv2d_bprop_im2col(g, x, w, dy_fill, dxa, dwa);
    }
  };
  if (p.dgrad == p.wgrad || !dx || !dw) {
    run(dx ? p.dgrad : p.wgrad, dx, dw);
  } else {
    run(p.dgrad, dx, nullptr);
    run(p.wgrad, nullptr, dw);
  }
}

void conv2d_fprop_im2col(const Conv2dGeom& g, const float* x, const float* w, float* y,
                         const ConvRowsHook& hook) {
  const int G = conv2d_group_size(g, pass_threads());
  const int64_t ngroups = (g.N + G - 1) / G, PQ = g.PQ(), CRS = g.CRS();
  parallel_region([&](int tid, int nt) {
    int64_t gb, ge;
    chunk_range(0, ngroups, tid, nt, &gb, &ge);
    if (gb >= ge) return;
    auto col = scratch(g.direct() && G == 1 ? 0 : CRS * G * PQ);
    auto ybuf = scratch(G > 1 ? g.K * G * PQ : 0);
    auto yt = scratch(g.K * G * PQ);
    for (int64_t grp = gb; grp < ge; ++grp) {
      const int n0 = int(grp * G), gn = std::min(G, g.N - n0);
      const int64_t ld = gn * PQ;
      const float* B = x + int64_t(n0) * g.C * g.HW();
      if (!(g.direct() && gn == 1)) {
        for (int j = 0; j < gn; ++j)
          im2col(g, x + int64_t(n0 + j) * g.C * g.HW(), col.get() + j * PQ, ld);
        B = col.get();
      }
      float* Yg = gn == 1 ? y + int64_t(n0) * g.K * PQ : ybuf.get();
      // Y_gᵀ[ld, K] = col_gᵀ · Wᵀ, then transposed (in cache) to Y_g (see the header for why)
      sgemm(true, true, int(ld), g.K, int(CRS), 1.f, B, int(ld), w, int(CRS), 0.f, yt.get(), g.K);
      transpose_to_rows(yt.get(), g.K, ld, Yg);
      for (int j = 0; j < gn; ++j) {
        float* yn = y + int64_t(n0 + j) * g.K * PQ;
        if (gn > 1)  // scatter Y_g[K, gn·PQ] to NCHW
          for (int k = 0; k < g.K; ++k)
            std::memcpy(yn + k * PQ, Yg + k * ld + j * PQ, size_t(PQ) * 4);
        if (hook) hook(tid, n0 + j, 0, g.K, yn);
      }
    }
  });
}

void conv2d_bprop_im2col(const Conv2dGeom& g, const float* x, const float* w,
                         const ConvDyFill& dy_fill, float* dx, float* dw) {
  if (!dx && !dw) return;
  const int T = pass_threads();
  const int G = conv2d_group_size(g, T);
  const int64_t ngroups = (g.N + G - 1) / G, PQ = g.PQ(), CRS = g.CRS(), wsize = g.K * CRS;
  // dWᵀ partials: thread t accumulates its groups into part[t] ([CRS, K]); summed in thread order and
  // transposed into dw below.
  std::vector<std::unique_ptr<float[]>> part(static_cast<size_t>(T));
  std::vector<char> has_part(static_cast<size_t>(T), 0);
  parallel_region([&](int tid, int nt) {
    int64_t gb, ge;
    chunk_range(0, ngroups, tid, nt, &gb, &ge);
    if (gb >= ge) return;
    auto col = scratch(dw && !(g.direct() && G == 1) ? CRS * G * PQ : 0);
    auto dcol = scratch(dx && !(g.direct() && G == 1) ? CRS * G * PQ : 0);
    auto dybuf = scratch(g.K * G * PQ);
    float* dwp = nullptr;
    if (dw) {
      part[size_t(tid)] = scratch(wsize);
      dwp = part[size_t(tid)].get();
      has_part[size_t(tid)] = 1;
    }
    for (int64_t grp = gb; grp < ge; ++grp) {
      const int n0 = int(grp * G), gn = std::min(G, g.N - n0);
      const int64_t ld = gn * PQ;
      const bool direct = g.direct() && gn == 1;
      const float* dYg = dy_fill(tid, n0, gn, dybuf.get());
      if (dw) {  // dWᵀ[CRS, K] += col_g[CRS, ld] · dY_gᵀ (not dW = dY_g · col_gᵀ: see the header)
        const float* B = x + int64_t(n0) * g.C * g.HW();
        if (!direct) {
          for (int j = 0; j < gn; ++j)
            im2col(g, x + int64_t(n0 + j) * g.C * g.HW(), col.get() + j * PQ, ld);
          B = col.get();
        }
        sgemm(false, true, int(CRS), g.K, int(ld), 1.f, B, int(ld), dYg, int(ld),
              grp == gb ? 0.f : 1.f, dwp, g.K);
      }
      if (dx) {  // dcol = Wᵀ · dY_g → col2im
        float* dxn = dx + int64_t(n0) * g.C * g.HW();
        if (direct) {
          sgemm(true, false, int(CRS), int(ld), g.K, 1.f, w, int(CRS), dYg, int(ld), 0.f, dxn,
                int(ld));
        } else {
          sgemm(true, false, int(CRS), int(ld), g.K, 1.f, w, int(CRS), dYg, int(ld), 0.f,
                dcol.get(), int(ld));
          std::fill(dxn, dxn + int64_t(gn) * g.C * g.HW(), 0.f);
          for (int j = 0; j < gn; ++j)
            col2im(g, dcol.get() + j * PQ, ld, dxn + int64_t(j) * g.C * g.HW());
        }
      }
    }
  });
  if (dw) {  // dw[k, i] = Σ_t part_t[i, k], t in thread order; rows k split over the threads
    std::vector<const float*> parts;
    for (int t = 0; t < T; ++t)
      if (has_part[size_t(t)]) parts.push_back(part[size_t(t)].get());
    const int64_t K = g.K;
    parallel_for(0, K, std::max<int64_t>(1, 4096 / CRS), [&](int64_t kb, int64_t ke) {
      for (int64_t k = kb; k < ke; ++k) {
        float* row = dw + k * CRS;
        if (parts.empty()) {
          std::fill(row, row + CRS, 0.f);
          continue;
        }
        for (int64_t i = 0; i < CRS; ++i) row[i] = parts[0][i * K + k];
        for (size_t t = 1; t < parts.size(); ++t)
          for (int64_t i = 0; i < CRS; ++i) row[i] += parts[t][i * K + k];
      }
    });
  }
}

void conv2d_add_bias(const float* bias, int k0, int k1, int64_t PQ, float* rows) {
  for (int k = k0; k < k1; ++k) {
    float* row = rows + (k - k0) * PQ;
    const float b = bias[k];
    for (int64_t i = 0; i < PQ; ++i) row[i] += b;
  }
}

void conv2d_bias_grad(const float* dy, int N, int K, int64_t PQ, float* db) {
  parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke; ++k) {
      double s = 0;
      for (int n = 0; n < N; ++n) {
        const float* row = dy + (int64_t(n) * K + k) * PQ;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t i = 0;
        for (; i + 8 <= PQ; i += 8)
          for (int l = 0; l < 8; ++l) acc[l] += row[i + l];
        for (; i < PQ; ++i) acc[0] += row[i];
        for (int l = 0; l < 8; ++l) s += acc[l];
      }
      db[k] = float(s);
    }
  });
}

void conv2d_reference(const Conv2dGeom& g, const float* x, const float* w, const float* bias,
                      float* y) {
  for (int n = 0; n < g.N; ++n)
    for (int k = 0; k < g.K; ++k)
      for (int p = 0; p < g.P; ++p)
        for (int q = 0; q < g.Q; ++q) {
          double acc = bias ? bias[k] : 0.0;
          for (int c = 0; c < g.C; ++c)
            for (int r = 0; r < g.R; ++r)
              for (int s = 0; s < g.S; ++s) {
                int ih = p * g.stride - g.pad + r, iw = q * g.stride - g.pad + s;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                acc += double(x[((int64_t(n) * g.C + c) * g.H + ih) * g.W + iw]) *
                       double(w[((int64_t(k) * g.C + c) * g.R + r) * g.S + s]);
              }
          y[((int64_t(n) * g.K + k) * g.P + p) * g.Q + q] = float(acc);
        }
}

}  // namespace senet::cpu
