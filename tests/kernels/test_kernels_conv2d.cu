// tests/kernels/test_kernels_conv2d.cu — conv2d fprop / dgrad / wgrad kernels, every version, against the
// CPU backend (engine/cpu/conv2d.h conv2d_reference; engine/ops/conv2d.h through the autograd tape
// for the gradients).
// Exact mode: inputs are integers in [−8, 8], so every product and partial sum (< 2²⁴) is exact in
// fp32 in any order, and every version must equal the CPU result BITWISE.
// Also: guard zones after every output, schedule-permutation race checks, rejected bad params.
#include <functional>
#include <string>

#include "engine/core/autograd.h"
#include "engine/cpu/conv2d.h"
#include "engine/ops/conv2d.h"
#include "kernels/conv2d_dgrad.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv2d_wgrad.h"
#include "kernels/emu/race_check.h"
#include "tests/kernels/conv_cases.h"
#include "tests/kernels/cuda_test.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using namespace senet::cudatest;
using senet::test::random_int_tensor;

namespace {

struct ConvData {
  Tensor x, w, bias, dy;     // host, integer-valued
  std::vector<float> y_ref;  // conv(x, w) + bias
  std::vector<float> dx_ref, dw_ref;
};

ConvData make_data(const ConvCase& c, uint64_t seed, bool grads) {
  const Conv2dGeom p = c.params();
  ConvData d;
  d.x = random_int_tensor({c.N, c.C, c.H, c.W}, seed, -8, 8);
  d.w = random_int_tensor({c.K, c.C, c.R, c.S}, seed + 1, -8, 8);
  d.bias = random_int_tensor({c.K}, seed + 2, -8, 8);
  d.dy = random_int_tensor({c.N, c.K, p.P, p.Q}, seed + 3, -8, 8);
  const cpu::Conv2dGeom g = cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  d.y_ref.resize(size_t(p.y_size()));
  cpu::conv2d_reference(g, d.x.data<float>(), d.w.data<float>(), d.bias.data<float>(),
                        d.y_ref.data());
  if (grads) {  // the engine's conv2d op, backward through the tape
    Tensor x = d.x.clone().set_requires_grad(true), w = d.w.clone().set_requires_grad(true);
    conv2d(x, w, Tensor(), c.stride, c.pad).backward(d.dy);
    d.dx_ref = x.grad().to_vector();
    d.dw_ref = w.grad().to_vector();
  }
  return d;
}

}  // namespace

TEST(CudaConv2dFprop, EveryVersionBitwiseOnEdgeAndModelShapes) {
  uint64_t seed = 10;
  std::vector<ConvCase> cases = all_conv_cases();
  // v6 cuts C·R·S when the grid is small: 3 slices of 72, and a ragged 80 + 73.
  cases.push_back({"fprop_split_k_3_slices", 2, 24, 6, 6, 10, 3, 3, 1, 1});
  cases.push_back({"fprop_split_k_ragged", 3, 17, 5, 7, 9, 3, 3, 2, 1});
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const ConvData d = make_data(c, seed += 10, false);
    DeviceBuffer<float> x(host(d.x)), w(host(d.w)), b(host(d.bias)), y(size_t(p.y_size()));
    // Without bias: the reference minus the bias (exact for integers).
    std::vector<float> ref_nobias = d.y_ref;
    const auto hb = host(d.bias);
    for (size_t i = 0; i < ref_nobias.size(); ++i)
      ref_nobias[i] -= hb[size_t(i / size_t(p.P * p.Q) % size_t(p.K))];
    for (conv2d_fprop_version v : kConv2dFpropVersions) {
      SCOPED_TRACE(conv2d_fprop_version_name(v));
      DeviceBuffer<float> ws(size_t(conv2d_fprop_workspace_floats(v, p)));
      y.fill_pattern();
      CUDA_OK(conv2d_fprop(v, p, x.get(), w.get(), b.get(), y.get(), nullptr, ws.get()));
      EXPECT_TRUE(bitwise_equal(y.download(), d.y_ref));
      y.fill_pattern();
      CUDA_OK(conv2d_fprop(v, p, x.get(), w.get(), nullptr, y.get(), nullptr, ws.get()));
      EXPECT_TRUE(bitwise_equal(y.download(), ref_nobias));
      EXPECT_TRUE(y.guard_intact());
    }
  }
}

// Strides and kernels whose phases differ in rows and taps (v5 splits dx by stride phase): 3×3/σ3,
// 5×5/σ3 with pad 2, an even 2×2/σ2, 4×4/σ4 (16 phases, the most), σ5 (v5 runs v4 there).
std::vector<ConvCase> dgrad_stride_cases() {
  return {{"s3_3x3_p1", 2, 3, 10, 11, 4, 3, 3, 3, 1},
          {"s3_5x5_p2", 2, 3, 11, 10, 4, 5, 5, 3, 2},
          {"s2_2x2_p0", 2, 3, 8, 7, 4, 2, 2, 2, 0},
          {"s4_4x4_p1", 1, 2, 9, 9, 3, 4, 4, 4, 1},
          {"s5_fallback_3x3", 1, 2, 12, 12, 3, 3, 3, 5, 1}};
}

// dgrad v7 cuts K·R·S when the grid is small (stride 1): 3 tap-major slices of 72 (K = 24); a
// ragged 80 + 73 through the hoisting gather (K = 17); a ragged tap-major 72 + 72 + 56 (K = 8, 5×5).
// (all_conv_cases adds 1 slice, e.g. K70_two_col_tiles_1x1, and 2 to 16: the stride-1 model rows.)
std::vector<ConvCase> dgrad_split_cases() {
  return {{"dgrad_split_k_3_slices", 2, 10, 6, 6, 24, 3, 3, 1, 1},
          {"dgrad_split_k_ragged", 3, 9, 5, 7, 17, 3, 3, 1, 1},
          {"dgrad_split_k_ragged_tap", 1, 6, 7, 7, 8, 5, 5, 1, 2}};
}

TEST(CudaConv2dDgrad, EveryVersionBitwiseOnEdgeAndModelShapes) {
  uint64_t seed = 1000;
  std::vector<ConvCase> cases = all_conv_cases();
  for (const ConvCase& c : dgrad_stride_cases()) cases.push_back(c);
  for (const ConvCase& c : dgrad_split_cases()) cases.push_back(c);
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const ConvData d = make_data(c, seed += 10, true);
    DeviceBuffer<float> dy(host(d.dy)), w(host(d.w)), dx(size_t(p.x_size()));
    for (conv2d_dgrad_version v : kConv2dDgradVersions) {
      SCOPED_TRACE(conv2d_dgrad_version_name(v));
      DeviceBuffer<float> ws(size_t(conv2d_dgrad_workspace_floats(v, p)));
      dx.fill_pattern();
      CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr, ws.get()));
      EXPECT_TRUE(bitwise_equal(dx.download(), d.dx_ref));
      EXPECT_TRUE(dx.guard_intact() && ws.guard_intact());
    }
  }
}

