// tools/bench/bench_kernels.cu — every kernel and version of kernels/registry.h over every conv of
// ResNet-18 and WRN-22-8 (tools/bench/layer_shapes.h): CHECK each against the engine's CPU backend
// (engine/cpu, the oracle), THEN time it. One binary, built twice from this file:
//   bench_kernels_emu  g++ against senet_kernels_emu (CPU emulation): no GPU, checks only
//   bench_kernels      nvcc against senet_kernels_cuda (+ cuBLAS, cuDNN when found): checks, then
//                      cudaEvent timings on the device; checks only when the device count is 0
// Timing: per row, 3 warm-up launches, then --reps timed launches, each bracketed by its own pair of
// events, with the L2 cache flushed (a memset of 2× its size) before each (cold-L2 timings: the
// benchmark never silently stays in L2). Reported: median, min, max, noise (relative std. dev.),
// GFLOP/s and GB/s (1e9 bytes, the registry's compulsory-traffic model) at the median, arithmetic
// intensity (FLOP/byte) and % of roofline = max(flops/peak_flops, bytes/peak_bw) / median time.
// Peaks, read off the device (cudaDeviceGetAttribute; the clock is the maximum boost clock):
//   fp32  = SM count × clock × FP32 lanes per SM (64 on sm_70/sm_80, 128 on sm_86+ and sm_90) × 2
//   bw    = 2 (double data rate) × memory clock × bus width / 8     (as CUDA's bandwidthTest)
// Baseline rows (conv layers): cuBLAS SGEMM at the conv's implicit-GEMM size (registry entry
// gemm/cublas); through cuDNN's API (nvcc build with cuDNN only), conv + BN (training) + ReLU and
// each conv pass alone (fprop, dgrad, wgrad), each with FMA math (FP32) and tensor-op math (TF32,
// PyTorch's default); and the unfused chain conv2d_fprop v5 → bn_stats → bn_finalize →
// scale_shift_mrelu next to the fused conv_bn_mrelu_fwd_train.
// Checks: conv-family inputs are integers in [−8, 8], so every partial sum is exact and conv outputs
// must equal the CPU bitwise; other outputs |gpu − cpu| ≤ tol·max|cpu| with the tolerance given per
// hook (the reasons are in tests/kernels/test_kernels_*.cu, which hold the tight per-kernel bounds).
//   bench_kernels[_emu] [--n N] [--reps N] [--csv PATH] [--check-only] [--small] [--filter SUBSTR]
// Exit status: 0, or 1 when any check FAILs (2: bad arguments).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/activation.h"
#include "engine/cpu/alpha_relu.h"
#include "engine/cpu/batchnorm.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/global_avg_pool.h"
#include "engine/cpu/l1.h"
#include "engine/cpu/linear.h"
#include "engine/cpu/optim_update.h"
#include "engine/cpu/pram.h"
#include "engine/cpu/softmax.h"
#include "kernels/bn_finalize.h"
#include "kernels/bn_stats.h"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/global_avg_pool.h"
#include "kernels/kd_loss.h"
#include "kernels/l1.h"
#include "kernels/linear.h"
#include "kernels/mask_search.h"
#include "kernels/masked_relu.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/optim_update.h"
#include "kernels/pram_loss.h"
#include "kernels/reduce.h"
#include "kernels/registry.h"
#include "kernels/scale_shift_mrelu.h"
#include "kernels/softmax_xent.h"
#include "tools/bench/layer_shapes.h"

#if defined(__CUDACC__) || SENET_KERNELS_CUDA
#define SENET_BENCH_REAL_CUDA 1
#else
#define SENET_BENCH_REAL_CUDA 0
#endif
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
#include <cudnn.h>
#endif

using namespace senet;
using senet::bench::layer_shape;

namespace {

// ---------------------------------------------------------------------------------------------
// Device buffers, inputs, comparisons

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#define CUDA_TRY(expr) cuda_ok((expr), #expr)

template <class T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) { CUDA_TRY(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { upload(h); }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) {
    if (h.size() != n_) throw std::runtime_error("upload: size mismatch");
    if (n_) CUDA_TRY(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    if (n_) CUDA_TRY(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};
template <class T>
using DevP = std::shared_ptr<Dev<T>>;
// Every buffer a hook allocates also goes into the arena of the row being run, so that it lives
// until the row is done even where a launch lambda captured only raw pointers (params structs).
std::vector<std::shared_ptr<void>>* g_arena = nullptr;
template <class T>
DevP<T> keep(DevP<T> p) {
  if (g_arena) g_arena->push_back(p);
  return p;
}
template <class T>
DevP<T> dev(const std::vector<T>& h) {
  return keep(std::make_shared<Dev<T>>(h));
}
template <class T>
DevP<T> dev(int64_t n) {
  return keep(std::make_shared<Dev<T>>(static_cast<size_t>(n)));
}

using Vec = std::vector<float>;

Vec uniform(int64_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Vec v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * rand_uniform(seed, 21, i);
  return v;
}
Vec ints(int64_t n, uint64_t seed, int lo = -8, int hi = 8) {  // exact in any summation order
  Vec v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(lo + int(rand_below(seed, 22, i, uint32_t(hi - lo + 1))));
  return v;
}
std::vector<uint8_t> bytes01(int64_t n, uint64_t seed) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(rand_below(seed, 23, i, 2));
  return v;
}
std::vector<int32_t> labels(int64_t n, uint64_t seed, int K) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = int32_t(rand_below(seed, 24, i, uint32_t(K)));
  return v;
}

// The outcome of one check: every comparison of one kernel launch against the CPU.
struct Check {
  bool ok = true;
  double worst = 0;  // max over outputs of max|gpu − cpu| / max|cpu|
  std::string detail;

  void fail(const std::string& what) {
    ok = false;
    if (detail.size() < 200) detail += (detail.empty() ? "" : "; ") + what;
  }
  // tol == 0: bitwise; else |d| ≤ tol·max|ref| per element.
  void close(const char* what, const Vec& got, const Vec& ref, double tol) {
    if (got.size() != ref.size()) return fail(std::string(what) + ": size");
    double scale = 0, d = 0;
    size_t bad = 0;
    for (float r : ref) scale = std::max(scale, double(std::fabs(r)));
    for (size_t i = 0; i < got.size(); ++i) {
      const double di = std::fabs(double(got[i]) - double(ref[i]));
      if (!(di <= d)) d = std::isnan(di) ? INFINITY : std::max(d, di);
      const bool good = tol == 0 ? std::memcmp(&got[i], &ref[i], 4) == 0 : di <= tol * scale;
      if (!good) ++bad;
    }
    const double err = scale > 0 ? d / scale : d;
    worst = std::max(worst, err);
    if (bad) {
      char b[160];
      std::snprintf(b, sizeof b, "%s: %zu of %zu off (err %.2e, tol %s%.0e)", what, bad, got.size(),
                    err, tol == 0 ? "bitwise " : "", tol);
      fail(b);
    }
  }
  template <class T>
  void equal(const char* what, const std::vector<T>& got, const std::vector<T>& ref) {
    size_t bad = got.size() == ref.size() ? 0 : 1;
    for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) bad += got[i] != ref[i];
    if (bad) fail(std::string(what) + ": " + std::to_string(bad) + " differ (exact)");
  }
  // Pass bits (uint32 words) against the CPU's uint64 words: a flipped bit is tolerated only where
  // z ≈ 0, i.e. |a_ref| ≤ tol·max|a_ref| (the sign of a rounding-level z may differ).
  void bits(const char* what, const std::vector<uint32_t>& got, const std::vector<uint64_t>& ref,
            int64_t n, const Vec& a_ref, double tol) {
    double scale = 0;
    for (float r : a_ref) scale = std::max(scale, double(std::fabs(r)));
    size_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool g = (got[size_t(i >> 5)] >> (i & 31)) & 1u, r = cpu::bit_get(ref.data(), i);
      if (g != r && !(std::fabs(a_ref[size_t(i)]) <= tol * scale)) ++bad;
    }
    for (int64_t i = n; i < int64_t(got.size()) * 32; ++i)
      if ((got[size_t(i >> 5)] >> (i & 31)) & 1u) ++bad;  // bits past the end must be 0
    if (bad) fail(std::string(what) + ": " + std::to_string(bad) + " pass bits differ");
  }
};

std::vector<uint32_t> bits32(const std::vector<uint64_t>& b64, int64_t n) {
  std::vector<uint32_t> w(static_cast<size_t>(pass_bits_words(n)));
  std::memcpy(w.data(), b64.data(),
              w.size() * 4);  // same bytes on little-endian hosts (kernel_params.h)
  return w;
}

// One kernel on one shape: `launch` is what gets timed (re-runnable; in-place kernels keep
// updating their state), `check` compares the outputs of the FIRST launch with the CPU.
struct Case {
  std::function<cudaError_t()> launch;
  std::function<void(Check&)> check;
};
using Hook = std::function<Case(const Conv2dGeom&)>;

Vec cpu_conv(const Conv2dGeom& p, const Vec& x, const Vec& w) {
  Vec y(static_cast<size_t>(p.y_size()));
  cpu::conv2d_fprop(p, x.data(), w.data(), y.data(), {});
  return y;
}
// dx and/or dw (either may be null) of the conv for upstream dy (engine/ops/conv2d.cpp's fill).
void cpu_conv_bprop(const Conv2dGeom& g, const Vec& x, const Vec& w, const Vec& dy, Vec* dx,
                    Vec* dw) {
  const int64_t PQ = g.PQ();
  const float* d = dy.data();
  auto fill = [&](int, int n0, int gn, float* scratch) -> const float* {
    if (gn == 1) return d + int64_t(n0) * g.K * PQ;
    for (int j = 0; j < gn; ++j)
      for (int k = 0; k < g.K; ++k)
        std::memcpy(scratch + (int64_t(k) * gn + j) * PQ, d + (int64_t(n0 + j) * g.K + k) * PQ,
                    size_t(PQ) * 4);
    return scratch;
  };
  if (dx) dx->assign(static_cast<size_t>(g.x_size()), 0.f);
  if (dw) dw->assign(static_cast<size_t>(g.w_size()), 0.f);
  cpu::conv2d_bprop(g, x.data(), w.data(), fill, dx ? dx->data() : nullptr,
                    dw ? dw->data() : nullptr);
}

// BatchNorm statistics of y (N×K×PQ) on the CPU: μ, biased σ², 1/√(σ²+ε) (engine/ops/batchnorm.cpp).
struct BnRef {
  Vec mean, var, invstd;
};
BnRef cpu_bn(const Vec& y, int64_t N, int64_t K, int64_t PQ, float eps = 1e-5f) {
  BnRef r{Vec(static_cast<size_t>(K)), Vec(static_cast<size_t>(K)), Vec(static_cast<size_t>(K))};
  cpu::bn_stats(y.data(), N, K, PQ, r.mean.data(), r.var.data());
  for (size_t k = 0; k < size_t(K); ++k)
    r.invstd[k] = float(1.0 / std::sqrt(double(r.var[k]) + double(eps)));
  return r;
}
// Merge (count, mean, M2) partials (layout of kernels/bn_stats.h) on the host → μ, biased σ².
void merge_partials(const Vec& part, int64_t T, int64_t K, Vec* mean, Vec* var) {
  mean->assign(static_cast<size_t>(K), 0.f), var->assign(static_cast<size_t>(K), 0.f);
  for (int64_t k = 0; k < K; ++k) {
    cpu::MeanM2 acc;
    for (int64_t t = 0; t < T; ++t) {
      cpu::MeanM2 b;
      b.n = part[size_t(t * K + k)], b.mean = part[size_t(T * K + t * K + k)],
      b.m2 = part[size_t(2 * T * K + t * K + k)];
      if (b.n > 0) cpu::merge(acc, b);
    }
    (*mean)[size_t(k)] = float(acc.mean), (*var)[size_t(k)] = float(acc.m2 / acc.n);
  }
}
bn_partials partials_of(const DevP<float>& buf, int64_t T, int64_t K) {
  return {buf->get(), buf->get() + T * K, buf->get() + 2 * T * K};
}
// a = mrelu(γ(y−μ)·invstd + β (+ r)) on the CPU, with its pass bits.
void cpu_bn_act(const Conv2dGeom& p, const Vec& y, const Vec& mean, const Vec& invstd, const Vec& g,
                const Vec& b, Act act, const uint8_t* mask, const Vec* r, Vec* a,
                std::vector<uint64_t>* bits) {
  cpu::BnAct ba{p.N, p.K, int64_t(p.P) * p.Q, mean.data(), invstd.data(), g.data(), b.data(),
                act, mask};
  a->assign(y.size(), 0.f);
  bits->assign(static_cast<size_t>(cpu::bit_words(int64_t(y.size()))), 0);
  cpu::bn_act_forward(ba, y.data(), r ? r->data() : nullptr, a->data(), bits->data());
}

