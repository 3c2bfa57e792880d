// tests/kernels/test_kernels_conv_bn_mrelu.cu — the fused conv → BatchNorm → masked ReLU kernels:
// training forward (conv with BN partials in its epilogue → bn_finalize → scale_shift_mrelu),
// training backward (mrelu_bn_bwd → dgrad → wgrad) and the folded inference kernel, against the
// CPU op engine/ops/conv_bn_act.h: values, running stats AND gradients (copied to the host).
//
// x and w are integers in [−8, 8], so y = conv(x, w) is exact on both sides (checked bitwise) and
// every difference comes from the BN statistics' summation order.
// Tolerances: training, |gpu − cpu| ≤ 1e-5·max|cpu| + 1e-5·|cpu| for a, running stats, dx, dw —
//   μ, σ² differ in the last fp32 bits (GPU: 128-row block partials, double Chan merge; CPU: per
//   image group), and dx, dw are dgrad/wgrad of a dy carrying those differences; measured worst
//   1.3e-6 of max|ref|. dγ, dβ: 5e-5, reductions that cancel (see tests/kernels/test_kernels_bn.cu).
//   Inference: 1e-5 as well: folding rounds w·γ/σ once per weight (2⁻²⁴ relative) and the conv
//   then sums C·R·S such terms; measured worst 7e-7 of max|a|.
// TF32 (params.tf32, the conv on tensor cores): the integer inputs are TF32 values, so in training
//   y is still bitwise equal and every tolerance above holds unchanged. Inference convolves the FOLDED weights, which are not TF32 values: each is rounded by
//   ≤ 2⁻¹¹ of itself, so |Δa| ≤ 2⁻¹¹·Σ|x·w_folded| — kTolTf32Infer = 1e-3 of max|a|.
// wgmma (params.wgmma: the TF32 conv on Hopper's warpgroup MMA where it runs — C a multiple of 16;
//   always under the emulation, kernels/wgmma_available.h): the TF32 tolerances; the model layers
//   are the shapes where it runs, and emu::wgmma_commits() shows that it did.
#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/cpu/conv2d.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv_bn_act.h"
#include "kernels/conv2d_fprop.h"
#include "kernels/conv_bn_mrelu_fwd.h"
#include "kernels/emu/race_check.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/scale_shift_mrelu.h"
#include "tests/kernels/act_cases.h"
#include "tests/kernels/conv_cases.h"
#include "tests/kernels/cuda_test.h"
#include "tests/support/gradcheck.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using senet::test::random_int_tensor;
using senet::test::random_tensor;