TEST(CudaConv2dWgrad, EveryVersionBitwiseOnEdgeAndModelShapes) {
  uint64_t seed = 2000;
  std::vector<ConvCase> cases = all_conv_cases();
  // A long N·P·Q axis: several split-K slices (NPQ = 4·16·16 = 1024 → 4 slices of 256).
  cases.push_back({"split_k_4_slices", 4, 3, 16, 16, 5, 3, 3, 1, 1});
  cases.push_back({"split_k_ragged_last_slice", 3, 2, 13, 11, 4, 3, 3, 1, 1});
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const ConvData d = make_data(c, seed += 10, true);
    DeviceBuffer<float> x(host(d.x)), dy(host(d.dy)), dw(size_t(p.w_size()));
    DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(p)));
    for (conv2d_wgrad_version v : kConv2dWgradVersions) {
      SCOPED_TRACE(conv2d_wgrad_version_name(v));
      dw.fill_pattern();
      CUDA_OK(conv2d_wgrad(v, p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
      EXPECT_TRUE(bitwise_equal(dw.download(), d.dw_ref));
      EXPECT_TRUE(dw.guard_intact());
    }
  }
}

TEST(CudaConv2dFprop, SplitKPlan) {
  using V = conv2d_fprop_version;
  const Conv2dGeom thin = conv2d_geom(1, 5, 5, 5, 3, 3, 3, 1, 1);  // C·R·S = 45 < 2 slices of 64
  EXPECT_EQ(conv2d_fprop_splits(thin), 1);
  EXPECT_EQ(conv2d_fprop_workspace_floats(V::v6_simt_split_k, thin), 0);
  const Conv2dGeom p = conv2d_geom(2, 24, 6, 6, 10, 3, 3, 1, 1);  // C·R·S = 216: 3 × 72
  EXPECT_EQ(conv2d_fprop_splits(p), 3);
  EXPECT_EQ(conv2d_fprop_workspace_floats(V::v6_simt_split_k, p), 3 * p.y_size());
  EXPECT_EQ(conv2d_fprop_workspace_floats(V::v5_simt_128x128, p), 0);
  // ResNet-18 at N = 128: layer4's 4×4 maps are 64 blocks of 128×128 → 5 slices of C·R·S = 4608;
  // layer1's 32×32 maps fill the GPU alone (1,024 blocks).
  EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 512, 4, 4, 512, 3, 3, 1, 1)), 5);
  EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1)), 1);
}

// v8 and v9 (TF32): the same rule on v4's grid with BK = 16. Only the split versions split.
TEST(CudaConv2dFprop, Tf32SplitKPlan) {
  using V = conv2d_fprop_version;
  for (V v : {V::v8_tf32_split_k, V::v9_tf32_wgmma_split_k}) {
    SCOPED_TRACE(conv2d_fprop_version_name(v));
    const Conv2dGeom p = conv2d_geom(2, 24, 6, 6, 10, 3, 3, 1, 1);  // C·R·S = 216: 80 + 80 + 56
    EXPECT_EQ(conv2d_fprop_split_k_plan(p, v).slice, 80);
    EXPECT_EQ(conv2d_fprop_splits(p, v), 3);
    EXPECT_EQ(conv2d_fprop_workspace_floats(v, p), 3 * p.y_size());
    // ResNet-18 at N = 128 on the 128×128 TF32 tile: layer4 16 × 4 = 64 blocks → 5 slices of
    // C·R·S = 4608; layer3 64 × 2 = 128 → 3; layer2 256 × 1 → 2; layer1 fills the GPU alone.
    EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 512, 4, 4, 512, 3, 3, 1, 1), v), 5);
    EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 256, 8, 8, 256, 3, 3, 1, 1), v), 3);
    EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 128, 16, 16, 128, 3, 3, 1, 1), v), 2);
    EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1), v), 1);
  }
  for (V v : {V::v4_tf32_mma, V::v5_simt_128x128, V::v7_tf32_wgmma}) {
    EXPECT_EQ(conv2d_fprop_splits(conv2d_geom(2, 24, 6, 6, 10, 3, 3, 1, 1), v), 1);
    EXPECT_EQ(conv2d_fprop_workspace_floats(v, conv2d_geom(2, 24, 6, 6, 10, 3, 3, 1, 1)), 0);
  }
  // TF32 never takes more slices than FP32 (its tiles are no wider, its slices no thinner):
  // conv_bn_mrelu_fwd_workspace_floats's FP32 size serves every math.
  for (int n : {1, 2, 8, 32, 128})
    for (int c : {3, 16, 24, 64, 160, 512})
      for (int hw : {4, 7, 16})
        for (int k : {10, 64, 100, 128, 512}) {
          const Conv2dGeom g = conv2d_geom(n, c, hw, hw, k, 3, 3, 1, 1);
          EXPECT_LE(conv2d_fprop_splits(g, V::v8_tf32_split_k), conv2d_fprop_splits(g))
              << n << " " << c << " " << hw << " " << k;
        }
}

TEST(CudaConv2dDgrad, SplitKPlan) {
  using V = conv2d_dgrad_version;
  const Conv2dGeom thin = conv2d_geom(1, 3, 5, 5, 5, 3, 3, 1, 1);  // K·R·S = 45 < 2 slices of 64
  EXPECT_EQ(conv2d_dgrad_splits(thin), 1);
  EXPECT_EQ(conv2d_dgrad_workspace_floats(V::v7_simt_split_k, thin), 0);
  const Conv2dGeom p = conv2d_geom(2, 10, 6, 6, 24, 3, 3, 1, 1);  // K·R·S = 216: 3 × 72
  EXPECT_EQ(conv2d_dgrad_splits(p), 3);
  EXPECT_EQ(conv2d_dgrad_workspace_floats(V::v7_simt_split_k, p), 3 * p.x_size());
  EXPECT_EQ(conv2d_dgrad_workspace_floats(V::v4_simt_128x128, p), 0);
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(3, 9, 5, 7, 17, 3, 3, 1, 1)), 2);  // 153 = 80 + 73
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(1, 6, 7, 7, 8, 5, 5, 1, 2)), 3);   // 200 = 72+72+56
  // Strided: v5 runs (its phases), no split and no workspace.
  const Conv2dGeom s2 = conv2d_geom(2, 10, 6, 6, 24, 3, 3, 2, 1);
  EXPECT_EQ(conv2d_dgrad_splits(s2), 1);
  EXPECT_EQ(conv2d_dgrad_workspace_floats(V::v7_simt_split_k, s2), 0);
  // ResNet-18 at N = 128: layer4's 4×4 maps are 16 × 4 = 64 blocks of 128×128 → 5 slices of
  // K·R·S = 4608; layer3's 8×8, 64 × 2 = 128 blocks → 3 of 2304; layer2's 16×16, 256 × 1 → 2 of
  // 1152; layer1's 32×32 maps fill the GPU alone (1,024 blocks).
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 512, 4, 4, 512, 3, 3, 1, 1)), 5);
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 256, 8, 8, 256, 3, 3, 1, 1)), 3);
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 128, 16, 16, 128, 3, 3, 1, 1)), 2);
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1)), 1);
}

