// tools/bench/cases/cases_conv.cu — the cases of the conv / BatchNorm family (cases.h): conv2d
// fprop / dgrad / wgrad at every version, BN statistics, finalize (train and eval),
// scale-shift-mReLU, the fused conv → BN → masked ReLU forward (training, fold, inference) and the
// backward of BN → masked ReLU and of the whole conv → BN → masked ReLU.
// Inputs: conv operands are small_ints (exact: conv outputs compare bitwise, y = conv(x, w) feeds
// the BN checks unrounded); BN parameters and upstream gradients are uniform.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/cpu/batchnorm.h"
#include "kernels/bn_finalize.h"
#include "kernels/bn_stats.h"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_act.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/scale_shift_mrelu.h"
#include "tools/bench/cases/cases.h"
#include "tools/bench/cases/inputs.h"
#include "tools/bench/cases/reference.h"

namespace senet::cases {

using namespace senet::inputs;

namespace {
// The fused conv's math: FP32, TF32 on mma.sync (params.tf32), TF32 on wgmma (params.wgmma too).
enum class Math { fp32, tf32, wgmma };
constexpr Math kMaths[] = {Math::fp32, Math::tf32, Math::wgmma};
template <class V>
V pick(Math m, V fp32, V tf32, V wgmma) {
  return m == Math::fp32 ? fp32 : m == Math::tf32 ? tf32 : wgmma;
}
void set_math(conv_bn_mrelu_fwd_params& fp, Math m) {
  fp.tf32 = m != Math::fp32;
  fp.wgmma = m == Math::wgmma;
}
}  // namespace

// Run hooks, one per registry entry ("name/version"). Each builds its inputs on the host, uploads
// them, and computes the CPU reference lazily inside check().

void add_conv_cases(HookMap& h) {
  using P = const Conv2dGeom&;

  // --- conv2d fprop / dgrad / wgrad, every version
  for (conv2d_fprop_version v : kConv2dFpropVersions)
    h[std::string("conv2d_fprop/") + conv2d_fprop_version_name(v)] = [v](P p, Arena& arena) {
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2);
      auto dx = arena.dev(x), dw = arena.dev(w);
      auto dy = arena.dev<float>(p.y_size());
      auto ws = arena.dev<float>(std::max<int64_t>(conv2d_fprop_workspace_floats(v, p), 1));
      return Case{[=] {
                    return conv2d_fprop(v, p, dx->get(), dw->get(), nullptr, dy->get(), nullptr,
                                        ws->get());
                  },
                  [=](Check& c) { c.close("y", dy->download(), cpu_conv(p, x, w), 0); }};
    };
  for (conv2d_dgrad_version v : kConv2dDgradVersions)
    h[std::string("conv2d_dgrad/") + conv2d_dgrad_version_name(v)] = [v](P p, Arena& arena) {
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2),
          g = small_ints(p.y_size(), 3);
      auto dw = arena.dev(w), dg = arena.dev(g);
      auto dx = arena.dev<float>(p.x_size());
      auto ws = arena.dev<float>(std::max<int64_t>(conv2d_dgrad_workspace_floats(v, p), 1));
      return Case{
          [=] { return conv2d_dgrad(v, p, dg->get(), dw->get(), dx->get(), nullptr, ws->get()); },
          [=](Check& c) {
            Vec ref;
            cpu_conv_bprop(p, x, w, g, &ref, nullptr);
            c.close("dx", dx->download(), ref, 0);
          }};
    };
  for (conv2d_wgrad_version v : kConv2dWgradVersions)
    h[std::string("conv2d_wgrad/") + conv2d_wgrad_version_name(v)] = [v](P p, Arena& arena) {
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2),
          g = small_ints(p.y_size(), 3);
      auto dx = arena.dev(x), dg = arena.dev(g);
      auto dw = arena.dev<float>(p.w_size());
      auto ws = arena.dev<float>(conv2d_wgrad_v2_workspace_floats(p));
      return Case{
          [=] { return conv2d_wgrad(v, p, dx->get(), dg->get(), dw->get(), ws->get(), nullptr); },
          [=](Check& c) {
            Vec ref;
            cpu_conv_bprop(p, x, w, g, nullptr, &ref);
            c.close("dw", dw->download(), ref, 0);
          }};
    };

  // --- BatchNorm statistics, finalize, scale-shift-mReLU (on the conv's output y: N×K×PQ)
  h["bn_stats_partials/v1_two_pass_tile"] = [](P p, Arena& arena) {
    const bn_stats_params sp{p.N, p.K, p.P * p.Q};
    const int64_t T = bn_stats_num_partials(sp);
    Vec y = uniform(p.y_size(), 4, 90.f, 110.f);  // |μ| ≫ σ: a one-pass variance would fail
    auto dy = arena.dev(y);
    auto part = arena.dev<float>(3 * T * p.K);
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
    h[std::string("bn_finalize_train/") + bn_finalize_version_name(v)] = [v](P p, Arena& arena) {
      const bn_stats_params sp{p.N, p.K, p.P * p.Q};
      const int64_t T = bn_stats_num_partials(sp);
      Vec y = uniform(p.y_size(), 5, -2.f, 6.f), g = uniform(p.K, 6), b = uniform(p.K, 7);
      Vec rm = uniform(p.K, 8), rv = uniform(p.K, 9, 0.5f, 2.f);
      auto dy = arena.dev(y), dg = arena.dev(g), db = arena.dev(b), drm = arena.dev(rm),
           drv = arena.dev(rv);
      auto part = arena.dev<float>(3 * T * p.K);
      auto out = arena.dev<float>(4 * p.K);
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
  h["bn_finalize_eval/v1_thread_per_channel"] = [](P p, Arena& arena) {
    Vec g = uniform(p.K, 6), b = uniform(p.K, 7), rm = uniform(p.K, 8),
        rv = uniform(p.K, 9, 0.5f, 2.f);
    auto dg = arena.dev(g), db = arena.dev(b), drm = arena.dev(rm), drv = arena.dev(rv);
    auto out = arena.dev<float>(4 * p.K);
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
  h["scale_shift_mrelu/v1_ballot_bits"] = [](P p, Arena& arena) {
    const int64_t PQ = int64_t(p.P) * p.Q, n = p.y_size();
    Vec y = uniform(n, 10), g = uniform(p.K, 11), b = uniform(p.K, 12), r = uniform(n, 13);
    const std::vector<uint8_t> m = bytes01(p.K * PQ, 14);
    auto dy = arena.dev(y), dg = arena.dev(g), db = arena.dev(b), dr = arena.dev(r);
    auto dm = arena.dev(m);
    auto da = arena.dev<float>(n);
    auto dbits = arena.dev<uint32_t>(pass_bits_words(n));
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
  // FP32 (v5's loop), TF32 (v4's loop) and TF32 on wgmma (v7's, where it runs: params.wgmma);
  // the integer inputs are exact in all three.
  for (Math math : kMaths)
    h[pick(math, "conv2d_fprop_bn_partials/v5_simt_bn_epilogue",
           "conv2d_fprop_bn_partials/v4_tf32_bn_epilogue",
           "conv2d_fprop_bn_partials/v7_tf32_wgmma_bn_epilogue")] = [math](P p, Arena& arena) {
      const int64_t T = conv2d_fprop_bn_partials_count(p);
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2);
      auto dx = arena.dev(x), dw = arena.dev(w);
      auto dy = arena.dev<float>(p.y_size());
      auto part = arena.dev<float>(3 * T * p.K);
      return Case{[=] {
                    return pick(math, conv2d_fprop_bn_partials, conv2d_fprop_bn_partials_tf32,
                                conv2d_fprop_bn_partials_wgmma)(p, dx->get(), dw->get(), dy->get(),
                                                                partials_of(part, T, p.K), nullptr);
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
  for (Math math : kMaths)
    h[pick(math, "conv_bn_mrelu_fwd_train/3_launches", "conv_bn_mrelu_fwd_train/3_launches_tf32",
           "conv_bn_mrelu_fwd_train/3_launches_tf32_wgmma")] = [math](P p, Arena& arena) {
      const int64_t n = p.y_size();
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
          b = uniform(p.K, 4);
      Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
      const std::vector<uint8_t> m = bytes01(int64_t(p.K) * p.P * p.Q, 7);
      auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
           drm = arena.dev(rm), drv = arena.dev(rv);
      auto dm = arena.dev(m);
      auto dy = arena.dev<float>(n), da = arena.dev<float>(n), aff = arena.dev<float>(4 * p.K);
      auto dbits = arena.dev<uint32_t>(pass_bits_words(n));
      auto ws = arena.dev<float>(conv_bn_mrelu_fwd_workspace_floats(p));
      conv_bn_mrelu_fwd_params fp;
      fp.conv = p;
      set_math(fp, math);
      conv_bn_mrelu_fwd_tensors t;
      t.x = dx->get(), t.w = dw->get(), t.gamma = dg->get(), t.beta = db->get(), t.mask = dm->get();
      t.running_mean = drm->get(), t.running_var = drv->get(), t.y = dy->get(), t.mean = aff->get();
      t.invstd = aff->get() + p.K, t.scale = aff->get() + 2 * p.K, t.shift = aff->get() + 3 * p.K;
      t.a = da->get(), t.bits = dbits->get(), t.workspace = ws->get();
      return Case{[=] { return conv_bn_mrelu_fwd_train(fp, t, nullptr); },
                  [=](Check& c) {
                    const Vec y = cpu_conv(p, x, w);
                    const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                    Vec a;
                    std::vector<uint64_t> bits;
                    cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::MaskedReLU, m.data(), nullptr, &a,
                               &bits);
                    c.close("y", dy->download(), y, 0);
                    const Vec o = aff->download();
                    c.close("mean", Vec(o.begin(), o.begin() + p.K), r.mean, kTol);
                    c.close("invstd", Vec(o.begin() + p.K, o.begin() + 2 * p.K), r.invstd, kTol);
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
  // Prologue fusion: the input is the previous layer's y with its scale, shift and per-position
  // mask; the CPU reference applies them on the host (the prologue's formula, std::fma) and
  // convolves. y and its scale are small integers and halves, so a_prev and y stay exact.
  for (Math math : kMaths)
    h[pick(math, "conv_bn_mrelu_fwd_train/prologue_lazy",
           "conv_bn_mrelu_fwd_train/prologue_lazy_tf32",
           "conv_bn_mrelu_fwd_train/prologue_lazy_tf32_wgmma")] = [math](P p, Arena& arena) {
      const int64_t HW = int64_t(p.H) * p.W;
      Vec yp = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
          b = uniform(p.K, 4), sc = small_ints(p.C, 8, 1, 2), sh = small_ints(p.C, 9, -2, 2);
      const std::vector<uint8_t> m = bytes01(int64_t(p.C) * HW, 7);
      auto dyp = arena.dev(yp), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
           dsc = arena.dev(sc), dsh = arena.dev(sh);
      auto dm = arena.dev(m);
      auto dy = arena.dev<float>(p.y_size()), aff = arena.dev<float>(4 * p.K);
      auto ws = arena.dev<float>(conv_bn_mrelu_fwd_workspace_floats(p));
      conv_bn_mrelu_fwd_params fp;
      fp.conv = p;
      set_math(fp, math);
      conv_bn_mrelu_fwd_tensors t;
      t.x = dyp->get(), t.w = dw->get(), t.gamma = dg->get(), t.beta = db->get();
      t.y = dy->get(), t.mean = aff->get(), t.invstd = aff->get() + p.K;
      t.scale = aff->get() + 2 * p.K, t.shift = aff->get() + 3 * p.K, t.workspace = ws->get();
      t.x_act.scale = dsc->get(), t.x_act.shift = dsh->get(), t.x_act.mask = dm->get();
      t.x_act.act = Act::MaskedReLU;
      t.lazy = true;  // a = bits = null
      return Case{[=] { return conv_bn_mrelu_fwd_train(fp, t, nullptr); },
                  [=](Check& c) {
                    Vec a(yp.size());
                    for (size_t i = 0; i < a.size(); ++i) {
                      const size_t ch = size_t(int64_t(i) / HW % p.C);
                      const float z = std::fma(sc[ch], yp[i], sh[ch]);
                      const bool relu = m[size_t(int64_t(i) % (p.C * HW))] != 0;
                      a[i] = relu && !(z > 0.f) ? 0.f : z;
                    }
                    const Vec y = cpu_conv(p, a, w);
                    const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                    c.close("y", dy->download(), y, 0);
                    const Vec o = aff->download();
                    c.close("mean", Vec(o.begin(), o.begin() + p.K), r.mean, kTol);
                    c.close("invstd", Vec(o.begin() + p.K, o.begin() + 2 * p.K), r.invstd, kTol);
                  }};
    };
  // The pre-activation block's prologue conv: y = conv(act(scale·x + shift), w) + r; x, w, r
  // small integers, scale and shift halves and small integers, so every value is exact.
  for (Math math : kMaths)
    h[pick(math, "conv2d_fprop_act/v5_simt_prologue_residual",
           "conv2d_fprop_act/v4_tf32_prologue_residual",
           "conv2d_fprop_act/v7_tf32_wgmma_prologue_residual")] = [math](P p, Arena& arena) {
      const int64_t HW = int64_t(p.H) * p.W;
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2),
          r = small_ints(p.y_size(), 3), sc = small_ints(p.C, 8, 1, 2),
          sh = small_ints(p.C, 9, -2, 2);
      const std::vector<uint8_t> m = bytes01(int64_t(p.C) * HW, 7);
      auto dx = arena.dev(x), dw = arena.dev(w), dr = arena.dev(r), dsc = arena.dev(sc),
           dsh = arena.dev(sh);
      auto dm = arena.dev(m);
      auto dy = arena.dev<float>(p.y_size());
      conv2d_fprop_act_params fp;
      fp.conv = p, fp.tf32 = math != Math::fp32, fp.wgmma = math == Math::wgmma;
      auto ws = arena.dev<float>(std::max<int64_t>(conv2d_fprop_act_workspace_floats(fp), 1));
      conv_input_act xa;
      xa.scale = dsc->get(), xa.shift = dsh->get(), xa.mask = dm->get(), xa.act = Act::MaskedReLU;
      return Case{[=] {
                    return conv2d_fprop_act(fp, dx->get(), xa, dw->get(), dr->get(), dy->get(),
                                            ws->get(), nullptr);
                  },
                  [=](Check& c) {
                    Vec a(x.size());
                    for (size_t i = 0; i < a.size(); ++i) {
                      const size_t ch = size_t(int64_t(i) / HW % p.C);
                      const float z = std::fma(sc[ch], x[i], sh[ch]);
                      const bool relu = m[size_t(int64_t(i) % (p.C * HW))] != 0;
                      a[i] = relu && !(z > 0.f) ? 0.f : z;
                    }
                    Vec y = cpu_conv(p, a, w);
                    for (size_t i = 0; i < y.size(); ++i) y[i] += r[i];
                    c.close("y", dy->download(), y, 0);
                  }};
    };
  h["conv_bn_fold/v1_grid_stride"] = [](P p, Arena& arena) {
    Vec w = uniform(p.w_size(), 2), g = uniform(p.K, 3), b = uniform(p.K, 4), rm = uniform(p.K, 5);
    Vec rv = uniform(p.K, 6, 0.5f, 2.f);
    auto dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b), drm = arena.dev(rm),
         drv = arena.dev(rv);
    auto wf = arena.dev<float>(p.w_size()), bf = arena.dev<float>(p.K);
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
  for (Math math : kMaths)
    h[pick(math, "conv_bn_mrelu_infer/v5_simt_act_epilogue",
           "conv_bn_mrelu_infer/v4_tf32_act_epilogue",
           "conv_bn_mrelu_infer/v7_tf32_wgmma_act_epilogue")] = [math](P p, Arena& arena) {
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
          b = uniform(p.K, 4);
      Vec rm = uniform(p.K, 5, -10.f, 10.f), rv(static_cast<size_t>(p.K), 40.f * float(p.gemm_k()));
      const std::vector<uint8_t> m = bytes01(int64_t(p.K) * p.P * p.Q, 7);
      auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
           drm = arena.dev(rm), drv = arena.dev(rv);
      auto dm = arena.dev(m);
      auto wf = arena.dev<float>(p.w_size()), bf = arena.dev<float>(p.K),
           da = arena.dev<float>(p.y_size());
      CUDA_TRY(conv_bn_fold(p, 1e-5f, dw->get(), dg->get(), db->get(), drm->get(), drv->get(),
                            wf->get(), bf->get(), nullptr));
      conv_bn_mrelu_fwd_params fp;
      fp.conv = p;
      set_math(fp, math);
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
                    c.close("a", da->download(), a, math != Math::fp32 ? kTolTf32 : kTol);
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
    cpu_bn_act_bwd(p, in.y, in.r, in.g, in.b, Act::MaskedReLU, in.m.data(), in.bits, in.da, dg, db,
                   dy, dz);
  };
  for (mrelu_bn_bwd_version v : kMreluBnBwdVersions)
    h[std::string("mrelu_bn_bwd/") + mrelu_bn_bwd_version_name(v)] = [=](P p, Arena& arena) {
      const mrelu_bn_bwd_params bp{p.N, p.K, p.P * p.Q, true, 0, v};
      auto in = bwd_inputs(p, uniform(p.y_size(), 30, -3.f, 5.f));
      auto dda = arena.dev(in->da), dyv = arena.dev(in->y), dmean = arena.dev(in->r.mean),
           dis = arena.dev(in->r.invstd), dg = arena.dev(in->g);
      auto dbits = arena.dev(bits32(in->bits, p.y_size()));
      auto ddy = arena.dev<float>(p.y_size()), ddr = arena.dev<float>(p.y_size()),
           ddg = arena.dev<float>(p.K), ddb = arena.dev<float>(p.K);
      auto ws = arena.dev<float>(mrelu_bn_bwd_workspace_floats(bp));
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
  // A whole layer's backward checked: dx, dw against the CPU's conv backward of the CPU's dy,
  // dγ, dβ against its BN → masked-ReLU backward.
  // (tol: dx's and dw's; kTolTf32 where the conv runs on TF32 — dy is not integer.)
  auto layer_bwd_check = [=](P p, std::shared_ptr<BwdIn> in, Vec x, Vec w, auto ddx, auto ddw,
                             auto ddg, auto ddb, double tol = kTol) {
    return [=](Check& c) {
      Vec g, b, dy, dx, dw;
      cpu_bn_bwd(p, *in, &g, &b, &dy, nullptr);
      cpu_conv_bprop(p, x, w, dy, &dx, &dw);
      c.close("dx", ddx->download(), dx, tol);
      c.close("dw", ddw->download(), dw, tol);
      c.close("dgamma", ddg->download(), g, kTolReduce);
      c.close("dbeta", ddb->download(), b, kTolReduce);
    };
  };
  h["conv_bn_mrelu_bwd/bn_bwd+dgrad_v2+wgrad_v2"] = [=](P p, Arena& arena) {
    Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2);
    auto in = bwd_inputs(p, cpu_conv(p, x, w));
    auto dxv = arena.dev(x), dwv = arena.dev(w), dda = arena.dev(in->da), dyv = arena.dev(in->y),
         dmean = arena.dev(in->r.mean);
    auto dis = arena.dev(in->r.invstd), dg = arena.dev(in->g);
    auto dbits = arena.dev(bits32(in->bits, p.y_size()));
    auto ddy = arena.dev<float>(p.y_size()), ddx = arena.dev<float>(p.x_size()),
         ddw = arena.dev<float>(p.w_size());
    auto ddg = arena.dev<float>(p.K), ddb = arena.dev<float>(p.K);
    auto ws = arena.dev<float>(conv_bn_mrelu_bwd_workspace_floats(p));
    conv_bn_mrelu_bwd_tensors t;
    t.x = dxv->get(), t.w = dwv->get(), t.da = dda->get(), t.bits = dbits->get(), t.y = dyv->get();
    t.mean = dmean->get(), t.invstd = dis->get(), t.gamma = dg->get(), t.dy = ddy->get(),
    t.dx = ddx->get();
    t.dw = ddw->get(), t.dgamma = ddg->get(), t.dbeta = ddb->get(), t.workspace = ws->get();
    return Case{[=] { return conv_bn_mrelu_bwd(p, t, nullptr); },
                layer_bwd_check(p, in, x, w, ddx, ddw, ddg, ddb)};
  };
  // The layer backward on the fast kernels, with the pass bits recomputed from y (the layer's
  // scale = γ·invstd, shift = β − μ·scale; the CPU reference's bits are remade with that formula,
  // std::fma), two ways: the BN backward writing dy, then dgrad v4 (v5 when strided) and wgrad v4
  // reading it; or folded (kernels/conv_dy_bn.h: conv_bn_mrelu_bwd with no dy tensor), dgrad and
  // wgrad computing dy from da and y as they load it — the GPU day's answer to which is faster.
  // The layer's math: FP32 on dgrad v4/v5 (0, the fold's comparison), TF32 on mma.sync (1), TF32
  // on wgmma (2), FP32 on dgrad v7 (3) — 1 to 3 unfolded, on the dgrad and wgrad the engine runs
  // for that math (engine/cuda/ops_table.cpp).
  struct LayerBwd {
    const char* key;
    bool fold;
    int math;
  };
  for (const LayerBwd lb :
       {LayerBwd{"conv_bn_mrelu_bwd/bn_bwd+dgrad_v4+wgrad_v4", false, 0},
        LayerBwd{"conv_bn_mrelu_bwd/folded_dgrad_v4+wgrad_v4", true, 0},
        LayerBwd{"conv_bn_mrelu_bwd/bn_bwd+dgrad_v7+wgrad_v4", false, 3},
        LayerBwd{"conv_bn_mrelu_bwd/bn_bwd+dgrad_v8+wgrad_v3_tf32", false, 1},
        LayerBwd{"conv_bn_mrelu_bwd/bn_bwd+dgrad_v9+wgrad_v5_tf32_wgmma", false, 2}})
    h[lb.key] = [=, fold = lb.fold, math = lb.math](P p, Arena& arena) {
      Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2);
      auto in = bwd_inputs(p, cpu_conv(p, x, w));
      const int64_t PQ = int64_t(p.P) * p.Q;
      Vec sc(static_cast<size_t>(p.K)), sh(static_cast<size_t>(p.K));
      for (size_t k = 0; k < size_t(p.K); ++k) {
        sc[k] = in->g[k] * in->r.invstd[k];
        sh[k] = in->b[k] - in->r.mean[k] * sc[k];
      }
      std::fill(in->bits.begin(), in->bits.end(), uint64_t(0));
      for (int64_t i = 0; i < p.y_size(); ++i) {
        const size_t k = size_t(i / PQ % p.K);
        const bool relu = in->m[size_t(i % (p.K * PQ))] != 0;
        if (!relu || std::fma(sc[k], in->y[size_t(i)], sh[k]) > 0.f)
          in->bits[size_t(i >> 6)] |= uint64_t(1) << (i & 63);
      }
      auto dxv = arena.dev(x), dwv = arena.dev(w), dda = arena.dev(in->da), dyv = arena.dev(in->y),
           dmean = arena.dev(in->r.mean);
      auto dis = arena.dev(in->r.invstd), dg = arena.dev(in->g), dsc = arena.dev(sc),
           dsh = arena.dev(sh);
      auto dm = arena.dev(in->m);
      auto ddx = arena.dev<float>(p.x_size()), ddw = arena.dev<float>(p.w_size());
      auto ddg = arena.dev<float>(p.K), ddb = arena.dev<float>(p.K);
      auto ddy = arena.dev<float>(fold ? 1 : p.y_size());
      auto ws = arena.dev<float>(conv_bn_mrelu_bwd_workspace_floats(p));
      using DV = conv2d_dgrad_version;
      const DV dv = math == 3      ? DV::v7_simt_split_k
                    : math == 2    ? DV::v9_tf32_wgmma_split_k
                    : math == 1    ? DV::v8_tf32_split_k
                    : p.stride > 1 ? DV::v5_simt_phases
                                   : DV::v4_simt_128x128;
      auto dgrad_ws = arena.dev<float>(std::max<int64_t>(1, conv2d_dgrad_workspace_floats(dv, p)));
      conv_bn_mrelu_bwd_tensors t;
      t.x = dxv->get(), t.w = dwv->get(), t.da = dda->get(), t.y = dyv->get();
      t.mean = dmean->get(), t.invstd = dis->get(), t.gamma = dg->get(), t.dx = ddx->get();
      t.dw = ddw->get(), t.dgamma = ddg->get(), t.dbeta = ddb->get(), t.workspace = ws->get();
      t.y_act.scale = dsc->get(), t.y_act.shift = dsh->get(), t.y_act.mask = dm->get();
      t.y_act.act = Act::MaskedReLU;  // t.bits = null: recomputed
      auto run = [=]() -> cudaError_t {
        if (fold) return conv_bn_mrelu_bwd(p, t, nullptr);  // t.dy = null: folded
        mrelu_bn_bwd_params bp{p.N, p.K, p.P * p.Q, true};
        mrelu_bn_bwd_tensors bt;
        bt.da = t.da, bt.y = t.y, bt.mean = t.mean, bt.invstd = t.invstd, bt.gamma = t.gamma;
        bt.dy = ddy->get(), bt.dgamma = t.dgamma, bt.dbeta = t.dbeta, bt.workspace = t.workspace;
        bt.y_act = t.y_act;
        cudaError_t e = mrelu_bn_bwd(bp, bt, nullptr);
        if (e == cudaSuccess) e = conv2d_dgrad(dv, p, bt.dy, t.w, t.dx, nullptr, dgrad_ws->get());
        if (e != cudaSuccess) return e;
        float* wgrad_ws = t.workspace + mrelu_bn_bwd_workspace_floats(bp);
        return math == 2   ? conv2d_wgrad_v5_tf32_wgmma(p, t.x, bt.dy, t.dw, wgrad_ws, nullptr)
               : math == 1 ? conv2d_wgrad_v3_tf32_split_k(p, t.x, bt.dy, t.dw, wgrad_ws, nullptr)
                           : conv2d_wgrad_v4_simt_split_k(p, t.x, bt.dy, t.dw, wgrad_ws, nullptr);
      };
      const bool tf32 = math == 1 || math == 2;
      return Case{run, layer_bwd_check(p, in, x, w, ddx, ddw, ddg, ddb, tf32 ? kTolTf32 : kTol)};
    };
}

}  // namespace senet::cases