namespace conv_bn_mrelu_tests {  // named: the test binaries are unity builds (tests/CMakeLists.txt)

constexpr double kTol = 1e-5;           // see the file header
constexpr double kTolReduce = 5e-5;     // dγ, dβ: see the file header
constexpr double kTolTf32Infer = 1e-3;  // TF32 inference: see the file header

Tensor random_mask(const Shape& shape, uint64_t seed) {
  std::vector<uint8_t> m(size_t(shape.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(rand_below(seed, 5, i, 2));
  return Tensor::from_vector_u8(m, shape);
}

struct Inputs {
  Tensor x, w, g, b, rm, rv, mask, da, res;
};
Inputs make_inputs(const ConvCase& c, const ActCase& ac, uint64_t seed) {
  const Conv2dGeom p = c.params();
  Inputs in;
  in.x = random_int_tensor({c.N, c.C, c.H, c.W}, seed, -8, 8);
  in.w = random_int_tensor({c.K, c.C, c.R, c.S}, seed + 1, -8, 8);
  in.g = random_tensor({c.K}, seed + 2);
  in.b = random_tensor({c.K}, seed + 3);
  in.rm = random_tensor({c.K}, seed + 4, 10.0f);
  in.rv = Tensor::full({c.K}, 40.0f);
  if (ac.act == Act::MaskedReLU)
    in.mask =
        ac.per_channel ? random_mask({c.K}, seed + 5) : random_mask({c.K, p.P, p.Q}, seed + 5);
  in.da = random_tensor({c.N, c.K, p.P, p.Q}, seed + 6);
  in.res = random_tensor({c.N, c.K, p.P, p.Q}, seed + 7);
  return in;
}

// The conv's math: FP32, TF32 on mma.sync, or TF32 on wgmma (params.tf32, params.wgmma).
enum class Math { fp32, tf32, wgmma };
const char* math_name(Math m) {
  return m == Math::fp32 ? "fp32" : m == Math::tf32 ? "tf32" : "wgmma";
}

conv_bn_mrelu_fwd_params fused_params(const ConvCase& c, const ActCase& ac,
                                      Math math = Math::fp32) {
  conv_bn_mrelu_fwd_params fp;
  fp.conv = c.params();
  fp.act = ac.act;
  fp.mask_per_channel = ac.per_channel;
  fp.tf32 = math != Math::fp32;
  fp.wgmma = math == Math::wgmma;
  return fp;
}

bool runs_wgmma(Math math, const Conv2dGeom& p) {
  return math == Math::wgmma && conv2d_fprop_wgmma_runs(p);
}

// The device side of one fused forward + backward.
struct FusedGpu {
  Conv2dGeom p;
  DeviceBuffer<float> x, w, g, b, rm, rv, y, mean, invstd, scale, shift, a, fws;
  DeviceBuffer<uint8_t> mask;
  DeviceBuffer<uint32_t> bits;
  DeviceBuffer<float> da, dy, dx, dw, dg, db, bws;
  DeviceBuffer<float> res, dres;  // the residual (a block's second conv) and its gradient
  bool with_res = false;
  FusedGpu(const Conv2dGeom& p_, const Inputs& in)
      : p(p_),
        x(host(in.x)),
        w(host(in.w)),
        g(host(in.g)),
        b(host(in.b)),
        rm(host(in.rm)),
        rv(host(in.rv)),
        y(size_t(p.y_size())),
        mean(size_t(p.K)),
        invstd(size_t(p.K)),
        scale(size_t(p.K)),
        shift(size_t(p.K)),
        a(size_t(p.y_size())),
        fws(size_t(conv_bn_mrelu_fwd_workspace_floats(p))),
        mask(in.mask.defined() ? host_u8(in.mask) : std::vector<uint8_t>(1, 1)),
        bits(size_t(pass_bits_words(p.y_size()))),
        da(host(in.da)),
        dy(size_t(p.y_size())),
        dx(size_t(p.x_size())),
        dw(size_t(p.w_size())),
        dg(size_t(p.K)),
        db(size_t(p.K)),
        bws(size_t(conv_bn_mrelu_bwd_workspace_floats(p))),
        res(host(in.res)),
        dres(size_t(p.y_size())) {}
  conv_bn_mrelu_fwd_tensors fwd_tensors(bool running) {
    conv_bn_mrelu_fwd_tensors t;
    t.x = x.get(), t.w = w.get(), t.gamma = g.get(), t.beta = b.get(), t.mask = mask.get();
    t.running_mean = running ? rm.get() : nullptr, t.running_var = running ? rv.get() : nullptr;
    t.y = y.get(), t.mean = mean.get(), t.invstd = invstd.get(), t.scale = scale.get();
    t.shift = shift.get(), t.a = a.get(), t.bits = bits.get(), t.workspace = fws.get();
    t.residual = with_res ? res.get() : nullptr;
    return t;
  }
  conv_bn_mrelu_bwd_tensors bwd_tensors(bool with_bits) {
    conv_bn_mrelu_bwd_tensors t;
    t.x = x.get(), t.w = w.get(), t.da = da.get(), t.bits = with_bits ? bits.get() : nullptr;
    t.y = y.get(), t.mean = mean.get(), t.invstd = invstd.get(), t.gamma = g.get();
    t.dy = dy.get(), t.dx = dx.get(), t.dw = dw.get(), t.dgamma = dg.get(), t.dbeta = db.get();
    t.workspace = bws.get();
    t.dresidual = with_res ? dres.get() : nullptr;
    return t;
  }
};

// with_res: a = act(BN(conv) + r), the residual block's second conv; dr = dz checked too.
void check_training(const ConvCase& c, const ActCase& ac, uint64_t seed, Math math = Math::fp32,
                    bool with_res = false) {
  SCOPED_TRACE(std::string(c.name) + " " + ac.name + " " + math_name(math) +
               (with_res ? " residual" : ""));
  const Conv2dGeom p = c.params();
  const Inputs in = make_inputs(c, ac, seed);
  // CPU oracle: the fused op through the tape.
  Tensor x1 = in.x.clone().set_requires_grad(true), w1 = in.w.clone().set_requires_grad(true);
  Tensor g1 = in.g.clone().set_requires_grad(true), b1 = in.b.clone().set_requires_grad(true);
  Tensor r1 = with_res ? in.res.clone().set_requires_grad(true) : Tensor();
  BatchNormState st;
  st.running_mean = in.rm.clone(), st.running_var = in.rv.clone();
  Tensor a_ref = conv_bn_act(x1, w1, g1, b1, st, true, ac.act, in.mask, c.stride, c.pad, r1);
  a_ref.backward(in.da);
  std::vector<float> y_ref(size_t(p.y_size()));
  cpu::conv2d_reference(cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad),
                        in.x.data<float>(), in.w.data<float>(), nullptr, y_ref.data());

  FusedGpu d(p, in);
  d.with_res = with_res;
  expect_wgmma(runs_wgmma(math, p), [&] {
    CUDA_OK(conv_bn_mrelu_fwd_train(fused_params(c, ac, math), d.fwd_tensors(true), nullptr));
  });
  EXPECT_TRUE(bitwise_equal(d.y.download(), y_ref)) << "y (exact integers)";
  EXPECT_TRUE(close(d.a.download(), host(a_ref), kTol, kTol)) << "a";
  EXPECT_TRUE(close(d.rm.download(), host(st.running_mean), kTol, kTol)) << "running_mean";
  EXPECT_TRUE(close(d.rv.download(), host(st.running_var), kTol, kTol)) << "running_var";

  CUDA_OK(conv_bn_mrelu_bwd(p, d.bwd_tensors(ac.act != Act::None), nullptr));
  EXPECT_TRUE(close(d.dx.download(), host(x1.grad()), kTol, kTol)) << "dx";
  EXPECT_TRUE(close(d.dw.download(), host(w1.grad()), kTol, kTol)) << "dw";
  EXPECT_TRUE(close(d.dg.download(), host(g1.grad()), kTolReduce, kTolReduce)) << "dgamma";
  EXPECT_TRUE(close(d.db.download(), host(b1.grad()), kTolReduce, kTolReduce)) << "dbeta";
  if (with_res) {
    EXPECT_TRUE(close(d.dres.download(), host(r1.grad()), kTol, kTol)) << "dresidual";
  }
  EXPECT_TRUE(d.y.guard_intact() && d.a.guard_intact() && d.bits.guard_intact() &&
              d.dx.guard_intact() && d.dw.guard_intact() && d.dres.guard_intact());
}

void check_inference(const ConvCase& c, const ActCase& ac, uint64_t seed, Math math = Math::fp32,
                     bool with_res = false) {
  SCOPED_TRACE(std::string(c.name) + " " + ac.name + " inference " + math_name(math) +
               (with_res ? " residual" : ""));
  const Conv2dGeom p = c.params();
  const Inputs in = make_inputs(c, ac, seed);
  BatchNormState st;
  st.running_mean = in.rm.clone(), st.running_var = in.rv.clone();
  const Tensor a_ref = conv_bn_act(in.x, in.w, in.g, in.b, st, false, ac.act, in.mask, c.stride,
                                   c.pad, with_res ? in.res : Tensor());
  FusedGpu d(p, in);
  DeviceBuffer<float> wf(size_t(p.w_size())), bf(size_t(p.K));
  CUDA_OK(conv_bn_fold(p, 1e-5f, d.w.get(), d.g.get(), d.b.get(), d.rm.get(), d.rv.get(), wf.get(),
                       bf.get(), nullptr));
  expect_wgmma(runs_wgmma(math, p), [&] {
    CUDA_OK(conv_bn_mrelu_infer(fused_params(c, ac, math), d.x.get(), wf.get(), bf.get(),
                                d.mask.get(), d.a.get(), nullptr,
                                with_res ? d.res.get() : nullptr));
  });
  const double tol = math != Math::fp32 ? kTolTf32Infer : kTol;
  EXPECT_TRUE(close(d.a.download(), host(a_ref), tol, kTol)) << "a";
  EXPECT_TRUE(d.a.guard_intact() && wf.guard_intact() && bf.guard_intact());
}

const ActCase kMasked = kActs[2];

TEST(CudaConvBnMrelu, TrainingEqualsCpuOpEveryActivation) {
  const ConvCase c{"odd7x9_3x3_s2p1", 3, 3, 7, 9, 5, 3, 3, 2, 1};
  uint64_t seed = 100;
  for (Math math : {Math::fp32, Math::tf32})
    for (const ActCase& ac : kActs) check_training(c, ac, seed += 10, math);
}

// The residual block's second conv: a = act(BN(conv(x)) + r), dr = dz (scale_shift_mrelu adds r,
// mrelu_bn_bwd writes dz); in inference the folded kernel adds r in its epilogue.
TEST(CudaConvBnMrelu, TrainingWithResidualEqualsCpuOp) {
  const ConvCase c{"odd7x9_3x3_s1p1", 2, 3, 7, 9, 5, 3, 3, 1, 1};
  uint64_t seed = 200;
  for (const ActCase& ac : kActs) check_training(c, ac, seed += 10, Math::fp32, /*with_res=*/true);
  check_training(c, kMasked, seed + 10, Math::tf32, /*with_res=*/true);
  for (const ActCase& ac : kActs) check_inference(c, ac, seed += 10, Math::fp32, /*with_res=*/true);
  check_inference(c, kMasked, seed + 10, Math::tf32, /*with_res=*/true);
}

TEST(CudaConvBnMrelu, TrainingEqualsCpuOpOnEdgeAndModelShapes) {
  uint64_t seed = 300;
  for (const ConvCase& c : all_conv_cases()) {
    if (std::string(c.name) == "C67_CRS603_3x3") continue;  // dgrad/wgrad cover it; time budget
    check_training(c, kMasked, seed += 10);
    check_training(c, kMasked, seed, Math::tf32);
  }
}

// The TF32 conv on wgmma where it runs: the model layers (those with C a multiple of 16 run it:
// 128×64 tile for K = 64, 128×128 for K ≥ 128; the stem, C = 3, runs the mma.sync tile instead),
// one with its residual, and folded for inference.
TEST(CudaConvBnMrelu, WgmmaTrainingAndInferenceEqualCpuOp) {
  uint64_t seed = 400;
  for (const ConvCase& c : model_conv_cases()) {
    check_training(c, kMasked, seed += 10, Math::wgmma);
    check_inference(c, kMasked, seed, Math::wgmma);
  }
  const ConvCase c{"resnet18_layer1_64to64_8x8", 2, 64, 8, 8, 64, 3, 3, 1, 1};
  check_training(c, kActs[1], seed += 10, Math::wgmma, /*with_res=*/true);
  check_inference(c, kActs[1], seed, Math::wgmma, /*with_res=*/true);
}

TEST(CudaConvBnMrelu, InferenceFoldedEqualsCpuOp) {
  uint64_t seed = 500;
  for (Math math : {Math::fp32, Math::tf32})
    for (const ActCase& ac : kActs)
      check_inference({"odd7x9_3x3_s2p1", 3, 3, 7, 9, 5, 3, 3, 2, 1}, ac, seed += 10, math);
  for (const ConvCase& c : all_conv_cases()) {
    check_inference(c, kMasked, seed += 10);
    check_inference(c, kMasked, seed, Math::tf32);
  }
}

// The conv epilogue's partials give the same statistics as the separate bn_stats pass.
TEST(CudaConvBnMrelu, EpiloguePartialsMatchBnStats) {
  // NPQ = 315: 3 row blocks of 128 (the last ragged); K = 70: 2 column tiles of the TF32 tile
  const ConvCase c{"ragged", 5, 4, 9, 7, 70, 3, 3, 1, 1};
  const Conv2dGeom p = c.params();
  const Inputs in = make_inputs(c, kMasked, 900);
  FusedGpu d(p, in);
  const int64_t T1 = conv2d_fprop_bn_partials_count(p);
  ASSERT_EQ(T1, 3);
  DeviceBuffer<float> part1(size_t(3 * T1 * p.K));
  const bn_partials pp1{part1.get(), part1.get() + T1 * p.K, part1.get() + 2 * T1 * p.K};
  CUDA_OK(conv2d_fprop_bn_partials(p, d.x.get(), d.w.get(), d.y.get(), pp1, nullptr));
  const bn_stats_params sp{p.N, p.K, p.P * p.Q};
  const int64_t T2 = bn_stats_num_partials(sp);
  DeviceBuffer<float> part2(size_t(3 * T2 * p.K));
  const bn_partials pp2{part2.get(), part2.get() + T2 * p.K, part2.get() + 2 * T2 * p.K};
  CUDA_OK(bn_stats_partials(sp, d.y.get(), pp2, nullptr));
  DeviceBuffer<float> m1(size_t(p.K)), i1(size_t(p.K)), s1(size_t(p.K)), h1(size_t(p.K));
  DeviceBuffer<float> m2(size_t(p.K)), i2(size_t(p.K)), s2(size_t(p.K)), h2(size_t(p.K));
  bn_finalize_params fp;
  fp.K = p.K, fp.num_partials = int(T1);
  CUDA_OK(bn_finalize_train(fp, pp1, d.g.get(), d.b.get(), nullptr, nullptr,
                            {m1.get(), i1.get(), s1.get(), h1.get()}, nullptr));
  fp.num_partials = int(T2);
  CUDA_OK(bn_finalize_train(fp, pp2, d.g.get(), d.b.get(), nullptr, nullptr,
                            {m2.get(), i2.get(), s2.get(), h2.get()}, nullptr));
  // Integer y: each partial's mean and M2 are close to exact; 1e-6 covers the fp32 divisions.
  EXPECT_TRUE(close(m1.download(), m2.download(), 1e-6, 1e-6)) << "mean";
  EXPECT_TRUE(close(i1.download(), i2.download(), 1e-6, 1e-6)) << "invstd";
  // The TF32 tile: the same 128-row blocks, y and statistics.
  const int64_t T3 = T1;
  const std::vector<float> y_fp32 = d.y.download();
  DeviceBuffer<float> part3(size_t(3 * T3 * p.K));
  const bn_partials pp3{part3.get(), part3.get() + T3 * p.K, part3.get() + 2 * T3 * p.K};
  d.y.fill_pattern();
  CUDA_OK(conv2d_fprop_bn_partials_tf32(p, d.x.get(), d.w.get(), d.y.get(), pp3, nullptr));
  EXPECT_TRUE(bitwise_equal(d.y.download(), y_fp32)) << "y (exact integers)";
  fp.num_partials = int(T3);
  CUDA_OK(bn_finalize_train(fp, pp3, d.g.get(), d.b.get(), nullptr, nullptr,
                            {m1.get(), i1.get(), s1.get(), h1.get()}, nullptr));
  EXPECT_TRUE(close(m1.download(), m2.download(), 1e-6, 1e-6)) << "mean (tf32 tile)";
  EXPECT_TRUE(close(i1.download(), i2.download(), 1e-6, 1e-6)) << "invstd (tf32 tile)";
}

// On a grid that would leave SMs idle, the training forward splits its conv over C·R·S (the math's
// split version: fprop v6 FP32, v8 TF32, v9 wgmma; or with x_act the prologue conv) and takes the
// statistics from y: every output equals that chain — conv2d_fprop v6/v8/v9 → bn_stats_partials →
// bn_finalize_train → scale_shift_mrelu — bitwise on random data; with a prologue, the chain's
// conv reads the activation it would apply.
TEST(CudaConvBnMrelu, SplitKTrainingForwardEqualsTheSplitConvThenTheBnChain) {
  using inputs::bytes01, inputs::uniform;
  const Conv2dGeom p = conv2d_geom(2, 16, 5, 5, 24, 3, 3, 1, 1);
  ASSERT_GT(conv2d_fprop_splits(p), 1);
  ASSERT_GT(conv2d_fprop_splits(p, conv2d_fprop_version::v8_tf32_split_k), 1);
  const int HW = p.H * p.W, PQ = p.P * p.Q;
  DeviceBuffer<float> x(uniform(size_t(p.x_size()), 1)), w(uniform(size_t(p.w_size()), 2));
  DeviceBuffer<float> g(uniform(size_t(p.K), 3)), b(uniform(size_t(p.K), 4));
  DeviceBuffer<float> sc(uniform(size_t(p.C), 5)), sh(uniform(size_t(p.C), 6));
  DeviceBuffer<uint8_t> mx(bytes01(size_t(p.C) * HW, 7)), m(bytes01(size_t(p.K) * PQ, 8));
  DeviceBuffer<float> a_in(size_t(p.x_size()));  // act(sc·x + sh): what the prologue applies
  scale_shift_mrelu_params xp;
  xp.N = p.N, xp.K = p.C, xp.PQ = HW, xp.act = Act::MaskedReLU;
  CUDA_OK(scale_shift_mrelu(xp, x.get(), sc.get(), sh.get(), nullptr, mx.get(), a_in.get(), nullptr,
                            nullptr));
  struct Out {
    DeviceBuffer<float> y, mean, invstd, scale, shift, a, rm, rv;
    DeviceBuffer<uint32_t> bits;
    explicit Out(const Conv2dGeom& p)
        : y(size_t(p.y_size())),
          mean(size_t(p.K)),
          invstd(size_t(p.K)),
          scale(size_t(p.K)),
          shift(size_t(p.K)),
          a(size_t(p.y_size())),
          rm(std::vector<float>(size_t(p.K), 0.f)),
          rv(std::vector<float>(size_t(p.K), 1.f)),
          bits(size_t(pass_bits_words(p.y_size()))) {}
    std::vector<float> all() const {
      std::vector<float> v = concat(y.download(), a.download());
      for (const auto* t : {&mean, &invstd, &scale, &shift, &rm, &rv}) v = concat(v, t->download());
      return v;
    }
  };
  for (Math math : {Math::fp32, Math::tf32, Math::wgmma})
    for (bool prologue : {false, true}) {
      SCOPED_TRACE(testing::Message() << math_name(math) << (prologue ? " prologue" : " plain x"));
      Out fused(p), chain(p);
      conv_bn_mrelu_fwd_params fp;
      fp.conv = p, fp.act = Act::MaskedReLU;
      fp.tf32 = math != Math::fp32, fp.wgmma = math == Math::wgmma;
      conv_bn_mrelu_fwd_tensors t;
      t.x = x.get(), t.w = w.get(), t.gamma = g.get(), t.beta = b.get(), t.mask = m.get();
      t.running_mean = fused.rm.get(), t.running_var = fused.rv.get(), t.y = fused.y.get();
      t.mean = fused.mean.get(), t.invstd = fused.invstd.get(), t.scale = fused.scale.get();
      t.shift = fused.shift.get(), t.a = fused.a.get(), t.bits = fused.bits.get();
      DeviceBuffer<float> ws(size_t(conv_bn_mrelu_fwd_workspace_floats(p)));
      t.workspace = ws.get();
      if (prologue) {
        t.x_act.scale = sc.get(), t.x_act.shift = sh.get(), t.x_act.mask = mx.get();
        t.x_act.act = Act::MaskedReLU;
      }
      expect_wgmma(runs_wgmma(math, p), [&] { CUDA_OK(conv_bn_mrelu_fwd_train(fp, t, nullptr)); });
      // The chain.
      const conv2d_fprop_version v = conv2d_fprop_split_k_version(fp.tf32, fp.wgmma);
      DeviceBuffer<float> wsv(size_t(conv2d_fprop_workspace_floats(v, p)));
      CUDA_OK(conv2d_fprop(v, p, prologue ? a_in.get() : x.get(), w.get(), nullptr, chain.y.get(),
                           nullptr, wsv.get()));
      const bn_stats_params sp{p.N, p.K, PQ};
      const int64_t T = bn_stats_num_partials(sp);
      DeviceBuffer<float> part(size_t(3 * T * p.K));
      const bn_partials pp{part.get(), part.get() + T * p.K, part.get() + 2 * T * p.K};
      CUDA_OK(bn_stats_partials(sp, chain.y.get(), pp, nullptr));
      bn_finalize_params bf;
      bf.K = p.K, bf.num_partials = int(T);
      CUDA_OK(bn_finalize_train(
          bf, pp, g.get(), b.get(), chain.rm.get(), chain.rv.get(),
          {chain.mean.get(), chain.invstd.get(), chain.scale.get(), chain.shift.get()}, nullptr));
      scale_shift_mrelu_params ap;
      ap.N = p.N, ap.K = p.K, ap.PQ = PQ, ap.act = Act::MaskedReLU;
      CUDA_OK(scale_shift_mrelu(ap, chain.y.get(), chain.scale.get(), chain.shift.get(), nullptr,
                                m.get(), chain.a.get(), chain.bits.get(), nullptr));
      EXPECT_TRUE(bitwise_equal(fused.all(), chain.all()));
      EXPECT_EQ(fused.bits.download(), chain.bits.download());
    }
}

// The wgmma tiles' epilogue (row groups of a warp, its 8 row slots summed by shuffles) against the
// FP32 tile's, on ragged row and column tiles of both: y bitwise (integers), and per block and
// channel the count and mean bitwise (sums of integers below 2²⁴ are exact in any order), M2 to
// 1e-6 (Σ(y − mean)² of an inexact mean depends on the order).
TEST(CudaConvBnMrelu, WgmmaEpiloguePartialsMatchTheFp32Tile) {
  for (const ConvCase& c : {ConvCase{"ragged_128x64", 5, 16, 9, 7, 70, 3, 3, 1, 1},
                            ConvCase{"ragged_128x128", 2, 16, 9, 7, 130, 3, 3, 1, 1}}) {
    SCOPED_TRACE(c.name);
    const Conv2dGeom p = c.params();
#if SENET_CUDA_EMULATION
    ASSERT_TRUE(conv2d_fprop_wgmma_runs(p));
#endif
    const Inputs in = make_inputs(c, kMasked, 920);
    FusedGpu d(p, in);
    const int64_t T = conv2d_fprop_bn_partials_count(p), TK = T * p.K;
    DeviceBuffer<float> part1(size_t(3 * TK)), part2(size_t(3 * TK));
    CUDA_OK(conv2d_fprop_bn_partials(p, d.x.get(), d.w.get(), d.y.get(),
                                     {part1.get(), part1.get() + TK, part1.get() + 2 * TK},
                                     nullptr));
    const std::vector<float> y_fp32 = d.y.download();
    d.y.fill_pattern();
    expect_wgmma(conv2d_fprop_wgmma_runs(p), [&] {
      CUDA_OK(conv2d_fprop_bn_partials_wgmma(p, d.x.get(), d.w.get(), d.y.get(),
                                             {part2.get(), part2.get() + TK, part2.get() + 2 * TK},
                                             nullptr));
    });
    EXPECT_TRUE(bitwise_equal(d.y.download(), y_fp32)) << "y (exact integers)";
    const std::vector<float> a = part1.download(), b = part2.download();
    EXPECT_TRUE(bitwise_equal(std::vector<float>(b.begin(), b.begin() + 2 * TK),
                              std::vector<float>(a.begin(), a.begin() + 2 * TK)))
        << "count, mean";
    EXPECT_TRUE(close(std::vector<float>(b.begin() + 2 * TK, b.end()),
                      std::vector<float>(a.begin() + 2 * TK, a.end()), 1e-6, 1e-6))
        << "M2";
    EXPECT_TRUE(d.y.guard_intact() && part2.guard_intact());
  }
}

TEST(CudaConvBnMrelu, RaceFree) {
  // Ragged row and column tiles; C = 16 for the wgmma tiles (K = 70: 128×64, K = 130: 128×128).
  const ConvCase cases[] = {{"race", 2, 3, 7, 9, 70, 3, 3, 1, 1},
                            {"race_wgmma_128x64", 2, 16, 7, 9, 70, 3, 3, 1, 1},
                            {"race_wgmma_128x128", 1, 16, 7, 9, 130, 3, 3, 1, 1}};
  for (const auto& [c, math] :
       {std::pair{cases[0], Math::fp32}, std::pair{cases[0], Math::tf32},
        std::pair{cases[1], Math::wgmma}, std::pair{cases[2], Math::wgmma}}) {
    SCOPED_TRACE(std::string(c.name) + " " + math_name(math));
    const Conv2dGeom p = c.params();
    const Inputs in = make_inputs(c, kMasked, 950);
    FusedGpu d(p, in);
    const conv_bn_mrelu_fwd_params fp = fused_params(c, kMasked, math);
    EXPECT_RACE_FREE(([&] {
                       EXPECT_CUDA_OK(conv_bn_mrelu_fwd_train(fp, d.fwd_tensors(false), nullptr));
                       std::vector<double> out;
                       for (float v : d.fws.download()) out.push_back(v);  // the partials
                       for (float v : d.a.download()) out.push_back(v);
                       for (uint32_t v : d.bits.download()) out.push_back(double(v));
                       return out;
                     }),
                     0.0);
    DeviceBuffer<float> wf(size_t(p.w_size())), bf(size_t(p.K));
    CUDA_OK(conv_bn_fold(p, 1e-5f, d.w.get(), d.g.get(), d.b.get(), d.rm.get(), d.rv.get(),
                         wf.get(), bf.get(), nullptr));
    EXPECT_RACE_FREE(([&] {
                       EXPECT_CUDA_OK(conv_bn_mrelu_infer(fp, d.x.get(), wf.get(), bf.get(),
                                                          d.mask.get(), d.a.get(), nullptr));
                       return d.a.download();
                     }),
                     0.0);
  }
}

TEST(CudaConvBnMrelu, LaunchersRejectBadParams) {
  const ConvCase c{"small", 1, 2, 5, 5, 3, 3, 3, 1, 1};
  const Inputs in = make_inputs(c, kMasked, 990);
  FusedGpu d(c.params(), in);
  conv_bn_mrelu_fwd_params fp = fused_params(c, kMasked);
  conv_bn_mrelu_fwd_tensors t = d.fwd_tensors(true);
  t.mask = nullptr;  // masked ReLU without a mask
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  t = d.fwd_tensors(true);
  t.workspace = nullptr;
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  t = d.fwd_tensors(true);
  t.running_var = nullptr;  // one running stat without the other
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, t, nullptr), cudaErrorInvalidValue);
  fp.conv.stride = 0;
  EXPECT_EQ(conv_bn_mrelu_fwd_train(fp, d.fwd_tensors(true), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(
      conv_bn_mrelu_infer(fp, d.x.get(), d.w.get(), d.b.get(), d.mask.get(), d.a.get(), nullptr),
      cudaErrorInvalidValue);
  EXPECT_EQ(conv_bn_mrelu_bwd(fp.conv, d.bwd_tensors(true), nullptr), cudaErrorInvalidValue);
  fp = fused_params(c, kMasked);
  EXPECT_EQ(conv_bn_mrelu_infer(fp, d.x.get(), d.w.get(), d.b.get(), nullptr, d.a.get(), nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(conv_bn_fold(fp.conv, 0.0f, d.w.get(), d.g.get(), d.b.get(), d.rm.get(), d.rv.get(),
                         d.dw.get(), d.db.get(), nullptr),
            cudaErrorInvalidValue);
  conv_bn_mrelu_bwd_tensors bt = d.bwd_tensors(true);
  bt.workspace = nullptr;
  EXPECT_EQ(conv_bn_mrelu_bwd(fp.conv, bt, nullptr), cudaErrorInvalidValue);
  EXPECT_TRUE(d.a.guard_intact() && d.y.guard_intact());
}

}  // namespace conv_bn_mrelu_tests