// v8 and v9 (TF32): the same rule on v3's grid with BK = 16; strided convs run the phases (v10,
// v11) unsplit.
TEST(CudaConv2dDgrad, Tf32SplitKPlan) {
  using V = conv2d_dgrad_version;
  for (V v : {V::v8_tf32_split_k, V::v9_tf32_wgmma_split_k}) {
    SCOPED_TRACE(conv2d_dgrad_version_name(v));
    const Conv2dGeom p = conv2d_geom(2, 10, 6, 6, 24, 3, 3, 1, 1);  // K·R·S = 216: 80 + 80 + 56
    EXPECT_EQ(conv2d_dgrad_splits(p, v), 3);
    EXPECT_EQ(conv2d_dgrad_workspace_floats(v, p), 3 * p.x_size());
    const Conv2dGeom s2 = conv2d_geom(2, 10, 6, 6, 24, 3, 3, 2, 1);  // strided: no split
    EXPECT_EQ(conv2d_dgrad_splits(s2, v), 1);
    EXPECT_EQ(conv2d_dgrad_workspace_floats(v, s2), 0);
    EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 512, 4, 4, 512, 3, 3, 1, 1), v), 5);
    EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 256, 8, 8, 256, 3, 3, 1, 1), v), 3);
    EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 128, 16, 16, 128, 3, 3, 1, 1), v), 2);
    EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1), v), 1);
  }
  EXPECT_EQ(conv2d_dgrad_splits(conv2d_geom(2, 10, 6, 6, 24, 3, 3, 1, 1), V::v3_tf32_mma), 1);
}

TEST(CudaConv2dWgrad, SplitKPlan) {
  const Conv2dGeom small = conv2d_geom(1, 1, 5, 5, 1, 3, 3, 1, 1);  // NPQ = 25
  EXPECT_EQ(conv2d_wgrad_v2_splits(small), 1);
  EXPECT_EQ(conv2d_wgrad_v2_workspace_floats(small), 0);
  const Conv2dGeom p = conv2d_geom(4, 3, 16, 16, 5, 3, 3, 1, 1);  // NPQ = 1024
  EXPECT_EQ(conv2d_wgrad_v2_splits(p), 4);
  EXPECT_EQ(conv2d_wgrad_v2_workspace_floats(p), 4 * p.w_size());
  const Conv2dGeom big = conv2d_geom(128, 64, 32, 32, 64, 3, 3, 1, 1);
  EXPECT_LE(conv2d_wgrad_v2_splits(big), 64);
}