constexpr double kTol = 1e-5;  // BN-family values: summation order of the statistics
constexpr double kTolReduce =
    1e-4;  // dγ, dβ, losses: reductions that cancel, over up to 32768 values
constexpr double kTolUlp = 1e-6;   // one rounding (FMA contraction under nvcc)
constexpr double kTolTf32 = 1e-3;  // non-integer operands rounded to TF32 (2⁻¹¹ each)

// ---------------------------------------------------------------------------------------------
// Run hooks, one per registry entry ("name/version"). Each builds its inputs on the host, uploads
// them, and computes the CPU reference lazily inside check().

std::map<std::string, Hook> make_hooks() {
  std::map<std::string, Hook> h;
  using P = const Conv2dGeom&;

  // --- conv2d fprop / dgrad / wgrad, every version
  for (conv2d_fprop_version v : kConv2dFpropVersions)
    h[std::string("conv2d_fprop/") + conv2d_fprop_version_name(v)] = [v](P p) {
      Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2);
      auto dx = dev(x), dw = dev(w);
      auto dy = dev<float>(p.y_size());
      auto ws = dev<float>(std::max<int64_t>(conv2d_fprop_workspace_floats(v, p), 1));
      return Case{[=] {
                    return conv2d_fprop(v, p, dx->get(), dw->get(), nullptr, dy->get(), nullptr,
                                        ws->get());
                  },
                  [=](Check& c) { c.close("y", dy->download(), cpu_conv(p, x, w), 0); }};
    };
  for (conv2d_dgrad_version v : kConv2dDgradVersions)
    h[std::string("conv2d_dgrad/") + conv2d_dgrad_version_name(v)] = [v](P p) {
      Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = ints(p.y_size(), 3);
      auto dw = dev(w), dg = dev(g);
      auto dx = dev<float>(p.x_size());
      return Case{[=] { return conv2d_dgrad(v, p, dg->get(), dw->get(), dx->get(), nullptr); },
                  [=](Check& c) {
                    Vec ref;
                    cpu_conv_bprop(p, x, w, g, &ref, nullptr);
                    c.close("dx", dx->download(), ref, 0);
                  }};
    };
  for (conv2d_wgrad_version v : kConv2dWgradVersions)
    h[std::string("conv2d_wgrad/") + conv2d_wgrad_version_name(v)] = [v](P p) {
      Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = ints(p.y_size(), 3);
      auto dx = dev(x), dg = dev(g);
      auto dw = dev<float>(p.w_size());
      auto ws = dev<float>(conv2d_wgrad_v2_workspace_floats(p));
      return Case{
          [=] { return conv2d_wgrad(v, p, dx->get(), dg->get(), dw->get(), ws->get(), nullptr); },
          [=](Check& c) {
            Vec ref;
            cpu_conv_bprop(p, x, w, g, nullptr, &ref);
            c.close("dw", dw->download(), ref, 0);
          }};
    };

  // --- BatchNorm statistics, finalize, scale-shift-mReLU (on the conv's output y: N×K×PQ)
  h["bn_stats_partials/v1_two_pass_tile"] = [](P p) {
    const bn_stats_params sp{p.N, p.K, p.P * p.Q};
    const int64_t T = bn_stats_num_partials(sp);
    Vec y = uniform(p.y_size(), 4, 90.f, 110.f);  // |μ| ≫ σ: a one-pass variance would fail
    auto dy = dev(y);
    auto part = dev<float>(3 * T * p.K);
    return Case{
        [=] { return bn_stats_partials(sp, dy->get(), partials_of(part, T, p.K), nullptr); },
        [=](Check& c) {
          Vec m, v;
          merge_partials(part->download(), T, p.K, &m, &v);
          const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
          c.close("mean", m, r.mean, kTol);
          c.close("var", v, r.var, kTol);
        }};
  };
  for (bn_finalize_version v : kBnFinalizeVersions)
    h[std::string("bn_finalize_train/") + bn_finalize_version_name(v)] = [v](P p) {
      const bn_stats_params sp{p.N, p.K, p.P * p.Q};
      const int64_t T = bn_stats_num_partials(sp);
      Vec y = uniform(p.y_size(), 5, -2.f, 6.f), g = uniform(p.K, 6), b = uniform(p.K, 7);
      Vec rm = uniform(p.K, 8), rv = uniform(p.K, 9, 0.5f, 2.f);
      auto dy = dev(y), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
      auto part = dev<float>(3 * T * p.K);
      auto out = dev<float>(4 * p.K);
      CUDA_TRY(bn_stats_partials(sp, dy->get(), partials_of(part, T, p.K),
                                 nullptr));  // checked on its own row
      const bn_finalize_params fp{p.K, int(T), 1e-5f, 0.1f, v};
      const bn_channel_affine o{out->get(), out->get() + p.K, out->get() + 2 * p.K,
                                out->get() + 3 * p.K};
      return Case{[=] {
                    return bn_finalize_train(fp, partials_of(part, T, p.K), dg->get(), db->get(),
                                             drm->get(), drv->get(), o, nullptr);
                  },
                  [=](Check& c) {
                    const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                    const double M = double(p.N) * p.P * p.Q;
                    Vec sc(static_cast<size_t>(p.K)), sh(static_cast<size_t>(p.K)),
                        rm2(static_cast<size_t>(p.K)), rv2(static_cast<size_t>(p.K));
                    for (size_t k = 0; k < size_t(p.K); ++k) {
                      sc[k] = g[k] * r.invstd[k], sh[k] = b[k] - r.mean[k] * sc[k];
                      rm2[k] = float(0.9 * rm[k] + 0.1 * r.mean[k]);
                      rv2[k] = float(0.9 * rv[k] + 0.1 * r.var[k] * M / std::max(M - 1, 1.0));
                    }
                    const Vec o = out->download();
                    c.close("mean", Vec(o.begin(), o.begin() + p.K), r.mean, kTol);
                    c.close("invstd", Vec(o.begin() + p.K, o.begin() + 2 * p.K), r.invstd, kTol);
                    c.close("scale", Vec(o.begin() + 2 * p.K, o.begin() + 3 * p.K), sc, kTol);
                    c.close("shift", Vec(o.begin() + 3 * p.K, o.end()), sh, kTol);
                    c.close("running_mean", drm->download(), rm2, kTol);
                    c.close("running_var", drv->download(), rv2, kTol);
                  }};
    };
  h["bn_finalize_eval/v1_thread_per_channel"] = [](P p) {
    Vec g = uniform(p.K, 6), b = uniform(p.K, 7), rm = uniform(p.K, 8),
        rv = uniform(p.K, 9, 0.5f, 2.f);
    auto dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
    auto out = dev<float>(4 * p.K);
    const bn_finalize_params fp{p.K, 0, 1e-5f, 0.1f};
    const bn_channel_affine o{out->get(), out->get() + p.K, out->get() + 2 * p.K,
                              out->get() + 3 * p.K};
    return Case{[=] {
                  return bn_finalize_eval(fp, dg->get(), db->get(), drm->get(), drv->get(), o,
                                          nullptr);
                },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(
                      4 * p.K));  // μ, 1/σ, scale, shift from the running stats, in double
                  for (size_t k = 0; k < size_t(p.K); ++k) {
                    const double is = 1.0 / std::sqrt(double(rv[k]) + 1e-5);
                    ref[k] = rm[k], ref[p.K + k] = float(is), ref[2 * p.K + k] = float(g[k] * is);
                    ref[3 * p.K + k] = float(b[k] - rm[k] * g[k] * is);
                  }
                  c.close("mean,invstd,scale,shift", out->download(), ref, kTolUlp);
                }};
  };
  h["scale_shift_mrelu/v1_ballot_bits"] = [](P p) {
    const int64_t PQ = int64_t(p.P) * p.Q, n = p.y_size();
    Vec y = uniform(n, 10), g = uniform(p.K, 11), b = uniform(p.K, 12), r = uniform(n, 13);
    const std::vector<uint8_t> m = bytes01(p.K * PQ, 14);
    auto dy = dev(y), dg = dev(g), db = dev(b), dr = dev(r);
    auto dm = dev(m);
    auto da = dev<float>(n);
    auto dbits = dev<uint32_t>(pass_bits_words(n));
    const scale_shift_mrelu_params sp{p.N, p.K, int(PQ), Act::MaskedReLU, false};
    return Case{[=] {
                  return scale_shift_mrelu(sp, dy->get(), dg->get(), db->get(), dr->get(),
                                           dm->get(), da->get(), dbits->get(), nullptr);
                },
                [=](Check& c) {  // CPU BN-act with μ = 0, 1/σ = 1: z = γ·y + β + r, the same map
                  Vec a, zero(static_cast<size_t>(p.K), 0.f), one(static_cast<size_t>(p.K), 1.f);
                  std::vector<uint64_t> bits;
                  cpu_bn_act(p, y, zero, one, g, b, Act::MaskedReLU, m.data(), &r, &a, &bits);
                  c.close("a", da->download(), a, kTolUlp);
                  c.bits("bits", dbits->download(), bits, n, a, kTolUlp);
                }};
  };

  // --- fused conv → BN → masked ReLU
  // FP32 (v5's loop) and TF32 (v4's loop); the integer inputs are exact in both.
  for (bool tf32 : {false, true})
    h[tf32 ? "conv2d_fprop_bn_partials/v4_tf32_bn_epilogue"
           : "conv2d_fprop_bn_partials/v5_simt_bn_epilogue"] = [tf32](P p) {
      const int64_t T = conv2d_fprop_bn_partials_count(p);
      Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2);
      auto dx = dev(x), dw = dev(w);
      auto dy = dev<float>(p.y_size());
      auto part = dev<float>(3 * T * p.K);
      return Case{[=] {
                    return (tf32 ? conv2d_fprop_bn_partials_tf32 : conv2d_fprop_bn_partials)(
                        p, dx->get(), dw->get(), dy->get(), partials_of(part, T, p.K), nullptr);
                  },
                  [=](Check& c) {
                    const Vec y = cpu_conv(p, x, w);
                    c.close("y", dy->download(), y, 0);
                    Vec m, v;
                    merge_partials(part->download(), T, p.K, &m, &v);
                    const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                    c.close("mean", m, r.mean, kTol);
                    c.close("var", v, r.var, kTol);
                  }};
    };
  for (bool tf32 : {false, true})
    h[tf32 ? "conv_bn_mrelu_fwd_train/3_launches_tf32" : "conv_bn_mrelu_fwd_train/3_launches"] =
        [tf32](P p) {
          const int64_t n = p.y_size();
          Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = uniform(p.K, 3),
              b = uniform(p.K, 4);
          Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
          const std::vector<uint8_t> m = bytes01(int64_t(p.K) * p.P * p.Q, 7);
          auto dx = dev(x), dw = dev(w), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
          auto dm = dev(m);
          auto dy = dev<float>(n), da = dev<float>(n), aff = dev<float>(4 * p.K);
          auto dbits = dev<uint32_t>(pass_bits_words(n));
          auto ws = dev<float>(conv_bn_mrelu_fwd_workspace_floats(p));
          conv_bn_mrelu_fwd_params fp;
          fp.conv = p;
          fp.tf32 = tf32;
          conv_bn_mrelu_fwd_tensors t;
          t.x = dx->get(), t.w = dw->get(), t.gamma = dg->get(), t.beta = db->get(),
          t.mask = dm->get();
          t.running_mean = drm->get(), t.running_var = drv->get(), t.y = dy->get(),
          t.mean = aff->get();
          t.invstd = aff->get() + p.K, t.scale = aff->get() + 2 * p.K,
          t.shift = aff->get() + 3 * p.K;
          t.a = da->get(), t.bits = dbits->get(), t.workspace = ws->get();
          return Case{[=] { return conv_bn_mrelu_fwd_train(fp, t, nullptr); },
                      [=](Check& c) {
                        const Vec y = cpu_conv(p, x, w);
                        const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                        Vec a;
                        std::vector<uint64_t> bits;
                        cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::MaskedReLU, m.data(), nullptr,
                                   &a, &bits);
                        c.close("y", dy->download(), y, 0);
                        const Vec o = aff->download();
                        c.close("mean", Vec(o.begin(), o.begin() + p.K), r.mean, kTol);
                        c.close("invstd", Vec(o.begin() + p.K, o.begin() + 2 * p.K), r.invstd,
                                kTol);
                        c.close("a", da->download(), a, kTol);
                        c.bits("bits", dbits->download(), bits, n, a, kTol);
                        const double M = double(p.N) * p.P * p.Q;
                        Vec rm2(static_cast<size_t>(p.K)), rv2(static_cast<size_t>(p.K));
                        for (size_t k = 0; k < size_t(p.K); ++k) {
                          rm2[k] = float(0.9 * rm[k] + 0.1 * r.mean[k]);
                          rv2[k] = float(0.9 * rv[k] + 0.1 * r.var[k] * M / std::max(M - 1, 1.0));
                        }
                        c.close("running_mean", drm->download(), rm2, kTol);
                        c.close("running_var", drv->download(), rv2, kTol);
                      }};
        };
  h["conv_bn_fold/v1_grid_stride"] = [](P p) {
    Vec w = uniform(p.w_size(), 2), g = uniform(p.K, 3), b = uniform(p.K, 4), rm = uniform(p.K, 5);
    Vec rv = uniform(p.K, 6, 0.5f, 2.f);
    auto dw = dev(w), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
    auto wf = dev<float>(p.w_size()), bf = dev<float>(p.K);
    return Case{[=] {
                  return conv_bn_fold(p, 1e-5f, dw->get(), dg->get(), db->get(), drm->get(),
                                      drv->get(), wf->get(), bf->get(), nullptr);
                },
                [=](Check& c) {
                  Vec wr(w.size()), br(static_cast<size_t>(p.K));
                  const int64_t crs = p.gemm_k();
                  for (int64_t k = 0; k < p.K; ++k) {
                    const double s = g[size_t(k)] / std::sqrt(double(rv[size_t(k)]) + 1e-5);
                    for (int64_t i = 0; i < crs; ++i)
                      wr[size_t(k * crs + i)] = float(w[size_t(k * crs + i)] * s);
                    br[size_t(k)] = float(b[size_t(k)] - rm[size_t(k)] * s);
                  }
                  c.close("w_folded", wf->download(), wr, kTolUlp);
                  c.close("b_folded", bf->download(), br, kTolUlp);
                }};
  };
  // TF32: the folded weights are not TF32 values (rounded by ≤ 2⁻¹¹ each): kTolTf32.
  for (bool tf32 : {false, true})
    h[tf32 ? "conv_bn_mrelu_infer/v4_tf32_act_epilogue"
           : "conv_bn_mrelu_infer/v5_simt_act_epilogue"] = [tf32](P p) {
      Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = uniform(p.K, 3),
          b = uniform(p.K, 4);
      Vec rm = uniform(p.K, 5, -10.f, 10.f), rv(static_cast<size_t>(p.K), 40.f * float(p.gemm_k()));
      const std::vector<uint8_t> m = bytes01(int64_t(p.K) * p.P * p.Q, 7);
      auto dx = dev(x), dw = dev(w), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
      auto dm = dev(m);
      auto wf = dev<float>(p.w_size()), bf = dev<float>(p.K), da = dev<float>(p.y_size());
      CUDA_TRY(conv_bn_fold(p, 1e-5f, dw->get(), dg->get(), db->get(), drm->get(), drv->get(),
                            wf->get(), bf->get(), nullptr));
      conv_bn_mrelu_fwd_params fp;
      fp.conv = p;
      fp.tf32 = tf32;
      return Case{[=] {
                    return conv_bn_mrelu_infer(fp, dx->get(), wf->get(), bf->get(), dm->get(),
                                               da->get(), nullptr);
                  },
                  [=](Check& c) {  // CPU: conv, then BN with the running stats, then masked ReLU
                    Vec is(static_cast<size_t>(p.K)), a;
                    for (size_t k = 0; k < size_t(p.K); ++k)
                      is[k] = float(1.0 / std::sqrt(double(rv[k]) + 1e-5));
                    std::vector<uint64_t> bits;
                    cpu_bn_act(p, cpu_conv(p, x, w), rm, is, g, b, Act::MaskedReLU, m.data(),
                               nullptr, &a, &bits);
                    c.close("a", da->download(), a, tf32 ? kTolTf32 : kTol);
                  }};
    };

  // --- backward of BN → masked ReLU, and of the whole conv → BN → masked ReLU
  struct BwdIn {
    Vec y, g, b, da;
    BnRef r;
    std::vector<uint8_t> m;
    std::vector<uint64_t> bits;
    Vec a;
  };
  auto bwd_inputs = [](P p, const Vec& y) {
    auto in = std::make_shared<BwdIn>();
    in->y = y, in->g = uniform(p.K, 31), in->b = uniform(p.K, 32), in->da = uniform(p.y_size(), 33);
    in->r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
    in->m = bytes01(int64_t(p.K) * p.P * p.Q, 34);
    cpu_bn_act(p, y, in->r.mean, in->r.invstd, in->g, in->b, Act::MaskedReLU, in->m.data(), nullptr,
               &in->a, &in->bits);
    return in;
  };
  // CPU: dγ, dβ, dy (and dz) of BN → masked ReLU in training (engine/cpu/batchnorm.h).
  auto cpu_bn_bwd = [](P p, const BwdIn& in, Vec* dg, Vec* db, Vec* dy, Vec* dz) {
    cpu::BnAct ba{
        p.N,         p.K,         int64_t(p.P) * p.Q, in.r.mean.data(), in.r.invstd.data(),
        in.g.data(), in.b.data(), Act::MaskedReLU,    in.m.data()};
    dg->assign(static_cast<size_t>(p.K), 0.f), db->assign(static_cast<size_t>(p.K), 0.f);
    dy->assign(in.y.size(), 0.f);
    if (dz) dz->assign(in.y.size(), 0.f);
    cpu::bn_act_grad_reduce(ba, in.da.data(), in.bits.data(), in.y.data(), dg->data(), db->data());
    cpu::bn_act_backward(ba, in.da.data(), in.bits.data(), in.y.data(), dg->data(), db->data(),
                         true, dy->data(), dz ? dz->data() : nullptr);
  };
  h["mrelu_bn_bwd/v1_tile_reduce_merge"] = [=](P p) {
    const mrelu_bn_bwd_params bp{p.N, p.K, p.P * p.Q, true};
    auto in = bwd_inputs(p, uniform(p.y_size(), 30, -3.f, 5.f));
    auto dda = dev(in->da), dyv = dev(in->y), dmean = dev(in->r.mean), dis = dev(in->r.invstd),
         dg = dev(in->g);
    auto dbits = dev(bits32(in->bits, p.y_size()));
    auto ddy = dev<float>(p.y_size()), ddr = dev<float>(p.y_size()), ddg = dev<float>(p.K),
         ddb = dev<float>(p.K);
    auto ws = dev<float>(mrelu_bn_bwd_workspace_floats(bp));
    mrelu_bn_bwd_tensors t;
    t.da = dda->get(), t.bits = dbits->get(), t.y = dyv->get(), t.mean = dmean->get(),
    t.invstd = dis->get();
    t.gamma = dg->get(), t.dy = ddy->get(), t.dresidual = ddr->get(), t.dgamma = ddg->get(),
    t.dbeta = ddb->get();
    t.workspace = ws->get();
    return Case{[=] { return mrelu_bn_bwd(bp, t, nullptr); },
                [=](Check& c) {
                  Vec g, b, dy, dz;
                  cpu_bn_bwd(p, *in, &g, &b, &dy, &dz);
                  c.close("dy", ddy->download(), dy, kTol);
                  c.close("dresidual", ddr->download(), dz, 0);
                  c.close("dgamma", ddg->download(), g, kTolReduce);
                  c.close("dbeta", ddb->download(), b, kTolReduce);
                }};
  };
  h["conv_bn_mrelu_bwd/bn_bwd+dgrad_v2+wgrad_v2"] = [=](P p) {
    Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2);
    auto in = bwd_inputs(p, cpu_conv(p, x, w));
    auto dxv = dev(x), dwv = dev(w), dda = dev(in->da), dyv = dev(in->y), dmean = dev(in->r.mean);
    auto dis = dev(in->r.invstd), dg = dev(in->g);
    auto dbits = dev(bits32(in->bits, p.y_size()));
    auto ddy = dev<float>(p.y_size()), ddx = dev<float>(p.x_size()), ddw = dev<float>(p.w_size());
    auto ddg = dev<float>(p.K), ddb = dev<float>(p.K);
    auto ws = dev<float>(conv_bn_mrelu_bwd_workspace_floats(p));
    conv_bn_mrelu_bwd_tensors t;
    t.x = dxv->get(), t.w = dwv->get(), t.da = dda->get(), t.bits = dbits->get(), t.y = dyv->get();
    t.mean = dmean->get(), t.invstd = dis->get(), t.gamma = dg->get(), t.dy = ddy->get(),
    t.dx = ddx->get();
    t.dw = ddw->get(), t.dgamma = ddg->get(), t.dbeta = ddb->get(), t.workspace = ws->get();
    return Case{[=] { return conv_bn_mrelu_bwd(p, t, nullptr); },
                [=](Check& c) {
                  Vec g, b, dy, dx, dw;
                  cpu_bn_bwd(p, *in, &g, &b, &dy, nullptr);
                  cpu_conv_bprop(p, x, w, dy, &dx, &dw);
                  c.close("dx", ddx->download(), dx, kTol);
                  c.close("dw", ddw->download(), dw, kTol);
                  c.close("dgamma", ddg->download(), g, kTolReduce);
                  c.close("dbeta", ddb->download(), b, kTolReduce);
                }};
  };
  return h;
}

