// tests/kernels/test_kernels_conv_prologue.cu — prologue fusion (issue 16, item 3;
// kernels/conv_input_act.h): a conv that reads the previous layer's y and applies its
// act(scale·y + shift) while loading must equal the same conv of a = scale_shift_mrelu(y),
// bitwise — the transform is scale_shift_mrelu's own expression, and the main loops are unchanged.
// Checked for the fused training forward (FP32, TF32 and wgmma tiles; and its lazy output: no a, no
// bits), wgrad v4, v3 and v5, the BN backward with its pass bits recomputed from y, the whole fused
// backward, the pre-activation block's plain conv with the prologue and a residual
// (conv2d_fprop_act), and the race check (EXPECT_RACE_FREE) of the forward's, that conv's and
// wgrad's prologue paths.
// Layers: 3×3 pad 1 at stride 1 and 2 (the padding must stay 0: it pads a, not y — a
// shift > 0 under ReLU would show there) and 1×1 stride 2; activations None, ReLU and masked ReLU
// with per-channel and per-position masks.
// Inputs: y, scale and shift are small integers and halves, so z = scale·y + shift is exact and
// hits 0 (where ReLU and its pass bit decide on `z > 0`); a second round uses random floats.
// The reference a is checked against the host's formula first (std::fma, the same expression).
#include <cmath>
#include <cstring>

#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_fprop_act.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/scale_shift_mrelu.h"
#include "tests/kernels/cuda_test.h"
#include "tests/kernels/prologue_cases.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;
using namespace senet::prologue_cases;