// Race check: the output must not depend on the order of a block's threads (one shape with
// ragged tiles in every dimension, every version of every kernel).
TEST(CudaConv2d, RaceFreeEveryVersion) {
  const ConvCase c{"race", 2, 5, 7, 9, 6, 3, 3, 2, 1};
  const Conv2dGeom p = c.params();
  const ConvData d = make_data(c, 77, false);
  DeviceBuffer<float> x(host(d.x)), w(host(d.w)), b(host(d.bias)), dy(host(d.dy));
  DeviceBuffer<float> y(size_t(p.y_size())), dx(size_t(p.x_size())), dw(size_t(p.w_size()));
  DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(p)));
  for (conv2d_fprop_version v : kConv2dFpropVersions) {
    SCOPED_TRACE(conv2d_fprop_version_name(v));
    EXPECT_RACE_FREE(
        [&] {
          y.fill_pattern();
          EXPECT_CUDA_OK(conv2d_fprop(v, p, x.get(), w.get(), b.get(), y.get(), nullptr));
          return y.download();
        },
        0.0);
  }
  {  // v6 with several slices (the shape above has one)
    const ConvCase cs{"race_split", 2, 17, 5, 7, 9, 3, 3, 2, 1};
    const Conv2dGeom ps = cs.params();
    const ConvData ds = make_data(cs, 78, false);
    DeviceBuffer<float> xs(host(ds.x)), ws_(host(ds.w)), bs(host(ds.bias)), ys(size_t(ps.y_size()));
    const auto v6 = conv2d_fprop_version::v6_simt_split_k;
    DeviceBuffer<float> wk(size_t(conv2d_fprop_workspace_floats(v6, ps)));
    ASSERT_GT(conv2d_fprop_splits(ps), 1);
    EXPECT_RACE_FREE(
        [&] {
          ys.fill_pattern();
          EXPECT_CUDA_OK(
              conv2d_fprop(v6, ps, xs.get(), ws_.get(), bs.get(), ys.get(), nullptr, wk.get()));
          return ys.download();
        },
        0.0);
  }
  // fprop v7 and dgrad v6 where they run wgmma (C and K multiples of 16; under emulation, or on an
  // sm_90 GPU): 45–81 slices, so the stores of one stage overlap the products reading the other,
  // and two column tiles of the 128×64 and of the 128×128 tile for each pass.
  for (const ConvCase& cw : {ConvCase{"race_wgmma_128x64", 2, 80, 6, 6, 96, 3, 3, 1, 1},
                             ConvCase{"race_wgmma_128x128", 1, 144, 5, 5, 160, 3, 3, 1, 1}}) {
    SCOPED_TRACE(cw.name);
    const Conv2dGeom pw = cw.params();
    const ConvData dd = make_data(cw, 79, true);
    DeviceBuffer<float> xw(host(dd.x)), ww(host(dd.w)), dyw(host(dd.dy));
    DeviceBuffer<float> yw(size_t(pw.y_size())), dxw(size_t(pw.x_size()));
#if SENET_CUDA_EMULATION
    ASSERT_TRUE(conv2d_fprop_wgmma_runs(pw) && conv2d_dgrad_wgmma_runs(pw));
#endif
    const auto fprop = [&] {
      yw.fill_pattern();
      EXPECT_CUDA_OK(conv2d_fprop(conv2d_fprop_version::v7_tf32_wgmma, pw, xw.get(), ww.get(),
                                  nullptr, yw.get(), nullptr));
      return yw.download();
    };
    const auto dgrad = [&] {
      dxw.fill_pattern();
      EXPECT_CUDA_OK(conv2d_dgrad(conv2d_dgrad_version::v6_tf32_wgmma, pw, dyw.get(), ww.get(),
                                  dxw.get(), nullptr));
      return dxw.download();
    };
    EXPECT_RACE_FREE(fprop, 0.0);
    EXPECT_RACE_FREE(dgrad, 0.0);
    std::vector<float> y_nobias = dd.y_ref;  // integers: exact, whatever the order
    const auto hb = host(dd.bias);
    for (size_t i = 0; i < y_nobias.size(); ++i)
      y_nobias[i] -= hb[size_t(i / size_t(pw.P * pw.Q) % size_t(pw.K))];
    EXPECT_TRUE(bitwise_equal(fprop(), y_nobias));
    EXPECT_TRUE(bitwise_equal(dgrad(), dd.dx_ref));
    if (pw.K >= 128) {  // wgrad v5 (128 rows of dw), over one N·P·Q slice (several:
                        // CudaConv2dWgrad.WideTilesOverSeveralNpqSlicesRaceFree)
      DeviceBuffer<float> dww(size_t(pw.w_size())),
          ws(size_t(conv2d_wgrad_v2_workspace_floats(pw)));
#if SENET_CUDA_EMULATION
      ASSERT_TRUE(conv2d_wgrad_wgmma_runs(pw));
#endif
      const auto wgrad = [&] {
        dww.fill_pattern();
        EXPECT_CUDA_OK(conv2d_wgrad(conv2d_wgrad_version::v5_tf32_wgmma, pw, xw.get(), dyw.get(),
                                    dww.get(), ws.get(), nullptr));
        return dww.download();
      };
      EXPECT_RACE_FREE(wgrad, 0.0);
      EXPECT_TRUE(bitwise_equal(wgrad(), dd.dw_ref));
    }
  }
  for (conv2d_dgrad_version v : kConv2dDgradVersions) {  // (stride 2: v7 runs v5)
    SCOPED_TRACE(conv2d_dgrad_version_name(v));
    DeviceBuffer<float> wk(size_t(conv2d_dgrad_workspace_floats(v, p)));
    EXPECT_RACE_FREE(
        [&] {
          dx.fill_pattern();
          EXPECT_CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr, wk.get()));
          return dx.download();
        },
        0.0);
  }
  {  // dgrad v7 with several slices (80 + 73 through the hoisting gather; the tap-major slices:
     // RaceFreeTapMajorGathers)
    const ConvCase cs{"race_dgrad_split", 3, 9, 5, 7, 17, 3, 3, 1, 1};
    const Conv2dGeom ps = cs.params();
    const ConvData ds = make_data(cs, 80, true);
    DeviceBuffer<float> dys(host(ds.dy)), ws_(host(ds.w)), dxs(size_t(ps.x_size()));
    const auto v7 = conv2d_dgrad_version::v7_simt_split_k;
    DeviceBuffer<float> wk(size_t(conv2d_dgrad_workspace_floats(v7, ps)));
    ASSERT_EQ(conv2d_dgrad_splits(ps), 2);
    expect_race_free_bitwise(
        [&] {
          dxs.fill_pattern();
          EXPECT_CUDA_OK(conv2d_dgrad(v7, ps, dys.get(), ws_.get(), dxs.get(), nullptr, wk.get()));
          return dxs.download();
        },
        ds.dx_ref);
  }
  for (conv2d_wgrad_version v : kConv2dWgradVersions) {
    SCOPED_TRACE(conv2d_wgrad_version_name(v));
    EXPECT_RACE_FREE(
        [&] {
          dw.fill_pattern();
          EXPECT_CUDA_OK(conv2d_wgrad(v, p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
          return dw.download();
        },
        0.0);
  }
}

// The race check on the paths the shape above does not take (C = 5, K = 6), each against the CPU
// reference bitwise (the race check's last run, expect_race_free_bitwise):
// C and K multiples of 16: the tap-major gathers, which decode a thread's A elements once per BK
// slice (kernels/conv_gather_fast.cuh; taken when the reduction's channel count, fprop's C or
// dgrad's K, is a multiple of the tile's BK: 8 SIMT, 16 TF32) — fprop v4 (128×64), v5, and v6 with
// C·R·S = 144 cut into 2 slices of 72; dgrad v3 (128×64), v4, and v5 over the 4 phases of stride 2;
// dgrad v7 on a stride-1 shape whose K·R·S = 144 is cut into 2 slices of 72.
TEST(CudaConv2d, RaceFreeTapMajorGathers) {
  const ConvCase c{"race_tap_major", 1, 16, 7, 6, 16, 3, 3, 2, 1};
  const Conv2dGeom p = c.params();
  const ConvData d = make_data(c, 81, true);
  DeviceBuffer<float> x(host(d.x)), w(host(d.w)), b(host(d.bias)), dy(host(d.dy));
  DeviceBuffer<float> y(size_t(p.y_size())), dx(size_t(p.x_size()));
  ASSERT_EQ(conv2d_fprop_splits(p), 2);
  using FV = conv2d_fprop_version;
  for (FV v : {FV::v4_tf32_mma, FV::v5_simt_128x128, FV::v6_simt_split_k}) {
    SCOPED_TRACE(conv2d_fprop_version_name(v));
    DeviceBuffer<float> ws(size_t(conv2d_fprop_workspace_floats(v, p)));
    expect_race_free_bitwise(
        [&] {
          y.fill_pattern();
          EXPECT_CUDA_OK(conv2d_fprop(v, p, x.get(), w.get(), b.get(), y.get(), nullptr, ws.get()));
          return y.download();
        },
        d.y_ref);
  }
  using DV = conv2d_dgrad_version;
  for (DV v : {DV::v3_tf32_mma, DV::v4_simt_128x128, DV::v5_simt_phases}) {
    SCOPED_TRACE(conv2d_dgrad_version_name(v));
    expect_race_free_bitwise(
        [&] {
          dx.fill_pattern();
          EXPECT_CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr));
          return dx.download();
        },
        d.dx_ref);
  }
  // dgrad v7 at stride 1 (the shape above is strided: v5): K·R·S = 144 in 2 tap-major slices of 72.
  const ConvCase c1{"race_tap_major_split", 1, 6, 5, 6, 16, 3, 3, 1, 1};
  const Conv2dGeom p1 = c1.params();
  const ConvData d1 = make_data(c1, 84, true);
  ASSERT_EQ(conv2d_dgrad_splits(p1), 2);
  DeviceBuffer<float> dy1(host(d1.dy)), w1(host(d1.w)), dx1(size_t(p1.x_size()));
  DeviceBuffer<float> wk(size_t(conv2d_dgrad_workspace_floats(DV::v7_simt_split_k, p1)));
  expect_race_free_bitwise(
      [&] {
        dx1.fill_pattern();
        EXPECT_CUDA_OK(conv2d_dgrad(DV::v7_simt_split_k, p1, dy1.get(), w1.get(), dx1.get(),
                                    nullptr, wk.get()));
        return dx1.download();
      },
      d1.dx_ref);
}

