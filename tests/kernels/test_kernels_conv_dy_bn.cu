// tests/kernels/test_kernels_conv_dy_bn.cu — the BN backward folded into dgrad and wgrad (issue 16,
// item 3; kernels/conv_dy_bn.h): a dgrad or wgrad that reads the layer's da and y and computes
// dy = fmaf(c1, dz, fmaf(c2', y, c3')) while loading must equal the same kernel on the dy that
// mrelu_bn_bwd's element-wise kernel writes, bitwise — the same expression on the same
// per-channel constants, and the main loops unchanged. Checked for dgrad v4 (FP32), v3 (TF32), v5
// (the phases of a strided conv: its own gather), v6 (wgmma, where it runs: K a multiple of
// 16), v7, v8 and v9 (split-K), wgrad v4, v3 and v5 (wgmma, K ≥ 128; also with the input's prologue x_act at the same time), and the whole folded conv_bn_mrelu_bwd (no dy tensor).
// Race checks (EXPECT_RACE_FREE) of those paths and of conv_bn_mrelu_bwd's registry entries.
// The layer: y = the conv's output (N×K×P×Q) with its scale, shift, mask and activation, its pass
// bit recomputed from y (prologue_cases.h: small integers so that z hits 0, and random floats).
#include <algorithm>
#include <cmath>

#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/mrelu_bn_bwd.h"
#include "tests/kernels/cuda_test.h"
#include "tests/kernels/prologue_cases.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;
using namespace senet::prologue_cases;