// Hooks of the kernels outside the conv/BN family (elementwise, reductions, GEMM, head, losses,
// activations, optimizers, mask search).
// SGD (momentum 0.9, Nesterov, weight decay) on the conv's weight: v1 one launch over the tensor,
// or (multi) v2 with the weight cut into 8 tensors (the last shorter), one launch for all.
Case sgd_case(const Conv2dGeom& p, bool multi) {
  const int64_t n = p.w_size(), piece = (n + 7) / 8;
  Vec w = uniform(n, 73), g = uniform(n, 74), buf = uniform(n, 75);
  auto dw = dev(w), dg = dev(g), db = dev(buf);
  sgd_update_params sp;
  sp.p = dw->get(), sp.g = dg->get(), sp.buf = db->get(), sp.n = n, sp.lr = 0.1f;
  sp.momentum = 0.9f, sp.weight_decay = 5e-4f, sp.nesterov = true;
  sgd_update_multi_params mp;
  for (int64_t off = 0; off < n; off += piece, ++mp.count)
    mp.t[mp.count] = sgd_tensor{dw->get() + off,          dg->get() + off, db->get() + off,
                                std::min(piece, n - off), sp.weight_decay, false};
  mp.lr = sp.lr, mp.momentum = sp.momentum, mp.nesterov = sp.nesterov;
  return Case{
      [=] { return multi ? sgd_update_multi_launch(mp, nullptr) : sgd_update_launch(sp, nullptr); },
      [=](Check& c) {
        Vec rw = w, rb = buf;
        cpu::SgdUpdate u;
        u.lr = 0.1f, u.momentum = 0.9f, u.weight_decay = 5e-4f, u.nesterov = true;
        cpu::sgd_update(rw.data(), g.data(), rb.data(), n, u);
        c.close("p", dw->download(), rw, kTolUlp);
        c.close("buf", db->download(), rb, kTolUlp);
      }};
}