// The mma.sync 128×128 tiles, the main TF32 path of layers with ≥ 128 channels: fprop v4 (K ≥ 128,
// C a multiple of 16: detail::tf32_wide) and dgrad v3 (C ≥ 128, K a multiple of 16), on 1×1
// convs of 3×3 pixels whose reduction (fprop's C, dgrad's K = 48) is 3 slices of BK = 16: both
// shared-memory stages written twice. (wgrad v3's, K ≥ 128: the test below.)
TEST(CudaConv2d, RaceFreeTf32WideTiles) {
  for (const ConvCase& c : {ConvCase{"fprop_128x128", 1, 48, 3, 3, 128, 1, 1, 1, 0},
                            ConvCase{"dgrad_128x128", 1, 128, 3, 3, 48, 1, 1, 1, 0}}) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const bool fprop = p.K >= 128;
    const ConvData d = make_data(c, 82, !fprop);
    DeviceBuffer<float> x(host(d.x)), w(host(d.w)), b(host(d.bias)), dy(host(d.dy));
    DeviceBuffer<float> y(size_t(p.y_size())), dx(size_t(p.x_size()));
    if (fprop) {
      expect_race_free_bitwise(
          [&] {
            y.fill_pattern();
            EXPECT_CUDA_OK(
                conv2d_fprop_v4_tf32_mma(p, x.get(), w.get(), b.get(), y.get(), nullptr));
            return y.download();
          },
          d.y_ref);
    } else {
      expect_race_free_bitwise(
          [&] {
            dx.fill_pattern();
            EXPECT_CUDA_OK(conv2d_dgrad_v3_tf32_mma(p, dy.get(), w.get(), dx.get(), nullptr));
            return dx.download();
          },
          d.dx_ref);
    }
  }
}

// fprop v8/v9 and dgrad v8/v9 over several slices, race-checked, each against the CPU reference
// bitwise (integers): the hoisting gathers on the 128×64 tile with ragged slices (fprop C = 17:
// C·R·S = 153 = 80 + 73; dgrad K = 24: K·R·S = 216 = 80 + 80 + 56), and the tap-major ones on
// both tiles (C or K = 32: 288 = 3 · 80 + 48), where v9 runs wgmma.
TEST(CudaConv2d, RaceFreeTf32SplitK) {
  using FV = conv2d_fprop_version;
  using DV = conv2d_dgrad_version;
  const ConvCase cases[] = {{"fprop_hoisting_s2", 2, 17, 5, 7, 9, 3, 3, 2, 1},
                            {"fprop_tap_128x64", 1, 32, 3, 3, 40, 3, 3, 1, 1},
                            {"fprop_tap_128x128", 1, 32, 3, 3, 128, 3, 3, 1, 1},
                            {"dgrad_hoisting", 2, 10, 6, 6, 24, 3, 3, 1, 1},
                            {"dgrad_tap_128x128", 1, 128, 3, 3, 32, 3, 3, 1, 1}};
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const bool fprop = std::string(c.name).rfind("fprop", 0) == 0;
    const ConvData d = make_data(c, 83, !fprop);
    DeviceBuffer<float> x(host(d.x)), w(host(d.w)), b(host(d.bias)), dy(host(d.dy));
    DeviceBuffer<float> y(size_t(p.y_size())), dx(size_t(p.x_size()));
    for (bool wgmma : {false, true}) {
      SCOPED_TRACE(wgmma ? "v9" : "v8");
      if (fprop) {
        const FV v = wgmma ? FV::v9_tf32_wgmma_split_k : FV::v8_tf32_split_k;
        ASSERT_GT(conv2d_fprop_splits(p, v), 1);
        DeviceBuffer<float> wk(size_t(conv2d_fprop_workspace_floats(v, p)));
        expect_wgmma(wgmma && conv2d_fprop_wgmma_runs(p), [&] {
          expect_race_free_bitwise(
              [&] {
                y.fill_pattern();
                EXPECT_CUDA_OK(
                    conv2d_fprop(v, p, x.get(), w.get(), b.get(), y.get(), nullptr, wk.get()));
                return y.download();
              },
              d.y_ref);
        });
        EXPECT_TRUE(y.guard_intact());
      } else {
        const DV v = wgmma ? DV::v9_tf32_wgmma_split_k : DV::v8_tf32_split_k;
        ASSERT_GT(conv2d_dgrad_splits(p, v), 1);
        DeviceBuffer<float> wk(size_t(conv2d_dgrad_workspace_floats(v, p)));
        expect_wgmma(wgmma && conv2d_dgrad_wgmma_runs(p), [&] {
          expect_race_free_bitwise(
              [&] {
                dx.fill_pattern();
                EXPECT_CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr, wk.get()));
                return dx.download();
              },
              d.dx_ref);
        });
        EXPECT_TRUE(dx.guard_intact());
      }
    }
  }
}

// dgrad v10/v11, the stride phases on the TF32 tiles (and v8/v9 handing strided convs to them),
// race-checked, each against the CPU reference bitwise (integers; K a multiple of 16: tap-major):
// a 3×3 stride 2 on 128×64 whose phases span one or two row blocks (H·W = 529: phase rows 144,
// 132, 132, 121 — the grid's second row of blocks has nothing to do in the last) and two column
// blocks (C = 80); one on the 128×128 (wgmma) tile; 1×1
// stride 2 (three phases without a tap: zeros written); stride 3 (9 phases) and stride 4 on a 3×3
// map (16 phases, most without a row: blocks with nothing to do). K = 24 runs v3 itself.
TEST(CudaConv2d, RaceFreeTf32Phases) {
  using DV = conv2d_dgrad_version;
  const ConvCase cases[] = {{"rows_cols_128x64_s2", 1, 80, 23, 23, 16, 3, 3, 2, 1},
                            {"tap_128x128_s2", 1, 128, 5, 5, 32, 3, 3, 2, 1},
                            {"tap_1x1_s2", 2, 24, 6, 6, 16, 1, 1, 2, 0},
                            {"s3_9_phases", 1, 20, 8, 7, 16, 3, 3, 3, 1},
                            {"s4_empty_phases", 1, 128, 3, 3, 16, 3, 3, 4, 1},
                            {"k24_runs_v3", 1, 8, 6, 6, 24, 3, 3, 2, 1}};
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const ConvData d = make_data(c, 84, true);
    DeviceBuffer<float> w(host(d.w)), dy(host(d.dy)), dx(size_t(p.x_size()));
    for (DV v : {DV::v10_tf32_phases, DV::v11_tf32_wgmma_phases, DV::v8_tf32_split_k,
                 DV::v9_tf32_wgmma_split_k}) {
      SCOPED_TRACE(conv2d_dgrad_version_name(v));
      // v8, v9 run v10, v11 on a strided conv: no workspace
      ASSERT_EQ(conv2d_dgrad_workspace_floats(v, p), 0);
      const bool wgmma = (v == DV::v11_tf32_wgmma_phases || v == DV::v9_tf32_wgmma_split_k) &&
                         conv2d_dgrad_wgmma_runs(p);
      const auto run = [&] {
        dx.fill_pattern();
        EXPECT_CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr));
        return dx.download();
      };
      expect_wgmma(wgmma, [&] {
        if (v == DV::v10_tf32_phases || v == DV::v11_tf32_wgmma_phases)
          expect_race_free_bitwise(run, d.dx_ref);
        else  // the hand-over: the same launches, checked once
          EXPECT_TRUE(bitwise_equal(run(), d.dx_ref));
      });
      EXPECT_TRUE(dx.guard_intact());
    }
  }
}