namespace {

// The geometry whose "input" is the conv g's output (C, H, W = K, P, Q): PrevLayer on it is the
// layer's own y, scale, shift and mask.
Conv2dGeom output_as_input(const Conv2dGeom& g) {
  return conv2d_geom(g.N, g.K, g.P, g.Q, 1, 1, 1, 1, 0);
}

// The layer's BN backward state: da, μ, 1/σ, γ; the reference dy (mrelu_bn_bwd, pass bits
// recomputed from y) and, in its own workspace, the constants the folded kernels read.
struct BnBackward {
  mrelu_bn_bwd_params bp;
  DeviceBuffer<float> da, mean, invstd, gamma, dy, dg, db, ws;
  mrelu_bn_bwd_tensors t;
  BnBackward(const Conv2dGeom& g, const PrevLayer& own, bool integers)
      : bp(params(g)),
        da(integers ? small_ints(size_t(g.y_size()), 41) : uniform(size_t(g.y_size()), 41)),
        mean(uniform(size_t(g.K), 42)),
        invstd(uniform(size_t(g.K), 43, 0.5f, 2.f)),
        gamma(uniform(size_t(g.K), 44)),
        dy(size_t(g.y_size())),
        dg(size_t(g.K)),
        db(size_t(g.K)),
        ws(size_t(mrelu_bn_bwd_workspace_floats(bp))) {
    t.da = da.get(), t.y = own.y.get(), t.mean = mean.get(), t.invstd = invstd.get();
    t.gamma = gamma.get(), t.dy = dy.get(), t.dgamma = dg.get(), t.dbeta = db.get();
    t.workspace = ws.get(), t.y_act = own.act();
    EXPECT_EQ(mrelu_bn_bwd(bp, t, nullptr), cudaSuccess);  // dy, and the constants in ws
  }
  static mrelu_bn_bwd_params params(const Conv2dGeom& g) {
    mrelu_bn_bwd_params p;
    p.N = g.N, p.K = g.K, p.PQ = g.P * g.Q;
    return p;
  }
  conv_dy_bn folded() const { return mrelu_bn_bwd_folded_dy(bp, t); }
};

// body(g, integers, own, bn) for every layer × activation × (small integers, random floats).
template <class Body>
void for_each_layer(const Body& body) {
  for_each_layer_act([&](const Conv2dGeom& g, const ActCase& ac, bool integers, uint64_t i) {
    PrevLayer own(output_as_input(g), ac, integers, 200 + i);
    BnBackward bn(g, own, integers);
    body(g, integers, own, bn);
  });
}

TEST(ConvDyBn, DgradFromDaAndYEqualsDgradOfDy) {
  for_each_layer([&](const Conv2dGeom& g, bool integers, PrevLayer&, BnBackward& bn) {
    DeviceBuffer<float> w(integers ? small_ints(size_t(g.w_size()), 45)
                                   : uniform(size_t(g.w_size()), 45));
    DeviceBuffer<float> ref(size_t(g.x_size())), got(size_t(g.x_size()));
    const conv_dy_bn d = bn.folded();
    CUDA_OK(conv2d_dgrad_v4_simt_128x128(g, bn.dy.get(), w.get(), ref.get(), nullptr));
    CUDA_OK(conv2d_dgrad_v4_simt_128x128(g, nullptr, w.get(), got.get(), nullptr, d));
    EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v4";
    CUDA_OK(conv2d_dgrad_v5_simt_phases(g, bn.dy.get(), w.get(), ref.get(), nullptr));
    CUDA_OK(conv2d_dgrad_v5_simt_phases(g, nullptr, w.get(), got.get(), nullptr, d));
    EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v5";
    CUDA_OK(conv2d_dgrad_v3_tf32_mma(g, bn.dy.get(), w.get(), ref.get(), nullptr));
    CUDA_OK(conv2d_dgrad_v3_tf32_mma(g, nullptr, w.get(), got.get(), nullptr, d));
    EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v3";
    if (conv2d_dgrad_wgmma_runs(g)) {
      CUDA_OK(conv2d_dgrad_v6_tf32_wgmma(g, bn.dy.get(), w.get(), ref.get(), nullptr));
      expect_wgmma(true, [&] {
        CUDA_OK(conv2d_dgrad_v6_tf32_wgmma(g, nullptr, w.get(), got.get(), nullptr, d));
      });
      EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v6";
    }
    // v8 and v9 where they run kernels of their own: v3 and v6 split where the grid is small (two
    // of these layers; more splits in RaceFree below), or the phases of v10 and v11 (strided, K a
    // multiple of 16) — slice by slice, phase by phase the same gathers, plain and folded alike.
    using DV = conv2d_dgrad_version;
    const bool own_kernels =
        conv2d_dgrad_splits(g, DV::v8_tf32_split_k) > 1 || (g.stride > 1 && g.K % 16 == 0);
    if (own_kernels) {
      DeviceBuffer<float> ws(size_t(conv2d_dgrad_workspace_floats(DV::v8_tf32_split_k, g)) + 1);
      CUDA_OK(conv2d_dgrad_v8_tf32_split_k(g, bn.dy.get(), w.get(), ref.get(), ws.get(), nullptr));
      CUDA_OK(conv2d_dgrad_v8_tf32_split_k(g, nullptr, w.get(), got.get(), ws.get(), nullptr, d));
      EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v8";
      if (conv2d_dgrad_wgmma_runs(g)) {
        CUDA_OK(conv2d_dgrad_v9_tf32_wgmma_split_k(g, bn.dy.get(), w.get(), ref.get(), ws.get(),
                                                   nullptr));
        expect_wgmma(true, [&] {
          CUDA_OK(conv2d_dgrad_v9_tf32_wgmma_split_k(g, nullptr, w.get(), got.get(), ws.get(),
                                                     nullptr, d));
        });
        EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v9";
      }
    }
    EXPECT_TRUE(got.guard_intact());
  });
}

// wgrad, alone and (for the layer's masked activations) with the input's own prologue too
// (x = the previous layer's y, x_act).
TEST(ConvDyBn, WgradFromDaAndYEqualsWgradOfDy) {
  for_each_layer([&](const Conv2dGeom& g, bool integers, PrevLayer& own, BnBackward& bn) {
    PrevLayer prev(g, kActs[2], integers, 300);  // the input: y_prev with a per-element mask
    DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
    DeviceBuffer<float> ref(size_t(g.w_size())), got(size_t(g.w_size()));
    const conv_dy_bn d = bn.folded();
    const bool both = own.ac.act == Act::MaskedReLU;
    for (bool with_x_act : {false, true}) {
      if (with_x_act && !both) continue;
      SCOPED_TRACE(with_x_act ? "with x_act" : "x as it is");
      const conv_input_act xa = with_x_act ? prev.act() : conv_input_act{};
      CUDA_OK(conv2d_wgrad_v4_simt_split_k(g, prev.y.get(), bn.dy.get(), ref.get(), ws.get(),
                                           nullptr, xa));
      CUDA_OK(conv2d_wgrad_v4_simt_split_k(g, prev.y.get(), nullptr, got.get(), ws.get(), nullptr,
                                           xa, d));
      EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v4";
      CUDA_OK(conv2d_wgrad_v3_tf32_split_k(g, prev.y.get(), bn.dy.get(), ref.get(), ws.get(),
                                           nullptr, xa));
      CUDA_OK(conv2d_wgrad_v3_tf32_split_k(g, prev.y.get(), nullptr, got.get(), ws.get(), nullptr,
                                           xa, d));
      EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v3";
      if (!conv2d_wgrad_wgmma_runs(g)) continue;
      CUDA_OK(conv2d_wgrad_v5_tf32_wgmma(g, prev.y.get(), bn.dy.get(), ref.get(), ws.get(), nullptr,
                                         xa));
      expect_wgmma(true, [&] {
        CUDA_OK(conv2d_wgrad_v5_tf32_wgmma(g, prev.y.get(), nullptr, got.get(), ws.get(), nullptr,
                                           xa, d));
      });
      EXPECT_TRUE(bitwise_equal(got.download(), ref.download())) << "v5";
    }
    EXPECT_TRUE(got.guard_intact());
  });
}

// conv_bn_mrelu_bwd with no dy tensor: reduction, constants, folded dgrad and wgrad — equal to the
// BN backward into dy followed by the same dgrad (v4; v5 when strided) and wgrad (v4).
TEST(ConvDyBn, FoldedLayerBackwardEqualsItsParts) {
  for_each_layer([&](const Conv2dGeom& g, bool integers, PrevLayer& own, BnBackward& bn) {
    DeviceBuffer<float> x(integers ? small_ints(size_t(g.x_size()), 51)
                                   : uniform(size_t(g.x_size()), 51));
    DeviceBuffer<float> w(small_ints(size_t(g.w_size()), 52));
    DeviceBuffer<float> dx(size_t(g.x_size())), dw(size_t(g.w_size())), dg(size_t(g.K)),
        db(size_t(g.K)), ws(size_t(conv_bn_mrelu_bwd_workspace_floats(g)));
    conv_bn_mrelu_bwd_tensors t;
    t.x = x.get(), t.w = w.get(), t.da = bn.da.get(), t.y = own.y.get(), t.mean = bn.mean.get();
    t.invstd = bn.invstd.get(), t.gamma = bn.gamma.get(), t.dx = dx.get(), t.dw = dw.get();
    t.dgamma = dg.get(), t.dbeta = db.get(), t.workspace = ws.get(), t.y_act = own.act();
    CUDA_OK(conv_bn_mrelu_bwd(g, t, nullptr));  // t.dy null: folded
    DeviceBuffer<float> dx_r(size_t(g.x_size())), dw_r(size_t(g.w_size()));
    DeviceBuffer<float> ws_r(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
    CUDA_OK(g.stride > 1
                ? conv2d_dgrad_v5_simt_phases(g, bn.dy.get(), w.get(), dx_r.get(), nullptr)
                : conv2d_dgrad_v4_simt_128x128(g, bn.dy.get(), w.get(), dx_r.get(), nullptr));
    CUDA_OK(conv2d_wgrad_v4_simt_split_k(g, x.get(), bn.dy.get(), dw_r.get(), ws_r.get(), nullptr));
    EXPECT_TRUE(bitwise_equal(dx.download(), dx_r.download()));
    EXPECT_TRUE(bitwise_equal(dw.download(), dw_r.download()));
    EXPECT_TRUE(bitwise_equal(dg.download(), bn.dg.download()));
    EXPECT_TRUE(bitwise_equal(db.download(), bn.db.download()));
    EXPECT_TRUE(dx.guard_intact());
  });
}

// The race check of the folded paths (expect_race_free_bitwise: each result bitwise equal to the
// same kernel reading the dy that mrelu_bn_bwd writes), a per-position masked ReLU, GEMMs of 3 or
// more BK slices so that both shared-memory stages are written twice (v5's one-tap phases: 2):
//   K = 5: the fold element by element — dgrad v4 (v5 folds through it) and v3 (128×64); wgrad v4
//          and v3 (64×128)
//   stride 2, K = 16: tap-major — dgrad v4, v5 (4 phases), v3 (128×64), v6 (wgmma 128×64), v10
//          and v11 (the 4 phases on the TF32 tiles)
//   C = 128: dgrad v3's 128×128 tile and v6's (wgmma)
//   K = 128: wgrad v5 (wgmma; v3 folded keeps its 64×128 tile)
//   stride 1, K = 16 and 17: dgrad v7's split-K, 2 slices of K·R·S (72 + 72 tap-major, 80 + 73);
//          v8 (and v9 where tap-major) in 80 + 64 and 80 + 73
//   stride 2, K = 32, C = 128: v10's and v11's phases on the wide tiles
// wgrad with the input's prologue (x_act) as well: both gathers at once. wgmma where it runs
// (under the emulation, or on an sm_90 GPU; expect_wgmma sees it taken).
TEST(ConvDyBn, RaceFree) {
  using DV = conv2d_dgrad_version;
  using WV = conv2d_wgrad_version;
  struct RaceLayer {
    Layer l;
    std::vector<DV> dgrad;
    std::vector<WV> wgrad;
  };
  const RaceLayer layers[] = {
      {{"race K5", 1, 6, 6, 6, 5, 3, 3, 1, 1},
       {DV::v4_simt_128x128, DV::v3_tf32_mma},
       {WV::v4_simt_split_k, WV::v3_tf32_split_k}},
      {{"race s2 K16", 1, 8, 7, 6, 16, 3, 3, 2, 1},
       {DV::v4_simt_128x128, DV::v5_simt_phases, DV::v3_tf32_mma, DV::v6_tf32_wgmma,
        DV::v10_tf32_phases, DV::v11_tf32_wgmma_phases},
       {}},
      {{"race C128 K48", 1, 128, 3, 3, 48, 1, 1, 1, 0}, {DV::v3_tf32_mma, DV::v6_tf32_wgmma}, {}},
      {{"race K128", 1, 4, 6, 6, 128, 1, 1, 1, 0}, {}, {WV::v5_tf32_wgmma}},
      {{"race split K16", 1, 6, 5, 6, 16, 3, 3, 1, 1},
       {DV::v7_simt_split_k, DV::v8_tf32_split_k, DV::v9_tf32_wgmma_split_k},
       {}},
      {{"race split K17", 1, 5, 5, 6, 17, 3, 3, 1, 1},
       {DV::v7_simt_split_k, DV::v8_tf32_split_k},
       {}},
      {{"race s2 K32 C128", 1, 128, 5, 5, 32, 3, 3, 2, 1},
       {DV::v10_tf32_phases, DV::v11_tf32_wgmma_phases},
       {}}};
  for (const RaceLayer& rl : layers) {
    SCOPED_TRACE(rl.l.name);
    const Conv2dGeom g = geom(rl.l);
    PrevLayer own(output_as_input(g), kActs[2], true, 600);
    BnBackward bn(g, own, true);
    const conv_dy_bn d = bn.folded();
    DeviceBuffer<float> w(small_ints(size_t(g.w_size()), 45));
    DeviceBuffer<float> ref(size_t(g.x_size())), got(size_t(g.x_size()));
    DeviceBuffer<float> dws(
        size_t(std::max(conv2d_dgrad_workspace_floats(DV::v7_simt_split_k, g),
                        conv2d_dgrad_workspace_floats(DV::v8_tf32_split_k, g))));  // v9's is v8's
    for (DV v : rl.dgrad) {
      if (v == DV::v7_simt_split_k || v == DV::v8_tf32_split_k || v == DV::v9_tf32_wgmma_split_k) {
        ASSERT_EQ(conv2d_dgrad_splits(g, v), 2);
      }
      const bool wgmma = v == DV::v6_tf32_wgmma || v == DV::v9_tf32_wgmma_split_k ||
                         v == DV::v11_tf32_wgmma_phases;
      if (wgmma && !conv2d_dgrad_wgmma_runs(g)) continue;
      SCOPED_TRACE(conv2d_dgrad_version_name(v));
      const auto dgrad = [&](const float* dy, const conv_dy_bn& fold, float* dx) {
        switch (v) {
          case DV::v4_simt_128x128:
            return conv2d_dgrad_v4_simt_128x128(g, dy, w.get(), dx, nullptr, fold);
          case DV::v5_simt_phases:
            return conv2d_dgrad_v5_simt_phases(g, dy, w.get(), dx, nullptr, fold);
          case DV::v3_tf32_mma: return conv2d_dgrad_v3_tf32_mma(g, dy, w.get(), dx, nullptr, fold);
          case DV::v7_simt_split_k:
            return conv2d_dgrad_v7_simt_split_k(g, dy, w.get(), dx, dws.get(), nullptr, fold);
          case DV::v8_tf32_split_k:
            return conv2d_dgrad_v8_tf32_split_k(g, dy, w.get(), dx, dws.get(), nullptr, fold);
          case DV::v9_tf32_wgmma_split_k:
            return conv2d_dgrad_v9_tf32_wgmma_split_k(g, dy, w.get(), dx, dws.get(), nullptr, fold);
          case DV::v10_tf32_phases:
            return conv2d_dgrad_v10_tf32_phases(g, dy, w.get(), dx, nullptr, fold);
          case DV::v11_tf32_wgmma_phases:
            return conv2d_dgrad_v11_tf32_wgmma_phases(g, dy, w.get(), dx, nullptr, fold);
          default: return conv2d_dgrad_v6_tf32_wgmma(g, dy, w.get(), dx, nullptr, fold);
        }
      };
      CUDA_OK(dgrad(bn.dy.get(), {}, ref.get()));
      expect_wgmma(wgmma, [&] {
        expect_race_free_bitwise(
            [&] {
              got.fill_pattern();
              EXPECT_CUDA_OK(dgrad(nullptr, d, got.get()));
              return got.download();
            },
            ref.download());
      });
    }
    if (rl.wgrad.empty()) continue;
    const PrevLayer prev(g, kActs[2], true, 601);  // the input: x = y_prev, with x_act
    DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
    DeviceBuffer<float> dw_ref(size_t(g.w_size())), dw(size_t(g.w_size()));
    for (WV v : rl.wgrad) {
      const bool wgmma = v == WV::v5_tf32_wgmma;
      if (wgmma && !conv2d_wgrad_wgmma_runs(g)) continue;
      SCOPED_TRACE(conv2d_wgrad_version_name(v));
      const auto wgrad = [&](const float* dy, const conv_dy_bn& fold, float* out) {
        const float* x = prev.y.get();
        switch (v) {
          case WV::v4_simt_split_k:
            return conv2d_wgrad_v4_simt_split_k(g, x, dy, out, ws.get(), nullptr, prev.act(), fold);
          case WV::v3_tf32_split_k:
            return conv2d_wgrad_v3_tf32_split_k(g, x, dy, out, ws.get(), nullptr, prev.act(), fold);
          default:
            return conv2d_wgrad_v5_tf32_wgmma(g, x, dy, out, ws.get(), nullptr, prev.act(), fold);
        }
      };
      CUDA_OK(wgrad(bn.dy.get(), {}, dw_ref.get()));
      expect_wgmma(wgmma, [&] {
        expect_race_free_bitwise(
            [&] {
              dw.fill_pattern();
              EXPECT_CUDA_OK(wgrad(nullptr, d, dw.get()));
              return dw.download();
            },
            dw_ref.download());
      });
    }
  }
}

// The race check of conv_bn_mrelu_bwd's registry entries (kernels/registry.cu; their cases in
// tools/bench/cases/cases_conv.cu), each result bitwise equal to its parts run one by one on the
// dy of mrelu_bn_bwd (BnBackward): "bn_bwd+dgrad_v2+wgrad_v2" (stored pass bits, dy written,
// dgrad v2, wgrad v2), "bn_bwd+dgrad_v4+wgrad_v4" (the bits recomputed from y, dy written, dgrad
// v5 at stride 2, wgrad v4) and "folded_dgrad_v4+wgrad_v4" (no dy: dgrad v5 and wgrad v4 compute
// it as they load). Stride 2, K = 16: the tap-major phases.
TEST(ConvDyBn, LayerBackwardRegistryEntriesRaceFree) {
  const Conv2dGeom g = conv2d_geom(1, 8, 7, 6, 16, 3, 3, 2, 1);
  PrevLayer own(output_as_input(g), kActs[2], true, 700);
  BnBackward bn(g, own, true);
  DeviceBuffer<float> x(small_ints(size_t(g.x_size()), 51)), w(small_ints(size_t(g.w_size()), 52));
  DeviceBuffer<float> dy(size_t(g.y_size())), dx(size_t(g.x_size())), dw(size_t(g.w_size())),
      dg(size_t(g.K)), db(size_t(g.K)), ws(size_t(conv_bn_mrelu_bwd_workspace_floats(g)));
  conv_bn_mrelu_bwd_tensors t;
  t.x = x.get(), t.w = w.get(), t.da = bn.da.get(), t.y = own.y.get(), t.mean = bn.mean.get();
  t.invstd = bn.invstd.get(), t.gamma = bn.gamma.get(), t.dx = dx.get(), t.dw = dw.get();
  t.dgamma = dg.get(), t.dbeta = db.get(), t.workspace = ws.get();
  const auto outputs = [&] {
    return concat(concat(concat(dx.download(), dw.download()), dg.download()), db.download());
  };
  // The parts on bn.dy: dgrad and wgrad v2, and v5 and v4.
  const auto bn_grads = concat(bn.dg.download(), bn.db.download());
  DeviceBuffer<float> wsr(size_t(conv2d_wgrad_v2_workspace_floats(g)) + 1);
  CUDA_OK(conv2d_dgrad_v2_register_block(g, bn.dy.get(), w.get(), dx.get(), nullptr));
  CUDA_OK(conv2d_wgrad_v2_split_k(g, x.get(), bn.dy.get(), dw.get(), wsr.get(), nullptr));
  const auto ref_v2 = concat(concat(dx.download(), dw.download()), bn_grads);
  CUDA_OK(conv2d_dgrad_v5_simt_phases(g, bn.dy.get(), w.get(), dx.get(), nullptr));
  CUDA_OK(conv2d_wgrad_v4_simt_split_k(g, x.get(), bn.dy.get(), dw.get(), wsr.get(), nullptr));
  const auto ref_fast = concat(concat(dx.download(), dw.download()), bn_grads);
  {
    SCOPED_TRACE("bn_bwd+dgrad_v2+wgrad_v2");
    conv_bn_mrelu_bwd_tensors tb = t;
    tb.dy = dy.get(), tb.bits = own.bits.get();
    expect_race_free_bitwise(
        [&] {
          dx.fill_pattern(), dw.fill_pattern();
          EXPECT_CUDA_OK(conv_bn_mrelu_bwd(g, tb, nullptr));
          return outputs();
        },
        ref_v2);
  }
  {
    SCOPED_TRACE("bn_bwd+dgrad_v4+wgrad_v4");
    mrelu_bn_bwd_tensors bt = bn.t;
    bt.dy = dy.get(), bt.dgamma = dg.get(), bt.dbeta = db.get(), bt.workspace = ws.get();
    expect_race_free_bitwise(
        [&] {
          dx.fill_pattern(), dw.fill_pattern();
          EXPECT_CUDA_OK(mrelu_bn_bwd(bn.bp, bt, nullptr));
          EXPECT_CUDA_OK(conv2d_dgrad_v5_simt_phases(g, dy.get(), w.get(), dx.get(), nullptr));
          EXPECT_CUDA_OK(conv2d_wgrad_v4_simt_split_k(
              g, x.get(), dy.get(), dw.get(), ws.get() + mrelu_bn_bwd_workspace_floats(bn.bp),
              nullptr));
          return outputs();
        },
        ref_fast);
  }
  {
    SCOPED_TRACE("folded_dgrad_v4+wgrad_v4");
    conv_bn_mrelu_bwd_tensors tf = t;
    tf.y_act = own.act();  // t.dy, t.bits null: folded
    expect_race_free_bitwise(
        [&] {
          dx.fill_pattern(), dw.fill_pattern();
          EXPECT_CUDA_OK(conv_bn_mrelu_bwd(g, tf, nullptr));
          return outputs();
        },
        ref_fast);
  }
}

// The constants against the host: c1 = γ·invstd, c2' = −c1·(dγ/M)·invstd, c3' = −c1·dβ/M − c2'·μ,
// the channel's relu flag; and in eval mode (running statistics) c2' = c3' = 0, so
// dy = γ·invstd·dz exactly.
TEST(ConvDyBn, ConstantsAreTheBnBackwardsOwn) {
  const Conv2dGeom g = geom(kLayers[0]);
  PrevLayer own(output_as_input(g), kActs[1], true, 400);
  BnBackward bn(g, own, true);
  std::vector<float> c(size_t(kBnBwdCoefFloats * g.K));
  CUDA_OK(cudaMemcpy(c.data(), mrelu_bn_bwd_folded_dy(bn.bp, bn.t).coef, c.size() * sizeof(float),
                     cudaMemcpyDeviceToHost));
  const auto gamma = bn.gamma.download(), invstd = bn.invstd.download(), mean = bn.mean.download();
  const auto dg = bn.dg.download(), db = bn.db.download(), scale = own.scale.download();
  const float inv_m = 1.0f / float(g.N * g.P * g.Q);
  for (int k = 0; k < g.K; ++k) {
    const float* ck = c.data() + kBnBwdCoefFloats * k;
    const size_t ku = size_t(k);
    const float c1 = gamma[ku] * invstd[ku], c2 = -(c1 * (dg[ku] * inv_m)) * invstd[ku];
    EXPECT_EQ(ck[0], scale[ku]);
    EXPECT_EQ(ck[1], own.shift_h[ku]);
    EXPECT_EQ(ck[2], c1);
    EXPECT_EQ(ck[3], c2);
    EXPECT_EQ(ck[4], std::fma(-c2, mean[ku], -(c1 * (db[ku] * inv_m))));
    EXPECT_EQ(ck[5], 1.0f);  // ReLU
  }
  bn.bp.training = false;
  CUDA_OK(mrelu_bn_bwd(bn.bp, bn.t, nullptr));
  const auto dy = bn.dy.download(), da = bn.da.download(), y = own.y.download();
  const int64_t PQ = int64_t(g.P) * g.Q;
  for (size_t i = 0; i < dy.size(); ++i) {
    const size_t k = size_t(int64_t(i) / PQ % g.K);
    const bool pass = std::fma(scale[k], y[i], own.shift_h[k]) > 0.f;
    ASSERT_EQ(dy[i], (gamma[k] * invstd[k]) * (pass ? da[i] : 0.f)) << i;
  }
}

// The pass bit's relu: a per-channel flag in the constants (ReLU everywhere, a per-channel mask's
// byte, none without an activation), and the mask itself only under a per-position mask.
TEST(ConvDyBn, ReluIsAChannelFlagOrAPositionMask) {
  const Conv2dGeom g = geom(kLayers[0]);
  for (const ActCase& ac : kActs) {
    SCOPED_TRACE(ac.name);
    PrevLayer own(output_as_input(g), ac, true, 410);
    BnBackward bn(g, own, true);
    const conv_dy_bn d = mrelu_bn_bwd_folded_dy(bn.bp, bn.t);
    std::vector<float> c(size_t(kBnBwdCoefFloats * g.K));
    CUDA_OK(cudaMemcpy(c.data(), d.coef, c.size() * sizeof(float), cudaMemcpyDeviceToHost));
    const bool per_position = ac.act == Act::MaskedReLU && !ac.per_channel;
    EXPECT_EQ(d.mask, per_position ? own.mask.get() : nullptr);
    for (int k = 0; k < g.K; ++k) {
      const bool relu = ac.act == Act::ReLU ||
                        (ac.act == Act::MaskedReLU && ac.per_channel && own.mask_h[size_t(k)]);
      EXPECT_EQ(c[size_t(kBnBwdCoefFloats * k + 5)], relu ? 1.0f : 0.0f) << k;
    }
  }
}

TEST(ConvDyBn, LaunchersRejectBadFolds) {
  const Conv2dGeom g = geom(kLayers[0]);
  DeviceBuffer<float> buf(size_t(g.x_size() + g.y_size() + g.w_size()) * 4);
  conv_dy_bn d;
  d.da = buf.get(), d.y = buf.get(), d.coef = buf.get();
  // dy and a fold at once: which gradient is meant is unclear.
  EXPECT_EQ(conv2d_dgrad_v4_simt_128x128(g, buf.get(), buf.get(), buf.get(), nullptr, d),
            cudaErrorInvalidValue);
  EXPECT_EQ(
      conv2d_wgrad_v4_simt_split_k(g, buf.get(), buf.get(), buf.get(), buf.get(), nullptr, {}, d),
      cudaErrorInvalidValue);
  // Neither.
  EXPECT_EQ(conv2d_dgrad_v5_simt_phases(g, nullptr, buf.get(), buf.get(), nullptr),
            cudaErrorInvalidValue);
  conv_dy_bn bad = d;
  bad.coef = buf.get() + 1;  // not 16-byte aligned: the constants are read as float4
  EXPECT_EQ(conv2d_dgrad_v3_tf32_mma(g, nullptr, buf.get(), buf.get(), nullptr, bad),
            cudaErrorInvalidValue);
  bad = d, bad.y = nullptr;  // no y
  EXPECT_EQ(
      conv2d_wgrad_v3_tf32_split_k(g, buf.get(), nullptr, buf.get(), buf.get(), nullptr, {}, bad),
      cudaErrorInvalidValue);
  // The dividing tiles (v2) have no fold.
  EXPECT_EQ(conv2d_dgrad_v2_register_block(g, nullptr, buf.get(), buf.get(), nullptr),
            cudaErrorInvalidValue);
  // The dispatcher hands the fold to v3–v11, and refuses it for v1 and v2 (no fold of their own)
  // rather than dropping it; with dy as well, every version refuses.
  for (conv2d_dgrad_version v : kConv2dDgradVersions) {
    SCOPED_TRACE(conv2d_dgrad_version_name(v));
    const bool folds =
        v != conv2d_dgrad_version::v1_direct && v != conv2d_dgrad_version::v2_register_block;
    DeviceBuffer<float> ws(size_t(conv2d_dgrad_workspace_floats(v, g)) + 1);
    DeviceBuffer<float> w(size_t(g.w_size())), dx(size_t(g.x_size()));
    EXPECT_EQ(conv2d_dgrad(v, g, nullptr, w.get(), dx.get(), nullptr, ws.get(), d) == cudaSuccess,
              folds);
    EXPECT_EQ(conv2d_dgrad(v, g, buf.get(), w.get(), dx.get(), nullptr, ws.get(), d),
              cudaErrorInvalidValue);
  }
  // conv_bn_mrelu_bwd folds only what da and y determine: stored bits want a dy tensor.
  conv_bn_mrelu_bwd_tensors t;
  t.x = t.w = t.da = t.y = t.mean = t.invstd = t.gamma = buf.get();
  t.dx = t.dw = t.dgamma = t.dbeta = t.workspace = buf.get();
  DeviceBuffer<uint32_t> bits(size_t(pass_bits_words(g.y_size())));
  t.bits = bits.get();
  EXPECT_EQ(conv_bn_mrelu_bwd(g, t, nullptr), cudaErrorInvalidValue);
}

}  // namespace