// AdamW at step 3 on the conv's weight, v1 or (multi) v2 as for SGD.
Case adam_case(const Conv2dGeom& p, bool multi) {
  const int64_t n = p.w_size(), piece = (n + 7) / 8;
  Vec w = uniform(n, 76), g = uniform(n, 77), m = uniform(n, 78, -0.1f, 0.1f),
      v = uniform(n, 79, 0.f, 0.01f);
  auto dw = dev(w), dg = dev(g), dm = dev(m), dv = dev(v);
  const float bc1 = 1.f - 0.9f * 0.9f * 0.9f, bc2 = 1.f - 0.999f * 0.999f * 0.999f;
  adam_update_params ap;
  ap.p = dw->get(), ap.g = dg->get(), ap.m = dm->get(), ap.v = dv->get(), ap.n = n, ap.lr = 1e-3f;
  ap.weight_decay = 1e-2f, ap.decoupled = true, ap.bias_correction1 = bc1;
  ap.bias_correction2 = bc2;
  adam_update_multi_params mp;
  for (int64_t off = 0; off < n; off += piece, ++mp.count)
    mp.t[mp.count] = adam_tensor{dw->get() + off,
                                 dg->get() + off,
                                 dm->get() + off,
                                 dv->get() + off,
                                 std::min(piece, n - off),
                                 ap.weight_decay,
                                 bc1,
                                 bc2};
  mp.lr = ap.lr, mp.decoupled = true;
  return Case{
      [=] {
        return multi ? adam_update_multi_launch(mp, nullptr) : adam_update_launch(ap, nullptr);
      },
      [=](Check& c) {
        Vec rw = w, rm = m, rv = v;
        cpu::AdamUpdate u;
        u.lr = 1e-3f, u.beta1 = 0.9f, u.beta2 = 0.999f, u.eps = 1e-8f, u.weight_decay = 1e-2f;
        u.decoupled = true, u.bias_correction1 = bc1, u.bias_correction2 = bc2;
        cpu::adam_update(rw.data(), g.data(), rm.data(), rv.data(), n, u);
        c.close("p", dw->download(), rw, kTolUlp);
        c.close("m", dm->download(), rm, kTolUlp);
        c.close("v", dv->download(), rv, kTolUlp);
      }};
}