namespace {

TEST(ConvPrologue, ReferenceActivationIsTheHostFormula) {
  for_each_case(
      [&]([[maybe_unused]] const Conv2dGeom& g, [[maybe_unused]] bool integers, PrevLayer& prev) {
        EXPECT_TRUE(bitwise_equal(prev.a.download(), prev.host_a()));
      });
}

// The fused training forward's device tensors for one layer (weights, BN parameters, outputs).
struct FwdOut {
  DeviceBuffer<float> w, gamma, beta, rm, rv, y, mean, invstd, scale, shift, a, ws;
  DeviceBuffer<uint32_t> bits;
  FwdOut(const Conv2dGeom& g, const std::vector<float>& w_, const std::vector<float>& ga,
         const std::vector<float>& be)
      : w(w_),
        gamma(ga),
        beta(be),
        rm(std::vector<float>(size_t(g.K), 0.f)),
        rv(std::vector<float>(size_t(g.K), 1.f)),
        y(size_t(g.y_size())),
        mean(size_t(g.K)),
        invstd(size_t(g.K)),
        scale(size_t(g.K)),
        shift(size_t(g.K)),
        a(size_t(g.y_size())),
        ws(size_t(conv_bn_mrelu_fwd_workspace_floats(g))),
        bits(size_t(pass_bits_words(g.y_size()))) {}
  conv_bn_mrelu_fwd_tensors tensors(const float* x) {
    conv_bn_mrelu_fwd_tensors t;
    t.x = x, t.w = w.get(), t.gamma = gamma.get(), t.beta = beta.get();
    t.running_mean = rm.get(), t.running_var = rv.get(), t.y = y.get(), t.mean = mean.get();
    t.invstd = invstd.get(), t.scale = scale.get(), t.shift = shift.get(), t.a = a.get();
    t.bits = bits.get(), t.workspace = ws.get();
    return t;
  }
  // What the lazy forward writes: y and the BN's μ, 1/σ, scale, shift.
  std::vector<float> lazy_outputs() const {
    return concat(
        concat(concat(concat(y.download(), mean.download()), invstd.download()), scale.download()),
        shift.download());
  }
};

// The fused training forward of the next layer: conv(y with the prologue) == conv(a), and so are
// the BN statistics and the running stats; the lazy form writes neither a nor bits.
TEST(ConvPrologue, FusedForwardReadingYEqualsReadingA) {
  for_each_case([&]([[maybe_unused]] const Conv2dGeom& g, [[maybe_unused]] bool integers,
                    PrevLayer& prev) {
    for (int math = 0; math < 3; ++math) {  // FP32, TF32, TF32 on wgmma (where it runs)
      const bool wgmma = math == 2;         // (expect_wgmma checks that only this one runs it)
      if (wgmma && !conv2d_fprop_wgmma_runs(g)) continue;
      SCOPED_TRACE(math == 0 ? "fp32" : wgmma ? "wgmma" : "tf32");
      conv_bn_mrelu_fwd_params fp;
      fp.conv = g, fp.act = Act::ReLU, fp.tf32 = math > 0, fp.wgmma = wgmma;
      const auto w = small_ints(size_t(g.w_size()), 7);
      const auto gamma = uniform(size_t(g.K), 8), beta = uniform(size_t(g.K), 9);
      FwdOut ref(g, w, gamma, beta), fused(g, w, gamma, beta);
      ASSERT_EQ(conv_bn_mrelu_fwd_train(fp, ref.tensors(prev.a.get()), nullptr), cudaSuccess);
      conv_bn_mrelu_fwd_tensors t = fused.tensors(prev.y.get());
      t.x_act = prev.act();
      t.a = nullptr, t.bits = nullptr;  // lazy: the layer after this one would apply them
      t.lazy = true;
      expect_wgmma(wgmma, [&] { ASSERT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaSuccess); });
      EXPECT_TRUE(bitwise_equal(fused.y.download(), ref.y.download()));
      EXPECT_TRUE(bitwise_equal(fused.mean.download(), ref.mean.download()));
      EXPECT_TRUE(bitwise_equal(fused.invstd.download(), ref.invstd.download()));
      EXPECT_TRUE(bitwise_equal(fused.scale.download(), ref.scale.download()));
      EXPECT_TRUE(bitwise_equal(fused.shift.download(), ref.shift.download()));
      EXPECT_TRUE(bitwise_equal(fused.rm.download(), ref.rm.download()));
      EXPECT_TRUE(bitwise_equal(fused.rv.download(), ref.rv.download()));
      const auto untouched = fused.a.download();  // still the allocation's byte pattern
      for (float v : untouched) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        ASSERT_EQ(u, 0x5A5A5A5Au) << "the lazy forward wrote a";
      }
      EXPECT_TRUE(fused.y.guard_intact());
    }
  });
}