// wgrad's 128×128 tiles (v3's mma.sync, v5's wgmma where it runs) over several N·P·Q slices: each
// slice's partial dw into the workspace, then their in-order sum. N·P·Q = 17·17 = 289 > 256: 2
// slices (152 + 137: both ragged in BK = 16).
TEST(CudaConv2dWgrad, WideTilesOverSeveralNpqSlicesRaceFree) {
  const ConvCase c{"wgrad_wide_split", 1, 2, 17, 17, 128, 3, 3, 1, 1};
  const Conv2dGeom p = c.params();
  const ConvData d = make_data(c, 83, true);
  ASSERT_EQ(conv2d_wgrad_v2_splits(p), 2);
  DeviceBuffer<float> x(host(d.x)), dy(host(d.dy)), dw(size_t(p.w_size()));
  DeviceBuffer<float> ws(size_t(conv2d_wgrad_v2_workspace_floats(p)));
  for (const bool wgmma : {false, true}) {
    if (wgmma && !conv2d_wgrad_wgmma_runs(p)) continue;
    SCOPED_TRACE(wgmma ? "v5_tf32_wgmma" : "v3_tf32_split_k");
    const auto v =
        wgmma ? conv2d_wgrad_version::v5_tf32_wgmma : conv2d_wgrad_version::v3_tf32_split_k;
    expect_wgmma(wgmma, [&] {
      expect_race_free_bitwise(
          [&] {
            dw.fill_pattern();
            EXPECT_CUDA_OK(conv2d_wgrad(v, p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
            return dw.download();
          },
          d.dw_ref);
    });
    EXPECT_TRUE(dw.guard_intact() && ws.guard_intact());
  }
}

TEST(CudaConv2d, LaunchersRejectBadParams) {
  const Conv2dGeom good = conv2d_geom(1, 2, 5, 5, 3, 3, 3, 1, 1);
  DeviceBuffer<float> x(size_t(good.x_size())), w(size_t(good.w_size())), y(size_t(good.y_size()));
  std::vector<Conv2dGeom> bad;
  Conv2dGeom q = good;
  q.N = 0, bad.push_back(q);
  q = good, q.C = -1, bad.push_back(q);
  q = good, q.stride = 0, bad.push_back(q);
  q = good, q.pad = -1, bad.push_back(q);
  q = good, q.P = good.P + 1, bad.push_back(q);           // inconsistent output size
  bad.push_back(conv2d_geom(1, 2, 2, 2, 3, 5, 5, 1, 0));  // kernel larger than input
  for (const Conv2dGeom& b : bad) {
    for (conv2d_fprop_version v : kConv2dFpropVersions)
      EXPECT_EQ(conv2d_fprop(v, b, x.get(), w.get(), nullptr, y.get(), nullptr),
                cudaErrorInvalidValue);
    for (conv2d_dgrad_version v : kConv2dDgradVersions)
      EXPECT_EQ(conv2d_dgrad(v, b, y.get(), w.get(), x.get(), nullptr), cudaErrorInvalidValue);
    for (conv2d_wgrad_version v : kConv2dWgradVersions)
      EXPECT_EQ(conv2d_wgrad(v, b, x.get(), y.get(), w.get(), nullptr, nullptr),
                cudaErrorInvalidValue);
  }
  for (conv2d_fprop_version v : kConv2dFpropVersions) {  // null pointers
    EXPECT_EQ(conv2d_fprop(v, good, nullptr, w.get(), nullptr, y.get(), nullptr),
              cudaErrorInvalidValue);
    EXPECT_EQ(conv2d_fprop(v, good, x.get(), w.get(), nullptr, nullptr, nullptr),
              cudaErrorInvalidValue);
  }
  {  // fprop v6, v8, v9 with several slices need their workspace
    using V = conv2d_fprop_version;
    const Conv2dGeom split = conv2d_geom(2, 24, 6, 6, 10, 3, 3, 1, 1);
    DeviceBuffer<float> xs(size_t(split.x_size())), ws(size_t(split.w_size())),
        ys(size_t(split.y_size()));
    for (V v : {V::v6_simt_split_k, V::v8_tf32_split_k, V::v9_tf32_wgmma_split_k}) {
      ASSERT_GT(conv2d_fprop_splits(split, v), 1) << conv2d_fprop_version_name(v);
      EXPECT_EQ(conv2d_fprop(v, split, xs.get(), ws.get(), nullptr, ys.get(), nullptr, nullptr),
                cudaErrorInvalidValue)
          << conv2d_fprop_version_name(v);
    }
  }
  {  // dgrad v7, v8, v9 with several slices need their workspace
    using V = conv2d_dgrad_version;
    const Conv2dGeom split = conv2d_geom(2, 10, 6, 6, 24, 3, 3, 1, 1);
    DeviceBuffer<float> dys(size_t(split.y_size())), ws(size_t(split.w_size())),
        dxs(size_t(split.x_size()));
    for (V v : {V::v7_simt_split_k, V::v8_tf32_split_k, V::v9_tf32_wgmma_split_k}) {
      ASSERT_GT(conv2d_dgrad_splits(split, v), 1) << conv2d_dgrad_version_name(v);
      EXPECT_EQ(conv2d_dgrad(v, split, dys.get(), ws.get(), dxs.get(), nullptr, nullptr),
                cudaErrorInvalidValue)
          << conv2d_dgrad_version_name(v);
    }
  }
  // wgrad v2 with several slices needs its workspace.
  const Conv2dGeom split = conv2d_geom(4, 3, 16, 16, 5, 3, 3, 1, 1);
  DeviceBuffer<float> xs(size_t(split.x_size())), dys(size_t(split.y_size())),
      dws(size_t(split.w_size()));
  EXPECT_EQ(conv2d_wgrad_v2_split_k(split, xs.get(), dys.get(), dws.get(), nullptr, nullptr),
            cudaErrorInvalidValue);
  EXPECT_TRUE(y.guard_intact());
}

// TF32 versions on random normal data, per element against a double-precision reference:
//   |tf32 − ref| ≤ (2⁻¹⁰ + 2⁻²² + L·2⁻²⁴)·Σ|a·b|
// (an operand rounded to TF32 moves by ≤ 2⁻¹¹ of itself, so a product by ≤ 2⁻¹⁰ + 2⁻²²; the fp32
// sum of the L = GEMM-depth terms adds ≤ L·2⁻²⁴·Σ|a·b|). Also prints max|Δ|/max|ref| for the TF32
// and the FP32 versions, the figure kernels/README.md quotes, and bounds the TF32 one by 1e-3.
namespace {
struct DoubleConv {
  std::vector<double> y, dx, dw;              // conv, dgrad, wgrad in double
  std::vector<double> y_mag, dx_mag, dw_mag;  // the same sums of |a·b|
};
DoubleConv double_conv(const Conv2dGeom& p, const std::vector<float>& x,
                       const std::vector<float>& w, const std::vector<float>& dy) {
  DoubleConv d;
  d.y.assign(size_t(p.y_size()), 0), d.y_mag.assign(size_t(p.y_size()), 0);
  d.dx.assign(size_t(p.x_size()), 0), d.dx_mag.assign(size_t(p.x_size()), 0);
  d.dw.assign(size_t(p.w_size()), 0), d.dw_mag.assign(size_t(p.w_size()), 0);
  for (int n = 0; n < p.N; ++n)
    for (int k = 0; k < p.K; ++k)
      for (int pp = 0; pp < p.P; ++pp)
        for (int q = 0; q < p.Q; ++q) {
          const size_t yi = size_t(((int64_t(n) * p.K + k) * p.P + pp) * p.Q + q);
          for (int c = 0; c < p.C; ++c)
            for (int r = 0; r < p.R; ++r)
              for (int s = 0; s < p.S; ++s) {
                const int h = pp * p.stride - p.pad + r, ww = q * p.stride - p.pad + s;
                if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
                const size_t xi = size_t(((int64_t(n) * p.C + c) * p.H + h) * p.W + ww);
                const size_t wi = size_t(((int64_t(k) * p.C + c) * p.R + r) * p.S + s);
                const double xv = x[xi], wv = w[wi], gv = dy[yi];
                d.y[yi] += xv * wv, d.y_mag[yi] += std::fabs(xv * wv);
                d.dx[xi] += gv * wv, d.dx_mag[xi] += std::fabs(gv * wv);
                d.dw[wi] += gv * xv, d.dw_mag[wi] += std::fabs(gv * xv);
              }
        }
  return d;
}
// Every element within the bound; returns max|Δ|/max|ref|.
double check_tf32_bound(const char* what, const std::vector<float>& got,
                        const std::vector<double>& ref, const std::vector<double>& mag, int64_t L) {
  const double c = 0x1p-10 + 0x1p-22 + double(L) * 0x1p-24;
  double worst = 0, scale = 0;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - ref[i]);
    worst = std::max(worst, d), scale = std::max(scale, std::fabs(ref[i]));
    if (!(d <= c * mag[i]) && bad++ < 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", reference " << ref[i] << ": |Δ| "
                    << d << " > bound " << c * mag[i];
  }
  return scale > 0 ? worst / scale : worst;
}
double rel_to_max(const std::vector<float>& got, const std::vector<double>& ref) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::fabs(double(got[i]) - ref[i])),
    scale = std::max(scale, std::fabs(ref[i]));
  return scale > 0 ? worst / scale : worst;
}
}  // namespace