void add_other_hooks(std::map<std::string, Hook>& h) {
  using P = const Conv2dGeom&;
  auto act_n = [](P p) { return p.y_size(); };              // activation N×K×P×Q
  auto kpq = [](P p) { return int64_t(p.K) * p.P * p.Q; };  // one image's activation

  // --- elementwise (tolerance: nvcc may contract α·a + β·b into one FMA, 1 ulp)
  h["axpby_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = act_n(p);
    Vec a = uniform(n, 40), b = uniform(n, 41);
    auto da = dev(a), db = dev(b), dy = dev<float>(n);
    return Case{[=] {
                  return axpby_launch({da->get(), db->get(), dy->get(), 0.75f, -1.25f, n}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  cpu::axpby(0.75f, a.data(), -1.25f, b.data(), y.data(), n);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["mul_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = act_n(p);
    Vec a = uniform(n, 40), b = uniform(n, 41);
    auto da = dev(a), db = dev(b), dy = dev<float>(n);
    return Case{[=] {
                  return mul_launch({da->get(), db->get(), dy->get(), n}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  cpu::mul(a.data(), b.data(), y.data(), n);
                  c.close("y", dy->download(), y, 0);
                }};
  };
  h["fill_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = act_n(p);
    auto dy = dev<float>(n);
    return Case{
        [=] {
          return fill_launch({dy->get(), 3.5f, n}, nullptr);
        },
        [=](Check& c) { c.close("y", dy->download(), Vec(static_cast<size_t>(n), 3.5f), 0); }};
  };
  h["copy_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = act_n(p);
    Vec x = uniform(n, 42);
    auto dx = dev(x), dy = dev<float>(n);
    return Case{[=] {
                  return copy_launch({dx->get(), dy->get(), n}, nullptr);
                },
                [=](Check& c) { c.close("y", dy->download(), x, 0); }};
  };

  // --- reductions (double accumulation on both sides: 1e-6 of Σ|x|)
  h["sum_launch/v1_two_level"] = [=](P p) {
    const int64_t n = act_n(p);
    Vec x = uniform(n, 43);
    auto dx = dev(x), out = dev<float>(1);
    auto part = dev<double>(sum_partials_count(n));
    auto outd = dev<double>(1);
    return Case{[=] {
                  return sum_launch({dx->get(), n, reduce_op::identity, 1.f, out->get(),
                                     outd->get(), part->get()},
                                    nullptr);
                },
                [=](Check& c) {
                  const double ref = cpu::sum(x.data(), n), scale = cpu::l1_forward(x.data(), n);
                  const double got = outd->download()[0];
                  c.worst = std::max(c.worst, std::fabs(got - ref) / scale);
                  if (!(std::fabs(got - ref) <= 1e-6 * scale)) c.fail("sum");
                  c.close("sum (float)", out->download(), Vec{float(ref)},
                          1e-6 * scale / std::max(std::fabs(ref), 1e-30) + 1e-7);
                }};
  };
  h["sum_single_block_launch/v1_single_block"] = [](P p) {
    const int64_t n = p.N;
    Vec x = uniform(n, 44, 0.f, 3.f);
    auto dx = dev(x), out = dev<float>(1);
    return Case{[=] { return sum_single_block_launch(dx->get(), n, 0.5f, out->get(), nullptr); },
                [=](Check& c) {
                  c.close("sum", out->download(), Vec{float(0.5 * cpu::sum(x.data(), n))}, kTolUlp);
                }};
  };
  h["count_correct_launch/v1_warp_per_row"] = [](P p) {
    const int64_t N = p.N, K = p.K;
    Vec z = uniform(N * K, 45);
    const std::vector<int32_t> y = labels(N, 46, int(K));
    auto dz = dev(z);
    auto dl = dev(y);
    auto out = dev<int>(1);
    return Case{[=] {
                  return count_correct_launch({dz->get(), dl->get(), N, K, out->get()}, nullptr);
                },
                [=](Check& c) {  // argmax, ties to the lowest k (engine/ops/count_correct.cpp)
                  int ref = 0;
                  for (int64_t i = 0; i < N; ++i) {
                    const float* row = z.data() + i * K;
                    ref += int(std::max_element(row, row + K) - row) == y[size_t(i)];
                  }
                  c.equal("correct", out->download(), std::vector<int>{ref});
                }};
  };
  h["global_avg_pool_forward_launch/v1_warp_per_row"] = [](P p) {
    const int64_t NC = int64_t(p.N) * p.K, HW = int64_t(p.P) * p.Q;
    Vec x = uniform(NC * HW, 47);
    auto dx = dev(x), dy = dev<float>(NC);
    return Case{[=] {
                  return global_avg_pool_forward_launch({dx->get(), dy->get(), NC, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(NC));
                  cpu::global_avg_pool_forward(x.data(), y.data(), NC, HW);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["global_avg_pool_backward_launch/v1_grid_stride"] = [](P p) {
    const int64_t NC = int64_t(p.N) * p.K, HW = int64_t(p.P) * p.Q;
    Vec g = uniform(NC, 48);
    auto dg = dev(g), dx = dev<float>(NC * HW);
    return Case{[=] {
                  return global_avg_pool_backward_launch({dg->get(), dx->get(), NC, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec x(static_cast<size_t>(NC * HW));
                  cpu::global_avg_pool_backward(g.data(), x.data(), NC, HW);
                  c.close("dx", dx->download(), x, 0);
                }};
  };

  // --- GEMM at the conv's implicit-GEMM size; integer inputs: exact, compared bitwise
  auto gemm_case = [](P p, sgemm_impl impl) {
    const int m = int(p.gemm_m()), n = p.K, k = int(p.gemm_k());
    Vec A = ints(int64_t(m) * k, 49), B = ints(int64_t(k) * n, 50);
    auto dA = dev(A), dB = dev(B), dC = dev<float>(int64_t(m) * n);
    sgemm_params sp;
    sp.m = m, sp.n = n, sp.k = k, sp.A = dA->get(), sp.lda = m, sp.B = dB->get(), sp.ldb = k;
    sp.C = dC->get(), sp.ldc = m, sp.impl = impl;
    return Case{[=] { return sgemm_launch(sp, nullptr); },
                [=](Check& c) {  // column-major C = A·B is row-major Cᵀ = Bᵀ·Aᵀ
                  Vec C(static_cast<size_t>(m) * n);
                  cpu::sgemm_parallel(false, false, n, m, k, 1.f, B.data(), k, A.data(), m, 0.f,
                                      C.data(), m);
                  c.close("C", dC->download(), C, 0);
                }};
  };
  h["sgemm_launch/v2_smem_tile_4x4"] = [=](P p) { return gemm_case(p, sgemm_impl::tiled); };
  h["sgemm_launch/cublas"] = [=](P p) { return gemm_case(p, sgemm_impl::cublas); };

  // --- FC head: x N×F (F = C), w O×F (O = K), y N×O. sgemm vs OpenBLAS: 1e-5 (linear tests)
  h["bias_add_launch/v1_grid_stride"] = [](P p) {
    const int64_t N = p.N, O = p.K;
    Vec y = uniform(N * O, 51), b = uniform(O, 52);
    auto dy = dev(y), db = dev(b);
    return Case{[=] {
                  return bias_add_launch({dy->get(), db->get(), N, O}, nullptr);
                },
                [=](Check& c) {
                  Vec ref = y;
                  for (int64_t i = 0; i < N * O; ++i) ref[size_t(i)] += b[size_t(i % O)];
                  c.close("y", dy->download(), ref, 0);
                }};
  };
  h["bias_grad_launch/v1_column_strip"] = [](P p) {
    const int64_t N = p.N, F = p.C, O = p.K;
    Vec g = uniform(N * O, 53), x = uniform(N * F, 54), w = uniform(O * F, 55);
    auto dg = dev(g), db = dev<float>(O);
    return Case{[=] {
                  return bias_grad_launch({dg->get(), db->get(), N, O, false}, nullptr);
                },
                [=](Check& c) {
                  Vec b(static_cast<size_t>(O));
                  cpu::linear_backward(g.data(), x.data(), w.data(), nullptr, nullptr, b.data(), N,
                                       F, O);
                  c.close("db", db->download(), b, kTol);
                }};
  };
  h["linear_forward_launch/sgemm+bias_add"] = [](P p) {
    const int N = p.N, F = p.C, O = p.K;
    Vec x = uniform(int64_t(N) * F, 56), w = uniform(int64_t(O) * F, 57), b = uniform(O, 58);
    auto dx = dev(x), dw = dev(w), db = dev(b), dy = dev<float>(int64_t(N) * O);
    linear_params lp;
    lp.x = dx->get(), lp.w = dw->get(), lp.b = db->get(), lp.y = dy->get(), lp.N = N, lp.F = F,
    lp.O = O;
    return Case{[=] { return linear_forward_launch(lp, nullptr); },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(N) * O);
                  cpu::linear_forward(x.data(), w.data(), b.data(), y.data(), N, F, O);
                  c.close("y", dy->download(), y, kTol);
                }};
  };
  h["linear_backward_launch/2_sgemm+bias_grad"] = [](P p) {
    const int N = p.N, F = p.C, O = p.K;
    Vec x = uniform(int64_t(N) * F, 56), w = uniform(int64_t(O) * F, 57),
        g = uniform(int64_t(N) * O, 59);
    auto dx = dev(x), dw = dev(w), dg = dev(g);
    auto gx = dev<float>(int64_t(N) * F), gw = dev<float>(int64_t(O) * F), gb = dev<float>(O);
    linear_params lp;
    lp.x = dx->get(), lp.w = dw->get(), lp.dy = dg->get(), lp.dx = gx->get(), lp.dw = gw->get(),
    lp.db = gb->get();
    lp.N = N, lp.F = F, lp.O = O;
    return Case{[=] { return linear_backward_launch(lp, nullptr); },
                [=](Check& c) {
                  Vec rx(static_cast<size_t>(N) * F), rw(static_cast<size_t>(O) * F),
                      rb(static_cast<size_t>(O));
                  cpu::linear_backward(g.data(), x.data(), w.data(), rx.data(), rw.data(),
                                       rb.data(), N, F, O);
                  c.close("dx", gx->download(), rx, kTol);
                  c.close("dw", gw->download(), rw, kTol);
                  c.close("db", gb->download(), rb, kTol);
                }};
  };

  // --- losses on the head's logits N×O
  h["softmax_xent_forward_launch/v1_warp_per_row"] = [](P p) {
    const int64_t N = p.N, K = p.K;
    Vec z = uniform(N * K, 60, -4.f, 4.f);
    const std::vector<int32_t> y = labels(N, 61, int(K));
    auto dz = dev(z);
    auto dl = dev(y);
    auto pr = dev<float>(N * K), rl = dev<float>(N), loss = dev<float>(1);
    auto bad = dev<uint32_t>(1);
    softmax_xent_params sp;
    sp.logits = dz->get(), sp.labels = dl->get(), sp.N = N, sp.K = K, sp.probs = pr->get();
    sp.row_loss = rl->get(), sp.loss = loss->get(), sp.bad_row = bad->get(),
    sp.check_labels = false;
    return Case{[=] { return softmax_xent_forward_launch(sp, nullptr); },
                [=](Check& c) {
                  Vec pref(static_cast<size_t>(N * K));
                  const double l =
                      cpu::cross_entropy_forward(z.data(), y.data(), pref.data(), N, K);
                  c.close("probs", pr->download(), pref, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTol);
                }};
  };
  h["softmax_xent_backward_launch/v1_grid_stride"] = [](P p) {
    const int64_t N = p.N, K = p.K;
    Vec pr(static_cast<size_t>(N * K));
    const std::vector<int32_t> y = labels(N, 61, int(K));
    cpu::softmax_rows(uniform(N * K, 60, -4.f, 4.f).data(), 1.f, pr.data(), nullptr, N, K);
    auto dp = dev(pr), dz = dev<float>(N * K);
    auto dl = dev(y);
    softmax_xent_backward_params bp;
    bp.probs = dp->get(), bp.labels = dl->get(), bp.N = N, bp.K = K, bp.scale = 0.5f,
    bp.dz = dz->get();
    return Case{[=] { return softmax_xent_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(N * K));
                  cpu::cross_entropy_backward(pr.data(), y.data(), 0.5f, ref.data(), N, K);
                  c.close("dz", dz->download(), ref, kTol);
                }};
  };
  h["kd_forward_launch/v1_warp_per_row"] = [](P p) {
    const int64_t N = p.N, K = p.K;
    Vec zs = uniform(N * K, 62, -4.f, 4.f), zt = uniform(N * K, 63, -4.f, 4.f);
    auto dzs = dev(zs), dzt = dev(zt);
    auto ps = dev<float>(N * K), pt = dev<float>(N * K), rk = dev<float>(N), loss = dev<float>(1);
    kd_forward_params kp;
    kp.zs = dzs->get(), kp.zt = dzt->get(), kp.N = N, kp.K = K, kp.T = 4.f, kp.ps = ps->get(),
    kp.pt = pt->get();
    kp.row_kl = rk->get(), kp.loss = loss->get();
    return Case{[=] { return kd_forward_launch(kp, nullptr); },
                [=](Check& c) {
                  Vec rs(static_cast<size_t>(N * K)), rt(static_cast<size_t>(N * K));
                  const double l =
                      cpu::kd_forward(zs.data(), zt.data(), N, K, 4.f, rs.data(), rt.data());
                  c.close("ps", ps->download(), rs, kTol);
                  c.close("pt", pt->download(), rt, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTolReduce);
                }};
  };
  h["kd_backward_launch/v1_grid_stride"] = [](P p) {
    const int64_t N = p.N, K = p.K;
    Vec ps(static_cast<size_t>(N * K)), pt(static_cast<size_t>(N * K));
    cpu::softmax_rows(uniform(N * K, 62, -4.f, 4.f).data(), 0.25f, ps.data(), nullptr, N, K);
    cpu::softmax_rows(uniform(N * K, 63, -4.f, 4.f).data(), 0.25f, pt.data(), nullptr, N, K);
    auto dps = dev(ps), dpt = dev(pt), dz = dev<float>(N * K);
    kd_backward_params kp;
    kp.ps = dps->get(), kp.pt = dpt->get(), kp.N = N, kp.K = K, kp.T = 4.f, kp.dzs = dz->get();
    return Case{[=] { return kd_backward_launch(kp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(N * K));
                  cpu::kd_backward(ps.data(), pt.data(), N, K, 4.f, 1.f, ref.data());
                  c.close("dzs", dz->download(), ref, kTol);
                }};
  };

  // --- PRAM on the site after the conv (B = N, C = K, HW = P·Q), post-ReLU activations ≥ 0
  h["pram_forward_launch/v1_block_per_sample"] = [](P p) {
    const int64_t B = p.N, C = p.K, HW = int64_t(p.P) * p.Q;
    Vec as = uniform(B * C * HW, 64, 0.f, 2.f), at = uniform(B * C * HW, 65, 0.f, 2.f);
    auto das = dev(as), dat = dev(at);
    auto qs = dev<float>(B * HW), qt = dev<float>(B * HW), ns = dev<float>(B), nt = dev<float>(B);
    auto rd = dev<float>(B), loss = dev<float>(1);
    pram_forward_params fp;
    fp.a_s = das->get(), fp.a_t = dat->get(), fp.B = B, fp.C = C, fp.HW = HW, fp.qs = qs->get(),
    fp.qt = qt->get();
    fp.norm_s = ns->get(), fp.norm_t = nt->get(), fp.row_dist = rd->get(), fp.loss = loss->get();
    return Case{[=] { return pram_forward_launch(fp, nullptr); },
                [=](Check& c) {
                  Vec rqs(static_cast<size_t>(B * HW)), rqt(static_cast<size_t>(B * HW)),
                      rns(static_cast<size_t>(B)), rnt(static_cast<size_t>(B));
                  cpu::pram_attention(as.data(), rqs.data(), rns.data(), B, C, HW);
                  cpu::pram_attention(at.data(), rqt.data(), rnt.data(), B, C, HW);
                  const double l = cpu::pram_distance(rqs.data(), rqt.data(), B, HW);
                  c.close("qs", qs->download(), rqs, kTol);
                  c.close("norm_s", ns->download(), rns, kTol);
                  c.close("loss", loss->download(), Vec{float(l)}, kTolReduce);
                }};
  };
  h["pram_backward_launch/v1_block+grid_stride"] = [](P p) {
    const int64_t B = p.N, C = p.K, HW = int64_t(p.P) * p.Q;
    Vec as = uniform(B * C * HW, 64, 0.f, 2.f), at = uniform(B * C * HW, 65, 0.f, 2.f);
    Vec qs(static_cast<size_t>(B * HW)), qt(static_cast<size_t>(B * HW)),
        ns(static_cast<size_t>(B)), nt(static_cast<size_t>(B));
    cpu::pram_attention(as.data(), qs.data(), ns.data(), B, C, HW);
    cpu::pram_attention(at.data(), qt.data(), nt.data(), B, C, HW);
    auto das = dev(as), dqs = dev(qs), dns = dev(ns), dqt = dev(qt);
    auto dq = dev<float>(B * HW), da = dev<float>(B * C * HW);
    pram_backward_params bp;
    bp.a_s = das->get(), bp.qs = dqs->get(), bp.norm_s = dns->get(), bp.qt = dqt->get(), bp.B = B,
    bp.C = C;
    bp.HW = HW, bp.dq = dq->get(), bp.da = da->get();
    return Case{[=] { return pram_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(B * C * HW));
                  cpu::pram_backward(as.data(), qs.data(), ns.data(), qt.data(), B, C, HW, 1.f,
                                     ref.data());
                  c.close("dA", da->download(), ref, kTolReduce);
                }};
  };

  // --- masked ReLU, alpha-ReLU, L1 (bitwise where the CPU does the same single operation)
  h["masked_relu_forward_launch/v1_warp_per_word"] = [=](P p) {
    const int64_t n = act_n(p), L = kpq(p);
    Vec x = uniform(n, 66);
    const std::vector<uint8_t> m = bytes01(L, 67);
    auto dx = dev(x), dy = dev<float>(n);
    auto dm = dev(m);
    auto db = dev<uint32_t>(pass_bits_words(n));
    return Case{[=] {
                  return masked_relu_forward_launch(
                      {dx->get(), dy->get(), db->get(), dm->get(), n, L, 0}, nullptr);
                },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(n));
                  std::vector<uint64_t> bits(static_cast<size_t>(cpu::bit_words(n)));
                  cpu::masked_relu_forward(x.data(), m.data(), L, n, y.data(), bits.data());
                  c.close("y", dy->download(), y, 0);
                  c.bits("bits", db->download(), bits, n, y, 0);
                }};
  };
  h["masked_relu_backward_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = act_n(p), L = kpq(p);
    Vec x = uniform(n, 66), g = uniform(n, 68), y(static_cast<size_t>(n));
    const std::vector<uint8_t> m = bytes01(L, 67);
    std::vector<uint64_t> bits(static_cast<size_t>(cpu::bit_words(n)));
    cpu::masked_relu_forward(x.data(), m.data(), L, n, y.data(), bits.data());
    auto dg = dev(g), dx = dev<float>(n);
    auto db = dev(bits32(bits, n));
    return Case{[=] {
                  return masked_relu_backward_launch({dg->get(), db->get(), dx->get(), n}, nullptr);
                },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(n));
                  cpu::masked_relu_backward(g.data(), bits.data(), n, ref.data());
                  c.close("dx", dx->download(), ref, 0);
                }};
  };
  h["alpha_relu_forward_launch/v1_grid_stride"] = [=](P p) {
    const int64_t N = p.N, Pn = kpq(p);
    Vec x = uniform(N * Pn, 69), al = uniform(Pn, 70, 0.f, 1.f);
    auto dx = dev(x), da = dev(al), dy = dev<float>(N * Pn);
    alpha_relu_params ap;
    ap.x = dx->get(), ap.alpha = da->get(), ap.y = dy->get(), ap.N = N, ap.P = Pn;
    return Case{[=] { return alpha_relu_forward_launch(ap, nullptr); },
                [=](Check& c) {
                  Vec y(static_cast<size_t>(N * Pn));
                  cpu::alpha_relu_forward(x.data(), al.data(), y.data(), N, Pn);
                  c.close("y", dy->download(), y, kTolUlp);
                }};
  };
  h["alpha_relu_backward_launch/v1_grid_stride+thread_per_position"] = [=](P p) {
    const int64_t N = p.N, Pn = kpq(p);
    Vec x = uniform(N * Pn, 69), al = uniform(Pn, 70, 0.f, 1.f), g = uniform(N * Pn, 71);
    auto dx = dev(x), da = dev(al), dg = dev(g), gx = dev<float>(N * Pn), ga = dev<float>(Pn);
    alpha_relu_params ap;
    ap.x = dx->get(), ap.alpha = da->get(), ap.dy = dg->get(), ap.dx = gx->get(),
    ap.dalpha = ga->get();
    ap.N = N, ap.P = Pn;
    return Case{[=] { return alpha_relu_backward_launch(ap, nullptr); },
                [=](Check& c) {
                  Vec rx(static_cast<size_t>(N * Pn)), ra(static_cast<size_t>(Pn));
                  cpu::alpha_relu_backward(x.data(), al.data(), g.data(), rx.data(), ra.data(), N,
                                           Pn);
                  c.close("dx", gx->download(), rx, kTolUlp);
                  c.close("dalpha", ga->download(), ra, kTol);
                }};
  };
  h["l1_forward_launch/v1_two_level"] = [=](P p) {
    const int64_t n = kpq(p);
    Vec x = uniform(n, 72);
    auto dx = dev(x), out = dev<float>(1);
    auto part = dev<double>(sum_partials_count(n));
    return Case{
        [=] {
          return l1_forward_launch({dx->get(), n, out->get(), nullptr, part->get()}, nullptr);
        },
        [=](Check& c) {
          c.close("l1", out->download(), Vec{float(cpu::l1_forward(x.data(), n))}, kTolUlp);
        }};
  };
  h["l1_backward_launch/v1_grid_stride"] = [=](P p) {
    const int64_t n = kpq(p);
    Vec x = uniform(n, 72);
    auto dx = dev(x), g = dev<float>(n);
    l1_backward_params bp;
    bp.x = dx->get(), bp.scale = 0.25f, bp.dx = g->get(), bp.n = n;
    return Case{[=] { return l1_backward_launch(bp, nullptr); },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(n));
                  cpu::l1_backward(x.data(), 0.25f, ref.data(), n);
                  c.close("dx", g->download(), ref, 0);
                }};
  };

  // --- optimizers on the conv's weight (nvcc FMAs: a few ulp); v2 cuts it into 8 tensors
  h["sgd_update_launch/v1_grid_stride"] = [](P p) { return sgd_case(p, false); };
  h["sgd_update_multi_launch/v2_multi_tensor"] = [](P p) { return sgd_case(p, true); };
  h["adam_update_launch/v1_grid_stride"] = [](P p) { return adam_case(p, false); };
  h["adam_update_multi_launch/v2_multi_tensor"] = [](P p) { return adam_case(p, true); };

  // --- SENet mask search on the site after the conv (no CPU op in engine/: the definitions)
  h["mask_accumulate_absdiff_launch/v1_thread_per_position"] = [=](P p) {
    const int64_t B = p.N, L = kpq(p);
    Vec at = uniform(B * L, 80), as = uniform(B * L, 81), D = uniform(L, 82, 0.f, 1.f);
    auto dat = dev(at), das = dev(as), dD = dev(D);
    return Case{
        [=] {
          return mask_accumulate_absdiff_launch({dat->get(), das->get(), dD->get(), B, L}, nullptr);
        },
        [=](Check& c) {
          Vec ref = D;
          for (int64_t l = 0; l < L; ++l) {
            float s = 0;  // fp32 in b order, then added to D
            for (int64_t b = 0; b < B; ++b)
              s += std::fabs(at[size_t(b * L + l)] - as[size_t(b * L + l)]);
            ref[size_t(l)] += s;
          }
          c.close("D", dD->download(), ref, kTolUlp);
        }};
  };
  h["channel_scores_launch/v1_block_per_channel"] = [](P p) {
    const int64_t C = p.K, HW = int64_t(p.P) * p.Q;
    Vec D = uniform(C * HW, 83, 0.f, 1.f);
    auto dD = dev(D), ds = dev<float>(C);
    return Case{[=] {
                  return channel_scores_launch({dD->get(), ds->get(), C, HW}, nullptr);
                },
                [=](Check& c) {
                  Vec ref(static_cast<size_t>(C));
                  for (int64_t k = 0; k < C; ++k)
                    ref[size_t(k)] = float(cpu::sum(D.data() + k * HW, HW));
                  c.close("scores", ds->download(), ref, kTolUlp);
                }};
  };
  h["topk_mask_launch/v1_radix_select"] = [=](P p) {
    const int64_t n = kpq(p), k = n / 2;
    Vec s = uniform(n, 84);
    for (int64_t i = 0; i < n; i += 7) s[size_t(i)] = 0.5f;  // ties, broken toward the lower index
    auto dsc = dev(s);
    auto dm = dev<uint8_t>(n);
    const size_t wsb = topk_mask_workspace_bytes(n);
    auto ws = dev<uint8_t>(int64_t(wsb));
    return Case{[=] {
                  return topk_mask_launch({dsc->get(), n, k, dm->get(), ws->get(), wsb}, nullptr);
                },
                [=](Check& c) {
                  std::vector<int64_t> idx(static_cast<size_t>(n));
                  std::iota(idx.begin(), idx.end(), 0);
                  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
                    return s[size_t(a)] > s[size_t(b)];
                  });
                  std::vector<uint8_t> ref(static_cast<size_t>(n), 0);
                  for (int64_t i = 0; i < k; ++i) ref[size_t(idx[size_t(i)])] = 1;
                  c.equal("mask", dm->download(), ref);
                }};
  };
}