// The pre-activation block's plain conv with the prologue (conv2d_fprop_act): conv(y through the
// prologue) + r equals conv2d_fprop of a (v6; v8 with TF32; v9 on wgmma — each its unsplit
// version where the grid is large), then + r on the host — bitwise: the same loop and slices, and
// one rounding of the add. Without r, the conv alone.
// Every layer of prologue_cases.h, and one more: a split grid (C·R·S = 135) through the hoisting,
// not tap-major, prologue gather (C = 15), whose slices start inside a tap.
TEST(ConvPrologue, PlainConvReadingYPlusResidualEqualsConvOfAPlusResidual) {
  const auto check = [&](const Conv2dGeom& g, bool integers, PrevLayer& prev) {
    const auto w = integers ? small_ints(size_t(g.w_size()), 7) : uniform(size_t(g.w_size()), 7);
    const auto r_h = integers ? small_ints(size_t(g.y_size()), 8) : uniform(size_t(g.y_size()), 8);
    DeviceBuffer<float> dw(w), r(r_h), ref(size_t(g.y_size())), y(size_t(g.y_size()));
    for (int math = 0; math < 3; ++math) {  // FP32, TF32, TF32 on wgmma (where it runs)
      const bool wgmma = math == 2;
      if (wgmma && !conv2d_fprop_wgmma_runs(g)) continue;
      SCOPED_TRACE(math == 0 ? "fp32" : wgmma ? "wgmma" : "tf32");
      // v6, v8, v9 (v5, v4, v7 where they do not split)
      const conv2d_fprop_version v = conv2d_fprop_split_k_version(math > 0, wgmma);
      DeviceBuffer<float> ws_ref(size_t(conv2d_fprop_workspace_floats(v, g)) + 1);
      ASSERT_EQ(
          conv2d_fprop(v, g, prev.a.get(), dw.get(), nullptr, ref.get(), nullptr, ws_ref.get()),
          cudaSuccess);
      const auto conv_a = ref.download();
      conv2d_fprop_act_params fp;
      fp.conv = g, fp.tf32 = math > 0, fp.wgmma = wgmma;
      DeviceBuffer<float> ws(size_t(conv2d_fprop_act_workspace_floats(fp)) + 1);
      for (bool with_r : {false, true}) {
        if (!with_r && math > 0) continue;  // no residual: the same loop, checked once (FP32)
        SCOPED_TRACE(with_r ? "+ r" : "no r");
        y.fill_pattern();
        expect_wgmma(wgmma, [&] {
          ASSERT_EQ(conv2d_fprop_act(fp, prev.y.get(), prev.act(), dw.get(),
                                     with_r ? r.get() : nullptr, y.get(), ws.get(), nullptr),
                    cudaSuccess);
        });
        auto want = conv_a;
        if (with_r)
          for (size_t i = 0; i < want.size(); ++i) want[i] += r_h[i];
        EXPECT_TRUE(bitwise_equal(y.download(), want));
        EXPECT_TRUE(y.guard_intact());
      }
    }
  };
  for_each_case(check);
  const Conv2dGeom g15 = conv2d_geom(2, 15, 6, 6, 12, 3, 3, 1, 1);
  ASSERT_GT(conv2d_fprop_splits(g15), 1);
  ASSERT_GT(conv2d_fprop_splits(g15, conv2d_fprop_version::v8_tf32_split_k), 1);
  for (const ActCase& ac : kActs)
    for (bool integers : {true, false}) {
      if (!integers && !random_float_round()) continue;  // as for_each_case
      SCOPED_TRACE(testing::Message() << "C15 split " << ac.name << (integers ? " integers" : ""));
      PrevLayer prev(g15, ac, integers, 300);
      check(g15, integers, prev);
    }
}