namespace {
// Random x, w, dy (uniform in [−1, 1)) and the double-precision conv of them.
struct RandomConv {
  std::vector<float> x, w, dy;
  DoubleConv ref;
};
RandomConv random_conv(const ConvCase& c, uint64_t seed) {
  const Conv2dGeom p = c.params();
  RandomConv r;
  r.x = host(senet::test::random_tensor({c.N, c.C, c.H, c.W}, seed));
  r.w = host(senet::test::random_tensor({c.K, c.C, c.R, c.S}, seed + 1));
  r.dy = host(senet::test::random_tensor({c.N, c.K, p.P, p.Q}, seed + 2));
  r.ref = double_conv(p, r.x, r.w, r.dy);
  return r;
}
}  // namespace

// Issue 16 item 2's stated tolerance: on random data every TF32 version (the split-K v8, v9 too)
// is within 5e-4 of the FP32 path, max|Δ| over max|y_fp32| per tensor (TF32 keeps 10 of fp32's 23 mantissa bits: its unit
// roundoff 2⁻¹¹ ≈ 4.9e-4 bounds one operand's relative error; over a dot product of random signs
// the output's stays below it — measured 2.7–3.8e-4 here). And every element within the rigorous
// bound of check_tf32_bound against the double-precision conv.
TEST(CudaConv2dTf32, RandomDataWithinTheTf32Bound) {
  constexpr double kTf32VsFp32 = 5e-4;
  auto as_double = [](const std::vector<float>& v) {
    return std::vector<double>(v.begin(), v.end());
  };
  uint64_t seed = 3000;
  double worst = 0;
  for (const ConvCase& c : model_conv_cases()) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const RandomConv rc = random_conv(c, seed += 10);
    const DoubleConv& ref = rc.ref;
    DeviceBuffer<float> x(rc.x), w(rc.w), dy(rc.dy), y(size_t(p.y_size())), dx(size_t(p.x_size())),
        dw(size_t(p.w_size())), ws(size_t(conv2d_wgrad_v2_workspace_floats(p)));
    // One TF32 result: its per-element bound against double, and max|Δ|/max|fp32| against fp32.
    auto tf32 = [&](const char* what, const std::vector<float>& got, const std::vector<double>& d,
                    const std::vector<double>& mag, int64_t L, const std::vector<double>& fp32) {
      check_tf32_bound(what, got, d, mag, L);
      const double e = rel_to_max(got, fp32);
      worst = std::max(worst, e);
      EXPECT_LE(e, kTf32VsFp32) << what;
      return e;
    };

    CUDA_OK(conv2d_fprop_v3_register_block(p, x.get(), w.get(), nullptr, y.get(), nullptr));
    const std::vector<double> y32 = as_double(y.download());
    CUDA_OK(conv2d_fprop_v4_tf32_mma(p, x.get(), w.get(), nullptr, y.get(), nullptr));
    const double fprop_tf32 = tf32("y", y.download(), ref.y, ref.y_mag, p.gemm_k(), y32);
    CUDA_OK(conv2d_fprop_v7_tf32_wgmma(p, x.get(), w.get(), nullptr, y.get(), nullptr));
    const double fprop_wgmma = tf32("y", y.download(), ref.y, ref.y_mag, p.gemm_k(), y32);
    // v8, v9: the slices' chains and their in-order sum, ≤ 16 more fp32 roundings per element
    DeviceBuffer<float> wk_f(
        size_t(conv2d_fprop_workspace_floats(conv2d_fprop_version::v8_tf32_split_k, p) + 1));
    CUDA_OK(
        conv2d_fprop_v8_tf32_split_k(p, x.get(), w.get(), nullptr, y.get(), wk_f.get(), nullptr));
    tf32("y v8", y.download(), ref.y, ref.y_mag, p.gemm_k() + 16, y32);
    CUDA_OK(conv2d_fprop_v9_tf32_wgmma_split_k(p, x.get(), w.get(), nullptr, y.get(), wk_f.get(),
                                               nullptr));
    tf32("y v9", y.download(), ref.y, ref.y_mag, p.gemm_k() + 16, y32);

    const int64_t krs = int64_t(p.K) * p.R * p.S;
    CUDA_OK(conv2d_dgrad_v2_register_block(p, dy.get(), w.get(), dx.get(), nullptr));
    const std::vector<double> dx32 = as_double(dx.download());
    CUDA_OK(conv2d_dgrad_v3_tf32_mma(p, dy.get(), w.get(), dx.get(), nullptr));
    const double dgrad_tf32 = tf32("dx", dx.download(), ref.dx, ref.dx_mag, krs, dx32);
    CUDA_OK(conv2d_dgrad_v6_tf32_wgmma(p, dy.get(), w.get(), dx.get(), nullptr));
    const double dgrad_wgmma = tf32("dx", dx.download(), ref.dx, ref.dx_mag, krs, dx32);
    DeviceBuffer<float> wk_d(
        size_t(conv2d_dgrad_workspace_floats(conv2d_dgrad_version::v8_tf32_split_k, p) + 1));
    CUDA_OK(conv2d_dgrad_v8_tf32_split_k(p, dy.get(), w.get(), dx.get(), wk_d.get(), nullptr));
    tf32("dx v8", dx.download(), ref.dx, ref.dx_mag, krs + 16, dx32);
    CUDA_OK(
        conv2d_dgrad_v9_tf32_wgmma_split_k(p, dy.get(), w.get(), dx.get(), wk_d.get(), nullptr));
    tf32("dx v9", dx.download(), ref.dx, ref.dx_mag, krs + 16, dx32);

    CUDA_OK(conv2d_wgrad_v2_split_k(p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
    const std::vector<double> dw32 = as_double(dw.download());
    CUDA_OK(conv2d_wgrad_v3_tf32_split_k(p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
    const double wgrad_tf32 = tf32("dw", dw.download(), ref.dw, ref.dw_mag, p.gemm_m(), dw32);
    CUDA_OK(conv2d_wgrad_v5_tf32_wgmma(p, x.get(), dy.get(), dw.get(), ws.get(), nullptr));
    const double wgrad_wgmma = tf32("dw", dw.download(), ref.dw, ref.dw_mag, p.gemm_m(), dw32);

    std::printf(
        "  %-34s max|Δ|/max|fp32|  fprop %.1e (wgmma %.1e) dgrad %.1e (wgmma %.1e) "
        "wgrad %.1e (wgmma %.1e);  FP32 vs double: %.1e %.1e %.1e\n",
        c.name, fprop_tf32, fprop_wgmma, dgrad_tf32, dgrad_wgmma, wgrad_tf32, wgrad_wgmma,
        rel_to_max(std::vector<float>(y32.begin(), y32.end()), ref.y),
        rel_to_max(std::vector<float>(dx32.begin(), dx32.end()), ref.dx),
        rel_to_max(std::vector<float>(dw32.begin(), dw32.end()), ref.dw));
  }
  std::printf("  worst TF32 vs FP32: %.2e (stated tolerance %.0e)\n", worst, kTf32VsFp32);
}

// The FP32 fprop loops on random data against a double reference: each output is one fp32 chain
// (v6: one chain per slice, then the slices summed in order), so |Δ| ≤ (CRS + splits)·2⁻²⁴·Σ|w·x|
// per element; measured ≤ 1e-6 of max|y|, the test allows 1e-5.
TEST(CudaConv2dFprop, Fp32VersionsOnRandomDataAgainstDouble) {
  uint64_t seed = 4000;
  double worst = 0;
  std::vector<ConvCase> cases = model_conv_cases();
  cases.push_back({"fprop_split_k_3_slices", 2, 24, 6, 6, 10, 3, 3, 1, 1});
  cases.push_back({"fprop_split_k_ragged", 3, 17, 5, 7, 9, 3, 3, 2, 1});
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const RandomConv rc = random_conv(c, seed += 10);
    const DoubleConv& ref = rc.ref;
    DeviceBuffer<float> x(rc.x), w(rc.w), y(size_t(p.y_size()));
    for (conv2d_fprop_version v :
         {conv2d_fprop_version::v3_register_block, conv2d_fprop_version::v5_simt_128x128,
          conv2d_fprop_version::v6_simt_split_k}) {
      SCOPED_TRACE(conv2d_fprop_version_name(v));
      DeviceBuffer<float> ws(size_t(conv2d_fprop_workspace_floats(v, p)));
      CUDA_OK(conv2d_fprop(v, p, x.get(), w.get(), nullptr, y.get(), nullptr, ws.get()));
      const double e = rel_to_max(y.download(), ref.y);
      worst = std::max(worst, e);
      EXPECT_LE(e, 1e-5);
    }
  }
  std::printf("  FP32 fprop v3, v5, v6: worst max|Δ|/max|ref| %.1e\n", worst);
}

// dgrad v4 (every tap, the zeros between strided outputs included), v5 (per stride phase, only
// the taps that exist) and v7 (split-K: one chain per slice, the slices summed in order) on random
// data against a double reference: |Δ| ≤ (K·R·S + splits)·2⁻²⁴·Σ|dy·w| per element; measured
// ≤ 1e-6 of max|dx|, the test allows 1e-5.
TEST(CudaConv2dDgrad, Fp32VersionsOnRandomDataAgainstDouble) {
  uint64_t seed = 5000;
  double worst = 0;
  std::vector<ConvCase> cases = model_conv_cases();
  for (const ConvCase& c : dgrad_stride_cases()) cases.push_back(c);
  for (const ConvCase& c : dgrad_split_cases()) cases.push_back(c);
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
    const RandomConv rc = random_conv(c, seed += 10);
    const DoubleConv& ref = rc.ref;
    DeviceBuffer<float> w(rc.w), dy(rc.dy), dx(size_t(p.x_size()));
    for (conv2d_dgrad_version v :
         {conv2d_dgrad_version::v4_simt_128x128, conv2d_dgrad_version::v5_simt_phases,
          conv2d_dgrad_version::v7_simt_split_k}) {
      SCOPED_TRACE(conv2d_dgrad_version_name(v));
      DeviceBuffer<float> ws(size_t(conv2d_dgrad_workspace_floats(v, p)));
      dx.fill_pattern();
      CUDA_OK(conv2d_dgrad(v, p, dy.get(), w.get(), dx.get(), nullptr, ws.get()));
      const double e = rel_to_max(dx.download(), ref.dx);
      worst = std::max(worst, e);
      EXPECT_LE(e, 1e-5);
      EXPECT_TRUE(dx.guard_intact());
    }
  }
  std::printf("  FP32 dgrad v4, v5, v7: worst max|Δ|/max|ref| %.1e\n", worst);
}