// ---------------------------------------------------------------------------------------------
// Baselines (conv layers): the unfused chain, and cuDNN conv + BN + ReLU.

// conv2d_fprop v5 → bn_stats_partials → bn_finalize_train → scale_shift_mrelu: four launches, the
// same math as conv_bn_mrelu_fwd_train but with a separate statistics pass over y.
Case unfused_chain_case(const Conv2dGeom& p) {
  const int64_t n = p.y_size(), PQ = int64_t(p.P) * p.Q;
  const bn_stats_params sp{p.N, p.K, int(PQ)};
  const int64_t T = bn_stats_num_partials(sp);
  Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = uniform(p.K, 3), b = uniform(p.K, 4);
  Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
  const std::vector<uint8_t> m = bytes01(p.K * PQ, 7);
  auto dx = dev(x), dw = dev(w), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
  auto dm = dev(m);
  auto dy = dev<float>(n), da = dev<float>(n), aff = dev<float>(4 * p.K),
       part = dev<float>(3 * T * p.K);
  auto dbits = dev<uint32_t>(pass_bits_words(n));
  const bn_finalize_params fp{p.K, int(T), 1e-5f, 0.1f};
  const bn_channel_affine o{aff->get(), aff->get() + p.K, aff->get() + 2 * p.K,
                            aff->get() + 3 * p.K};
  const scale_shift_mrelu_params ssp{p.N, p.K, int(PQ), Act::MaskedReLU, false};
  return Case{[=] {
                cudaError_t e = conv2d_fprop(conv2d_fprop_version::v5_simt_128x128, p, dx->get(),
                                             dw->get(), nullptr, dy->get(), nullptr);
                if (e == cudaSuccess)
                  e = bn_stats_partials(sp, dy->get(), partials_of(part, T, p.K), nullptr);
                if (e == cudaSuccess)
                  e = bn_finalize_train(fp, partials_of(part, T, p.K), dg->get(), db->get(),
                                        drm->get(), drv->get(), o, nullptr);
                if (e == cudaSuccess)
                  e = scale_shift_mrelu(ssp, dy->get(), o.scale, o.shift, nullptr, dm->get(),
                                        da->get(), dbits->get(), nullptr);
                return e;
              },
              [=](Check& c) {
                const Vec y = cpu_conv(p, x, w);
                const BnRef r = cpu_bn(y, p.N, p.K, PQ);
                Vec a;
                std::vector<uint64_t> bits;
                cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::MaskedReLU, m.data(), nullptr, &a,
                           &bits);
                c.close("y", dy->download(), y, 0);
                c.close("a", da->download(), a, kTol);
                c.bits("bits", dbits->download(), bits, n, a, kTol);
              }};
}