// wgrad of a conv whose input is act(scale·y + shift): v4 (FP32), v3 (TF32) and v5 (wgmma, where it
// runs: K ≥ 128) read y.
TEST(ConvPrologue, WgradReadingYEqualsReadingA) {
  for_each_case([&]([[maybe_unused]] const Conv2dGeom& g, [[maybe_unused]] bool integers,
                    PrevLayer& prev) {
    const auto dy_h =
        integers ? small_ints(size_t(g.y_size()), 11) : uniform(size_t(g.y_size()), 11);
    DeviceBuffer<float> dy(dy_h), ws(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
    DeviceBuffer<float> dw_ref(size_t(g.w_size())), dw(size_t(g.w_size()));
    CUDA_OK(
        conv2d_wgrad_v4_simt_split_k(g, prev.a.get(), dy.get(), dw_ref.get(), ws.get(), nullptr));
    CUDA_OK(conv2d_wgrad_v4_simt_split_k(g, prev.y.get(), dy.get(), dw.get(), ws.get(), nullptr,
                                         prev.act()));
    EXPECT_TRUE(bitwise_equal(dw.download(), dw_ref.download())) << "v4";
    CUDA_OK(
        conv2d_wgrad_v3_tf32_split_k(g, prev.a.get(), dy.get(), dw_ref.get(), ws.get(), nullptr));
    CUDA_OK(conv2d_wgrad_v3_tf32_split_k(g, prev.y.get(), dy.get(), dw.get(), ws.get(), nullptr,
                                         prev.act()));
    EXPECT_TRUE(bitwise_equal(dw.download(), dw_ref.download())) << "v3";
    if (conv2d_wgrad_wgmma_runs(g)) {
      CUDA_OK(
          conv2d_wgrad_v5_tf32_wgmma(g, prev.a.get(), dy.get(), dw_ref.get(), ws.get(), nullptr));
      expect_wgmma(true, [&] {
        CUDA_OK(conv2d_wgrad_v5_tf32_wgmma(g, prev.y.get(), dy.get(), dw.get(), ws.get(), nullptr,
                                           prev.act()));
      });
      EXPECT_TRUE(bitwise_equal(dw.download(), dw_ref.download())) << "v5";
    }
    EXPECT_TRUE(dw.guard_intact());
  });
}

// The BN backward of the layer that wrote y, with no stored bits: p recomputed from y.
TEST(ConvPrologue, BnBackwardRecomputesThePassBitsFromY) {
  for_each_case([&]([[maybe_unused]] const Conv2dGeom& g, [[maybe_unused]] bool integers,
                    PrevLayer& prev) {
    mrelu_bn_bwd_params bp;
    bp.N = g.N, bp.K = g.C, bp.PQ = g.H * g.W;
    const size_t n = size_t(g.x_size());
    DeviceBuffer<float> da(integers ? small_ints(n, 21) : uniform(n, 21));
    DeviceBuffer<float> mean(uniform(size_t(g.C), 22)), invstd(uniform(size_t(g.C), 23, 0.5f, 2.f));
    DeviceBuffer<float> gamma(uniform(size_t(g.C), 24));
    DeviceBuffer<float> ws(size_t(mrelu_bn_bwd_workspace_floats(bp)));
    struct Grads {
      DeviceBuffer<float> dy, dr, dg, db;
      explicit Grads(size_t n, size_t C) : dy(n), dr(n), dg(C), db(C) {}
    } ref(n, size_t(g.C)), got(n, size_t(g.C));
    auto run = [&](Grads& o, bool stored_bits) {
      mrelu_bn_bwd_tensors t;
      t.da = da.get(), t.y = prev.y.get(), t.mean = mean.get(), t.invstd = invstd.get();
      t.gamma = gamma.get(), t.dy = o.dy.get(), t.dresidual = o.dr.get(), t.dgamma = o.dg.get();
      t.dbeta = o.db.get(), t.workspace = ws.get();
      if (stored_bits)
        t.bits = prev.bits.get();
      else
        t.y_act = prev.act();
      return mrelu_bn_bwd(bp, t, nullptr);
    };
    CUDA_OK(run(ref, true));
    CUDA_OK(run(got, false));
    EXPECT_TRUE(bitwise_equal(got.dy.download(), ref.dy.download()));
    EXPECT_TRUE(bitwise_equal(got.dr.download(), ref.dr.download()));
    EXPECT_TRUE(bitwise_equal(got.dg.download(), ref.dg.download()));
    EXPECT_TRUE(bitwise_equal(got.db.download(), ref.db.download()));
  });
}

// The whole fused backward of the next layer with x = y (prologue) equals its parts run on a.
TEST(ConvPrologue, FusedBackwardWithPrologueEqualsItsPartsOnA) {
  for_each_case([&]([[maybe_unused]] const Conv2dGeom& g, [[maybe_unused]] bool integers,
                    PrevLayer& prev) {
    const size_t ny = size_t(g.y_size());
    DeviceBuffer<float> w(small_ints(size_t(g.w_size()), 31)), da(uniform(ny, 32));
    DeviceBuffer<float> y2(integers ? small_ints(ny, 33) : uniform(ny, 33));
    DeviceBuffer<float> mean(uniform(size_t(g.K), 34)), invstd(uniform(size_t(g.K), 35, 0.5f, 2.f));
    DeviceBuffer<float> gamma(uniform(size_t(g.K), 36));
    DeviceBuffer<float> dy(ny), dx(size_t(g.x_size())), dw(size_t(g.w_size())), dg(size_t(g.K)),
        db(size_t(g.K)), ws(size_t(conv_bn_mrelu_bwd_workspace_floats(g)));
    conv_bn_mrelu_bwd_tensors t;
    t.x = prev.y.get(), t.x_act = prev.act(), t.w = w.get(), t.da = da.get(), t.y = y2.get();
    t.mean = mean.get(), t.invstd = invstd.get(), t.gamma = gamma.get(), t.dy = dy.get();
    t.dx = dx.get(), t.dw = dw.get(), t.dgamma = dg.get(), t.dbeta = db.get(),
    t.workspace = ws.get();
    CUDA_OK(conv_bn_mrelu_bwd(g, t, nullptr));
    // The parts: BN backward (no activation), dgrad v2, wgrad v4 on a.
    mrelu_bn_bwd_params bp;
    bp.N = g.N, bp.K = g.K, bp.PQ = g.P * g.Q;
    DeviceBuffer<float> dy_r(ny), dx_r(size_t(g.x_size())), dw_r(size_t(g.w_size())),
        dg_r(size_t(g.K)), db_r(size_t(g.K)), ws_r(size_t(conv_bn_mrelu_bwd_workspace_floats(g)));
    mrelu_bn_bwd_tensors bt;
    bt.da = da.get(), bt.y = y2.get(), bt.mean = mean.get(), bt.invstd = invstd.get();
    bt.gamma = gamma.get(), bt.dy = dy_r.get(), bt.dgamma = dg_r.get(), bt.dbeta = db_r.get();
    bt.workspace = ws_r.get();
    CUDA_OK(mrelu_bn_bwd(bp, bt, nullptr));
    CUDA_OK(conv2d_dgrad_v2_register_block(g, dy_r.get(), w.get(), dx_r.get(), nullptr));
    CUDA_OK(
        conv2d_wgrad_v4_simt_split_k(g, prev.a.get(), dy_r.get(), dw_r.get(), ws_r.get(), nullptr));
    EXPECT_TRUE(bitwise_equal(dy.download(), dy_r.download()));
    EXPECT_TRUE(bitwise_equal(dx.download(), dx_r.download()));
    EXPECT_TRUE(bitwise_equal(dw.download(), dw_r.download()));
    EXPECT_TRUE(bitwise_equal(dg.download(), dg_r.download()));
    EXPECT_TRUE(bitwise_equal(db.download(), db_r.download()));
  });
}

// The race check of the prologue's paths (expect_race_free_bitwise: each result bitwise equal to
// the same launch reading a), a per-position masked ReLU, GEMMs of 3 or more BK slices so that
// both shared-memory stages are written twice:
//   C = 5: fprop's prologue gather element by element (FP32 128×128, TF32 128×64); wgrad v4 and
//          v3 (64×128), the activation applied between the loads and the stores (b_deferred)
//   C = K = 16: the tap-major prologue gather, the activation applied after the slice's math
//          (a_deferred): FP32, TF32 128×64, wgmma 128×64
//   K = 128: TF32's 128×128 tile, the activation's constants loaded with x (a_full), wgmma
//          128×128; wgrad v3's 128×128 tile and v5 (wgmma)
// (wgmma where it runs: under the emulation, or on an sm_90 GPU; expect_wgmma sees it taken).
TEST(ConvPrologue, RaceFree) {
  struct RaceLayer {
    Layer l;
    bool fp32, wgrad;  // also run the FP32 forward, wgrad
  };
  const RaceLayer layers[] = {{{"race C5 K6", 1, 5, 6, 6, 6, 3, 3, 1, 1}, true, true},
                              {{"race C16 K16", 1, 16, 5, 5, 16, 3, 3, 1, 1}, true, false},
                              {{"race C48 K128", 1, 48, 6, 6, 128, 1, 1, 1, 0}, false, true}};
  for (const RaceLayer& rl : layers) {
    SCOPED_TRACE(rl.l.name);
    const Conv2dGeom g = geom(rl.l);
    const PrevLayer prev(g, kActs[2], true, 500);
    const auto w = small_ints(size_t(g.w_size()), 7);
    const auto gamma = uniform(size_t(g.K), 8), beta = uniform(size_t(g.K), 9);
    for (int math = rl.fp32 ? 0 : 1; math < 3; ++math) {  // FP32, TF32, TF32 on wgmma
      const bool wgmma = math == 2;
      if (wgmma && !conv2d_fprop_wgmma_runs(g)) continue;
      SCOPED_TRACE(math == 0 ? "fused forward fp32"
                   : wgmma   ? "fused forward wgmma"
                             : "fused forward tf32");
      conv_bn_mrelu_fwd_params fp;
      fp.conv = g, fp.act = Act::ReLU, fp.tf32 = math > 0, fp.wgmma = wgmma;
      FwdOut ref(g, w, gamma, beta), fused(g, w, gamma, beta);
      ASSERT_EQ(conv_bn_mrelu_fwd_train(fp, ref.tensors(prev.a.get()), nullptr), cudaSuccess);
      conv_bn_mrelu_fwd_tensors t = fused.tensors(prev.y.get());
      t.x_act = prev.act();
      t.a = nullptr, t.bits = nullptr, t.lazy = true;
      t.running_mean = t.running_var = nullptr;  // no update: every run the same
      expect_wgmma(wgmma, [&] {
        expect_race_free_bitwise(
            [&] {
              fused.y.fill_pattern();
              EXPECT_CUDA_OK(conv_bn_mrelu_fwd_train(fp, t, nullptr));
              return fused.lazy_outputs();
            },
            ref.lazy_outputs());
      });
    }
    // The pre-activation block's prologue conv (+ residual), every math.
    DeviceBuffer<float> r(small_ints(size_t(g.y_size()), 12)), out(size_t(g.y_size()));
    DeviceBuffer<float> dw_act(w);
    for (int math = rl.fp32 ? 0 : 1; math < 3; ++math) {
      const bool wgmma = math == 2;
      if (wgmma && !conv2d_fprop_wgmma_runs(g)) continue;
      SCOPED_TRACE(math == 0 ? "prologue conv fp32"
                   : wgmma   ? "prologue conv wgmma"
                             : "prologue conv tf32");
      conv2d_fprop_act_params ap;
      ap.conv = g, ap.tf32 = math > 0, ap.wgmma = wgmma;
      DeviceBuffer<float> ws(size_t(conv2d_fprop_act_workspace_floats(ap)) + 1);
      const auto run = [&] {
        return conv2d_fprop_act(ap, prev.y.get(), prev.act(), dw_act.get(), r.get(), out.get(),
                                ws.get(), nullptr);
      };
      CUDA_OK(run());
      const auto want = out.download();
      expect_wgmma(wgmma, [&] {
        expect_race_free_bitwise(
            [&] {
              out.fill_pattern();
              EXPECT_CUDA_OK(run());
              return out.download();
            },
            want);
      });
    }
    if (!rl.wgrad) continue;
    DeviceBuffer<float> dy(small_ints(size_t(g.y_size()), 11));
    DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
    DeviceBuffer<float> dw_ref(size_t(g.w_size())), dw(size_t(g.w_size()));
    using V = conv2d_wgrad_version;
    for (V v : {V::v4_simt_split_k, V::v3_tf32_split_k, V::v5_tf32_wgmma}) {
      const bool wgmma = v == V::v5_tf32_wgmma;
      if (wgmma && !conv2d_wgrad_wgmma_runs(g)) continue;
      SCOPED_TRACE(conv2d_wgrad_version_name(v));
      const auto wgrad = [&](const float* x, conv_input_act xa, float* out) {
        switch (v) {
          case V::v4_simt_split_k:
            return conv2d_wgrad_v4_simt_split_k(g, x, dy.get(), out, ws.get(), nullptr, xa);
          case V::v3_tf32_split_k:
            return conv2d_wgrad_v3_tf32_split_k(g, x, dy.get(), out, ws.get(), nullptr, xa);
          default: return conv2d_wgrad_v5_tf32_wgmma(g, x, dy.get(), out, ws.get(), nullptr, xa);
        }
      };
      CUDA_OK(wgrad(prev.a.get(), {}, dw_ref.get()));
      expect_wgmma(wgmma, [&] {
        expect_race_free_bitwise(
            [&] {
              dw.fill_pattern();
              EXPECT_CUDA_OK(wgrad(prev.y.get(), prev.act(), dw.get()));
              return dw.download();
            },
            dw_ref.download());
      });
    }
  }
}

TEST(ConvPrologue, LaunchersRejectBadPrologues) {
  const Conv2dGeom g = geom(kLayers[0]);
  DeviceBuffer<float> buf(size_t(g.x_size() + g.y_size() + g.w_size()) * 4);
  conv_input_act bad;
  bad.scale = buf.get(), bad.shift = buf.get(), bad.act = Act::MaskedReLU;  // no mask
  EXPECT_EQ(
      conv2d_wgrad_v4_simt_split_k(g, buf.get(), buf.get(), buf.get(), buf.get(), nullptr, bad),
      cudaErrorInvalidValue);
  conv_input_act no_shift;
  no_shift.scale = buf.get();
  EXPECT_EQ(conv2d_wgrad_v3_tf32_split_k(g, buf.get(), buf.get(), buf.get(), buf.get(), nullptr,
                                         no_shift),
            cudaErrorInvalidValue);
  conv_bn_mrelu_fwd_params fp;
  fp.conv = g;
  conv_bn_mrelu_fwd_tensors t;
  t.x = t.w = t.gamma = t.beta = buf.get();
  t.y = t.mean = t.invstd = t.scale = t.shift = t.workspace = buf.get();
  t.x_act = bad;
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  t.x_act = {};
  t.lazy = true;
  t.residual = buf.get();  // lazy with a residual: the residual would be lost
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  t.residual = nullptr, t.a = buf.get();  // lazy with an activation to write: contradictory
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  t.lazy = false, t.a = nullptr;  // no activation without `lazy`: a forgotten output, refused
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  conv2d_fprop_act_params ap;
  ap.conv = g;
  EXPECT_EQ(conv2d_fprop_act(ap, buf.get(), {}, buf.get(), nullptr, buf.get(), buf.get(), nullptr),
            cudaErrorInvalidValue);  // no prologue: that conv is conv2d_fprop
  EXPECT_EQ(conv2d_fprop_act(ap, buf.get(), bad, buf.get(), nullptr, buf.get(), buf.get(), nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(
      conv2d_fprop_act(ap, buf.get(), no_shift, buf.get(), nullptr, buf.get(), buf.get(), nullptr),
      cudaErrorInvalidValue);
  // A split grid without its workspace.
  conv2d_fprop_act_params split;
  split.conv = conv2d_geom(1, 16, 4, 4, 16, 3, 3, 1, 1);
  ASSERT_GT(conv2d_fprop_act_workspace_floats(split), 0);
  conv_input_act good;
  good.scale = buf.get(), good.shift = buf.get(), good.act = Act::ReLU;
  EXPECT_EQ(
      conv2d_fprop_act(split, buf.get(), good, buf.get(), nullptr, buf.get(), nullptr, nullptr),
      cudaErrorInvalidValue);
  mrelu_bn_bwd_params bp;
  bp.N = g.N, bp.K = g.C, bp.PQ = g.H * g.W;
  mrelu_bn_bwd_tensors bt;
  bt.da = bt.y = bt.mean = bt.invstd = bt.gamma = buf.get();
  bt.dy = bt.dgamma = bt.dbeta = bt.workspace = buf.get();
  bt.y_act = bad;
  EXPECT_EQ(mrelu_bn_bwd(bp, bt, nullptr), cudaErrorInvalidValue);
}

}  // namespace