#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
#define CUDNN_TRY(expr)                                                              \
  do {                                                                               \
    const cudnnStatus_t s_ = (expr);                                                 \
    if (s_ != CUDNN_STATUS_SUCCESS)                                                  \
      throw std::runtime_error(std::string(#expr) + ": " + cudnnGetErrorString(s_)); \
  } while (0)

// cudnnConvolutionForward (algorithm by cudnnFind…, CUDNN_FMA_MATH: fp32, no TF32; or with tf32,
// CUDNN_TENSOR_OP_MATH: the fastest algorithm, TF32 tensor cores allowed, PyTorch's default) →
// cudnnBatchNormalizationForwardTraining (spatial, batch statistics, running stats updated) →
// cudnnActivationForward (ReLU; cuDNN has no masked ReLU, so the baseline's activation is plain).
struct CudnnChain {
  cudnnHandle_t h = nullptr;
  cudnnTensorDescriptor_t xd = nullptr, yd = nullptr, bnd = nullptr;
  cudnnFilterDescriptor_t wd = nullptr;
  cudnnConvolutionDescriptor_t cd = nullptr;
  cudnnActivationDescriptor_t ad = nullptr;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  std::string algo_name;
  DevP<uint8_t> ws;
  size_t ws_bytes = 0;
  ~CudnnChain() {
    if (ad) cudnnDestroyActivationDescriptor(ad);
    if (cd) cudnnDestroyConvolutionDescriptor(cd);
    if (wd) cudnnDestroyFilterDescriptor(wd);
    if (bnd) cudnnDestroyTensorDescriptor(bnd);
    if (yd) cudnnDestroyTensorDescriptor(yd);
    if (xd) cudnnDestroyTensorDescriptor(xd);
    if (h) cudnnDestroy(h);
  }
};

// The handle and the conv's descriptors (NCHW fp32 x, w, y; cross-correlation), FMA math (FP32)
// or tensor-op math (TF32 allowed).
std::shared_ptr<CudnnChain> cudnn_conv_descriptors(const Conv2dGeom& p, bool tf32) {
  auto cc = std::make_shared<CudnnChain>();
  CUDNN_TRY(cudnnCreate(&cc->h));
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc->xd));
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc->yd));
  CUDNN_TRY(cudnnCreateFilterDescriptor(&cc->wd));
  CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cc->cd));
  CUDNN_TRY(
      cudnnSetTensor4dDescriptor(cc->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.C, p.H, p.W));
  CUDNN_TRY(
      cudnnSetFilter4dDescriptor(cc->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.K, p.C, p.R, p.S));
  CUDNN_TRY(cudnnSetConvolution2dDescriptor(cc->cd, p.pad, p.pad, p.stride, p.stride, 1, 1,
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_TRY(cudnnSetConvolutionMathType(cc->cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  CUDNN_TRY(
      cudnnSetTensor4dDescriptor(cc->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.K, p.P, p.Q));
  return cc;
}

Case cudnn_chain_case(const Conv2dGeom& p, bool tf32) {
  auto cc = cudnn_conv_descriptors(p, tf32);
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc->bnd));
  CUDNN_TRY(cudnnCreateActivationDescriptor(&cc->ad));
  CUDNN_TRY(cudnnDeriveBNTensorDescriptor(cc->bnd, cc->yd, CUDNN_BATCHNORM_SPATIAL));
  CUDNN_TRY(
      cudnnSetActivationDescriptor(cc->ad, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));

  const int64_t n = p.y_size();
  Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = uniform(p.K, 3), b = uniform(p.K, 4);
  Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
  auto dx = dev(x), dw = dev(w), dg = dev(g), db = dev(b), drm = dev(rm), drv = dev(rv);
  auto dy = dev<float>(n), dz = dev<float>(n), da = dev<float>(n), smean = dev<float>(p.K),
       sinv = dev<float>(p.K);

  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int got = 0;
  CUDNN_TRY(cudnnFindConvolutionForwardAlgorithm(cc->h, cc->xd, cc->wd, cc->cd, cc->yd,
                                                 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
  int pick = -1;
  for (int i = 0; i < got && pick < 0; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && (tf32 || perf[i].mathType == CUDNN_FMA_MATH))
      pick = i;
  if (pick < 0) throw std::runtime_error("cuDNN: no forward algorithm for this math");
  cc->algo = perf[pick].algo, cc->ws_bytes = perf[pick].memory;
  cc->ws = dev<uint8_t>(int64_t(std::max<size_t>(cc->ws_bytes, 1)));
  return Case{[=] {
                const float one = 1.f, zero = 0.f;
                cudnnStatus_t s = cudnnConvolutionForward(
                    cc->h, &one, cc->xd, dx->get(), cc->wd, dw->get(), cc->cd, cc->algo,
                    cc->ws->get(), cc->ws_bytes, &zero, cc->yd, dy->get());
                if (s == CUDNN_STATUS_SUCCESS)
                  s = cudnnBatchNormalizationForwardTraining(
                      cc->h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, cc->yd, dy->get(), cc->yd,
                      dz->get(), cc->bnd, dg->get(), db->get(), 0.1, drm->get(), drv->get(), 1e-5,
                      smean->get(), sinv->get());
                if (s == CUDNN_STATUS_SUCCESS)
                  s = cudnnActivationForward(cc->h, cc->ad, &one, cc->yd, dz->get(), &zero, cc->yd,
                                             da->get());
                return s == CUDNN_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
              },
              [=](Check& c) {
                const Vec y = cpu_conv(p, x, w);
                const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                Vec a;
                std::vector<uint64_t> bits;
                cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::ReLU, nullptr, nullptr, &a, &bits);
                c.close("y", dy->download(), y, kTolReduce);  // Winograd/FFT algorithms round
                c.close("a", da->download(), a, kTol);
              }};
}

// One cuDNN convolution pass alone — fprop (cudnnConvolutionForward), dgrad (…BackwardData) or
// wgrad (…BackwardFilter) — with FMA math (FP32) or tensor-op math (TF32 allowed), the algorithm
// the fastest that cudnnFind… reports for that math. The baselines of issue 16's targets.
enum class ConvPass { fprop, dgrad, wgrad };
Case cudnn_conv_case(const Conv2dGeom& p, ConvPass pass, bool tf32) {
  auto cc = cudnn_conv_descriptors(p, tf32);  // BN and activation descriptors unused
  Vec x = ints(p.x_size(), 1), w = ints(p.w_size(), 2), g = ints(p.y_size(), 3);
  auto dx = dev(x), dw = dev(w), dg = dev(g);
  auto out = dev<float>(pass == ConvPass::fprop   ? p.y_size()
                        : pass == ConvPass::dgrad ? p.x_size()
                                                  : p.w_size());
  // The fastest algorithm of this math (cudnnFind… sorts by time; FMA math must be FMA).
  auto pick = [&](const auto* perf, int got) {
    for (int i = 0; i < got; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && (tf32 || perf[i].mathType == CUDNN_FMA_MATH))
        return i;
    throw std::runtime_error("cuDNN: no algorithm for this pass and math");
  };
  int algo = 0, got = 0;
  if (pass == ConvPass::fprop) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    CUDNN_TRY(cudnnFindConvolutionForwardAlgorithm(cc->h, cc->xd, cc->wd, cc->cd, cc->yd,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
    const int i = pick(perf, got);
    algo = int(perf[i].algo), cc->ws_bytes = perf[i].memory;
  } else if (pass == ConvPass::dgrad) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    CUDNN_TRY(cudnnFindConvolutionBackwardDataAlgorithm(
        cc->h, cc->wd, cc->yd, cc->cd, cc->xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
    const int i = pick(perf, got);
    algo = int(perf[i].algo), cc->ws_bytes = perf[i].memory;
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    CUDNN_TRY(cudnnFindConvolutionBackwardFilterAlgorithm(cc->h, cc->xd, cc->yd, cc->cd, cc->wd,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                          &got, perf));
    const int i = pick(perf, got);
    algo = int(perf[i].algo), cc->ws_bytes = perf[i].memory;
  }
  cc->ws = dev<uint8_t>(int64_t(std::max<size_t>(cc->ws_bytes, 1)));
  return Case{
      [=] {
        const float one = 1.f, zero = 0.f;
        cudnnStatus_t s;
        if (pass == ConvPass::fprop)
          s = cudnnConvolutionForward(cc->h, &one, cc->xd, dx->get(), cc->wd, dw->get(), cc->cd,
                                      cudnnConvolutionFwdAlgo_t(algo), cc->ws->get(), cc->ws_bytes,
                                      &zero, cc->yd, out->get());
        else if (pass == ConvPass::dgrad)
          s = cudnnConvolutionBackwardData(cc->h, &one, cc->wd, dw->get(), cc->yd, dg->get(),
                                           cc->cd, cudnnConvolutionBwdDataAlgo_t(algo),
                                           cc->ws->get(), cc->ws_bytes, &zero, cc->xd, out->get());
        else
          s = cudnnConvolutionBackwardFilter(cc->h, &one, cc->xd, dx->get(), cc->yd, dg->get(),
                                             cc->cd, cudnnConvolutionBwdFilterAlgo_t(algo),
                                             cc->ws->get(), cc->ws_bytes, &zero, cc->wd,
                                             out->get());
        return s == CUDNN_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
      },
      [=](Check& c) {
        Vec ref;
        if (pass == ConvPass::fprop)
          ref = cpu_conv(p, x, w);
        else if (pass == ConvPass::dgrad)
          cpu_conv_bprop(p, x, w, g, &ref, nullptr);
        else
          cpu_conv_bprop(p, x, w, g, nullptr, &ref);
        c.close("out", out->download(), ref, kTolReduce);  // Winograd/FFT round
      }};
}
#endif

// ---------------------------------------------------------------------------------------------
// Device, timing, rows, output

struct Device {
  bool gpu = false;        // timings possible
  std::string header;      // the nvbench-style device line(s)
  double peak_gflops = 0;  // fp32
  double peak_gbs = 0;     // DRAM, 1e9 bytes/s
  size_t l2_bytes = 0;
};

Device probe_device(std::string* why_not) {
  Device d;
#if SENET_BENCH_REAL_CUDA
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    *why_not = std::string("nvcc build, no CUDA device (") +
               (e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount = 0") + ")";
    return d;
  }
  int dev_id = 0;
  CUDA_TRY(cudaGetDevice(&dev_id));
  cudaDeviceProp prop;
  CUDA_TRY(cudaGetDeviceProperties(&prop, dev_id));
  int clock_khz = 0, mem_khz = 0, bus_bits = 0, l2 = 0, rt = 0, drv = 0;
  CUDA_TRY(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev_id));
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  // FP32 lanes per SM: 64 on sm_70, sm_75 and sm_80; 128 on sm_86, sm_89, sm_90 and later.
  const int lanes = (prop.major == 8 && prop.minor == 0) || prop.major < 8 ? 64 : 128;
  d.gpu = true;
  d.peak_gflops = double(prop.multiProcessorCount) * clock_khz * 1e3 * lanes * 2 / 1e9;
  d.peak_gbs = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  d.l2_bytes = size_t(l2);
  char b[1024];
  std::snprintf(b, sizeof b,
                "# Device %d: %s  (sm_%d%d, %d SMs, %.0f MHz max clock, memory %.0f MHz × %d-bit, "
                "L2 %.0f MiB, "
                "%.1f GiB)\n# CUDA runtime %d.%d, driver %d.%d\n"
                "# peaks: fp32 %.1f GFLOP/s = %d SMs × %.3f GHz × %d FP32 lanes × 2 (FMA);  DRAM "
                "%.1f GB/s = 2 × "
                "%.3f GHz × %d bit / 8",
                dev_id, prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                clock_khz / 1e3, mem_khz / 1e3, bus_bits, l2 / 1048576.0,
                prop.totalGlobalMem / 1073741824.0, rt / 1000, (rt % 1000) / 10, drv / 1000,
                (drv % 1000) / 10, d.peak_gflops, prop.multiProcessorCount, clock_khz / 1e6, lanes,
                d.peak_gbs, mem_khz / 1e6, bus_bits);
  d.header = b;
#else
  *why_not = "emulated build (kernels run on the CPU through kernels/emu)";
#endif
  return d;
}

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0, noise = 0;  // noise: relative standard deviation
};

// 3 warm-up launches, then `reps` launches each between its own events, L2 flushed before each.
Timing time_case(const Case& c, int reps, const Device& d) {
  for (int i = 0; i < 3; ++i) CUDA_TRY(c.launch());
  CUDA_TRY(cudaDeviceSynchronize());
  DevP<uint8_t> flush = d.l2_bytes ? dev<uint8_t>(int64_t(2 * d.l2_bytes)) : nullptr;
  cudaEvent_t e0, e1;
  CUDA_TRY(cudaEventCreate(&e0));
  CUDA_TRY(cudaEventCreate(&e1));
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    if (flush) CUDA_TRY(cudaMemsetAsync(flush->get(), i & 1, flush->size(), nullptr));
    CUDA_TRY(cudaEventRecord(e0, nullptr));
    CUDA_TRY(c.launch());
    CUDA_TRY(cudaEventRecord(e1, nullptr));
    CUDA_TRY(cudaEventSynchronize(e1));
    float t = 0;
    CUDA_TRY(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  Timing t;
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
  double var = 0;
  for (double v : ms) var += (v - mean) * (v - mean);
  std::sort(ms.begin(), ms.end());
  t.median_ms = ms[ms.size() / 2], t.min_ms = ms.front(), t.max_ms = ms.back();
  t.noise = mean > 0 ? std::sqrt(var / double(ms.size())) / mean : 0;
  return t;
}

struct Row {
  std::string layer, family, name, version, status, detail;  // status: PASS | FAIL | n/a
  int N = 0;
  double err = 0, flops = 0, bytes = 0;
  bool timed = false;
  Timing t;
};

struct Options {
  int n = -1, reps = 20;
  std::string csv, filter;
  bool check_only = false, small = false;
};

bool matches(const Options& o, const std::string& a, const std::string& b) {
  return o.filter.empty() || a.find(o.filter) != std::string::npos ||
         b.find(o.filter) != std::string::npos;
}

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--n" && has)
      o.n = std::max(1, std::atoi(argv[++i]));
    else if (a == "--reps" && has)
      o.reps = std::max(10, std::atoi(argv[++i]));
    else if (a == "--csv" && has)
      o.csv = argv[++i];
    else if (a == "--filter" && has)
      o.filter = argv[++i];
    else if (a == "--check-only")
      o.check_only = true;
    else if (a == "--small")
      o.small = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--n N] [--reps N (>= 10)] [--csv PATH] [--check-only] [--small] "
                   "[--filter SUBSTR]\n",
                   argv[0]);
      return 2;
    }
  }

  std::string why_not;
  Device d;
  try {
    d = probe_device(&why_not);
  } catch (const std::exception& e) {
    why_not = e.what();
  }
  size_t nreg = 0;
  const kernel_entry* reg = kernel_registry(&nreg);
  if (o.n < 0) o.n = d.gpu && !o.small ? 32 : 2;
  const bool timing = d.gpu && !o.check_only;
  const std::vector<layer_shape> shapes =
      o.small ? bench::small_layer_shapes() : bench::model_layer_shapes();

  std::printf(
      "# bench_kernels — %zu registry entries (kernels/registry.h) × %zu layer shapes (%s) at N = "
      "%d\n",
      nreg, shapes.size(),
      o.small ? "--small: channels ÷8, spatial ÷4" : "ResNet-18 and WRN-22-8, 32×32", o.n);
  if (!d.gpu) {
    std::printf("# NO GPU: %s — %s\n", why_not.c_str(),
                SENET_BENCH_REAL_CUDA
                    ? "nothing can launch here; bench_kernels_emu runs the checks"
                    : "checks only (each kernel against the CPU backend), no timings");
  } else {
    std::printf("%s\n", d.header.c_str());
    if (timing)
      std::printf(
          "# timing: %d reps after 3 warm-ups, cudaEvent per rep, L2 flushed before each (cold "
          "L2); "
          "median, min, max, noise = rel. std. dev.\n",
          o.reps);
    else
      std::printf("# --check-only: no timings\n");
  }
#if SENET_BENCH_REAL_CUDA
  if (!d.gpu) {
    // No device: nothing can launch. List what would run; bench_kernels_emu checks every kernel.
    std::printf(
        "\n| # | family | kernel | version | domain | check |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nreg; ++i)
      std::printf("| %zu | %s | %s | %s | %s | SKIP (no device) |\n", i + 1, reg[i].family,
                  reg[i].name, reg[i].version, kernel_domain_name(reg[i].domain));
    std::printf(
        "\n# summary: %zu kernels/versions listed, none run (no CUDA device); run "
        "bench_kernels_emu "
        "--check-only for the checks\n",
        nreg);
    return 0;
  }
#endif

  std::map<std::string, Hook> hooks = make_hooks();
  add_other_hooks(hooks);

  std::vector<Row> rows;
  // Check, then (with a GPU) time one case; fills row.status/err/detail/t.
  auto run = [&](Row& row, const std::function<Case()>& make) {
    std::vector<std::shared_ptr<void>> arena;  // outlives c (declared first)
    g_arena = &arena;
    try {
      const Case c = make();
      g_arena = nullptr;
      CUDA_TRY(c.launch());
      CUDA_TRY(cudaDeviceSynchronize());
      Check chk;
      c.check(chk);
      row.status = chk.ok ? "PASS" : "FAIL", row.err = chk.worst, row.detail = chk.detail;
      if (chk.ok && timing) {
        row.t = time_case(c, o.reps, d);
        row.timed = true;
      }
    } catch (const std::exception& e) {
      g_arena = nullptr;
      row.status = "FAIL", row.detail = e.what();
      cudaGetLastError();  // clear a sticky launch error so the next row starts clean
    }
  };
  // Any registry entry without a hook is itself a failure (the bench must cover every kernel).
  for (size_t i = 0; i < nreg; ++i)
    if (!hooks.count(std::string(reg[i].name) + "/" + reg[i].version)) {
      Row r;
      r.layer = "-", r.family = reg[i].family, r.name = reg[i].name, r.version = reg[i].version;
      r.status = "FAIL", r.detail = "no run hook in tools/bench/bench_kernels.cu";
      rows.push_back(r);
    }

  auto find_entry = [&](const char* name, const char* version) -> const kernel_entry* {
    for (size_t i = 0; i < nreg; ++i)
      if (!std::strcmp(reg[i].name, name) && !std::strcmp(reg[i].version, version)) return &reg[i];
    return nullptr;
  };

  auto derived = [&](const Row& r, double* gflops, double* gbs, double* ai, double* roof) {
    const double s = r.t.median_ms * 1e-3;
    *gflops = r.flops / s / 1e9, *gbs = r.bytes / s / 1e9,
    *ai = r.bytes > 0 ? r.flops / r.bytes : 0;
    const double t_roof = std::max(r.flops / (d.peak_gflops * 1e9), r.bytes / (d.peak_gbs * 1e9));
    *roof = 100.0 * t_roof / s;
  };
  // The CSV is rewritten after every layer, so a run stopped early (a time box) keeps its rows.
  auto write_csv = [&]() -> bool {
    if (o.csv.empty()) return true;
    FILE* f = std::fopen(o.csv.c_str(), "w");
    if (!f) return false;
    std::fprintf(f,
                 "layer,N,family,kernel,version,check,max_err,detail,flops,bytes,median_us,min_us,"
                 "max_us,noise,"
                 "gflops,gbs,flop_per_byte,pct_roofline,device,peak_gflops,peak_gbs\n");
    for (const Row& r : rows) {
      std::fprintf(f, "%s,%d,%s,%s,%s,%s,%.3e,%s,%.6e,%.6e", csv_quote(r.layer).c_str(), r.N,
                   r.family.c_str(), r.name.c_str(), csv_quote(r.version).c_str(), r.status.c_str(),
                   r.err, csv_quote(r.detail).c_str(), r.flops, r.bytes);
      if (r.timed) {
        double gf, gb, ai, rf;
        derived(r, &gf, &gb, &ai, &rf);
        std::fprintf(f, ",%.3f,%.3f,%.3f,%.4f,%.2f,%.2f,%.3f,%.2f", r.t.median_ms * 1e3,
                     r.t.min_ms * 1e3, r.t.max_ms * 1e3, r.t.noise, gf, gb, ai, rf);
      } else {
        std::fprintf(f, ",,,,,,,,");
      }
      std::fprintf(f, ",%s,%.1f,%.1f\n", csv_quote(d.gpu ? "gpu" : why_not).c_str(), d.peak_gflops,
                   d.peak_gbs);
    }
    std::fclose(f);
    return true;
  };

  for (const layer_shape& s : shapes) {
    const Conv2dGeom p = s.params(o.n);
    const std::string label = s.label();
    for (size_t i = 0; i < nreg; ++i) {
      const kernel_entry& e = reg[i];
      if ((e.domain == kernel_domain::head) != s.fc()) continue;
      const std::string key = std::string(e.family) + " " + e.name + " " + e.version;
      if (!matches(o, key, label)) continue;
      auto hk = hooks.find(std::string(e.name) + "/" + e.version);
      if (hk == hooks.end()) continue;  // reported above
      Row r;
      r.layer = label, r.N = o.n, r.family = e.family, r.name = e.name, r.version = e.version;
      r.flops = e.flops(p), r.bytes = e.bytes(p);
      if (e.gpu_only && !SENET_BENCH_REAL_CUDA) {
        r.status = "n/a", r.detail = "nvcc build only (cuBLAS)";
      } else {
        run(r, [&] { return hk->second(p); });
      }
      rows.push_back(r);
    }
    if (s.fc()) continue;
    // Baselines next to the fused kernel.
    if (matches(o, "baseline unfused_chain conv2d_fprop_v5+bn_stats+bn_finalize+scale_shift_mrelu",
                label)) {
      Row r;
      r.layer = label, r.N = o.n, r.family = "baseline", r.name = "unfused_chain";
      r.version = "fprop_v5+bn_stats+bn_finalize+scale_shift";
      for (auto [nm, v] : {std::pair{"conv2d_fprop", "v5_simt_128x128"},
                           std::pair{"bn_stats_partials", "v1_two_pass_tile"},
                           std::pair{"bn_finalize_train", "v1_thread_per_channel"},
                           std::pair{"scale_shift_mrelu", "v1_ballot_bits"}})
        if (const kernel_entry* e = find_entry(nm, v))
          r.flops += e->flops(p), r.bytes += e->bytes(p);
      run(r, [&] { return unfused_chain_case(p); });
      rows.push_back(r);
    }
    // cuDNN: the conv + BN + ReLU chain, and each conv pass alone, in FP32 (FMA math) and TF32.
    [[maybe_unused]] auto no_cudnn = [](Row& r) {
#if SENET_BENCH_REAL_CUDA
      r.status = "n/a",
      r.detail = "cuDNN baseline unavailable: cudnn.h / libcudnn not found at configure time";
#else
      r.status = "n/a", r.detail = "cuDNN baseline unavailable: emulated build";
#endif
    };
    for (bool tf32 : {false, true}) {
      const std::string math = tf32 ? "tf32" : "fma";
      if (matches(o, "baseline cudnn conv+bn+relu " + math, label)) {
        Row r;
        r.layer = label, r.N = o.n, r.family = "baseline", r.name = "cudnn";
        r.version = "conv+bn_train+relu " + math;
        // conv (x, w in, y out) + BN (y read twice, z written) + activation (z in, a out)
        r.flops = double(p.flops()) + 7.0 * double(p.y_size());
        r.bytes = 4.0 * double(p.x_size() + p.w_size() + p.y_size()) + 4.0 * 5 * double(p.y_size());
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
        run(r, [&] { return cudnn_chain_case(p, tf32); });
#else
        no_cudnn(r);
#endif
        rows.push_back(r);
      }
      for (const char* pass : {"fprop", "dgrad", "wgrad"}) {
        if (!matches(o, std::string("baseline cudnn_") + pass + " " + math, label)) continue;
        Row r;
        r.layer = label, r.N = o.n, r.family = "baseline", r.name = std::string("cudnn_") + pass;
        r.version = math;
        r.flops = double(p.flops());
        r.bytes = 4.0 * double(p.x_size() + p.w_size() + p.y_size());
#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
        const ConvPass cp = pass[0] == 'f'   ? ConvPass::fprop
                            : pass[0] == 'd' ? ConvPass::dgrad
                                             : ConvPass::wgrad;
        run(r, [&] { return cudnn_conv_case(p, cp, tf32); });
#else
        no_cudnn(r);
#endif
        rows.push_back(r);
      }
    }
    write_csv();
  }

  // --- output: markdown table (stdout), CSV (--csv)
  int pass = 0, fail = 0, na = 0;
  for (const Row& r : rows) (r.status == "PASS" ? pass : r.status == "FAIL" ? fail : na)++;
  if (timing) {
    std::printf(
        "\n| layer | N | kernel | version | check | max err | median µs | min µs | max µs | noise "
        "| GFLOP/s | "
        "GB/s | FLOP/B | %% roofline "
        "|\n|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& r : rows) {
      if (!r.timed) {
        std::printf("| %s | %d | %s | %s | %s | %.1e | | | | | | | | %s |\n", r.layer.c_str(), r.N,
                    r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err, r.detail.c_str());
        continue;
      }
      double gf, gb, ai, rf;
      derived(r, &gf, &gb, &ai, &rf);
      std::printf(
          "| %s | %d | %s | %s | %s | %.1e | %.1f | %.1f | %.1f | %.1f%% | %.1f | %.1f | %.2f | "
          "%.1f%% |\n",
          r.layer.c_str(), r.N, r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err,
          r.t.median_ms * 1e3, r.t.min_ms * 1e3, r.t.max_ms * 1e3, 100 * r.t.noise, gf, gb, ai, rf);
    }
  } else {
    std::printf(
        "\n| layer | N | family | kernel | version | check | max err | detail |\n"
        "|---|---:|---|---|---|---|---:|---|\n");
    for (const Row& r : rows)
      std::printf("| %s | %d | %s | %s | %s | %s | %.1e | %s |\n", r.layer.c_str(), r.N,
                  r.family.c_str(), r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err,
                  r.detail.c_str());
  }
  if (!write_csv()) {
    std::fprintf(stderr, "cannot write %s\n", o.csv.c_str());
    return 2;
  }
  std::printf(
      "\n# summary: %zu kernels/versions in the registry; %zu rows: %d PASS, %d FAIL, %d n/a%s\n",
      nreg, rows.size(), pass, fail, na, timing ? "" : " (checks only)");
  return fail ? 1 : 0;
}
