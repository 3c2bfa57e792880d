// tests/kernels/test_kernels_bn.cu — BatchNorm kernels: bn_stats (per-tile two-pass partials),
// bn_finalize (Chan merge, running stats), scale_shift_mrelu (forward + pass bits) and
// mrelu_bn_bwd (fused backward), against the CPU op engine/ops/bn_act.h (values AND gradients
// through the autograd tape) and a double-precision reference for the statistics; mrelu_bn_bwd's
// merge of the tile partials at every version against an in-order double sum.
//
// Tolerance (BN family): |gpu − cpu| ≤ tol·max|cpu| + tol·|cpu|. Both sides evaluate the same
// formulas in fp32 but group the sums differently (GPU: 1024-value tiles, fp32 thread sums and a
// fixed tree, double merge of tiles; CPU: per-image two-pass / 8-lane sums, double merge), and the
// GPU applies z = scale·y + shift where the CPU computes (y−μ)·scale + β.
//   kTol = 1e-5 for a, dy, dr and running stats: μ, σ² differ in the last fp32 bits, moving z by
//     ~1e-7 relative; measured worst 1.3e-6 of max|ref| (8× margin).
//   kTolReduce = 5e-5 for dγ = Σdz·x̂ and dβ = Σdz: sums over M ≈ 2,000 terms of size ~1 that cancel
//     to ~3, so their fp32 rounding (≈ 2⁻²⁴·Σ|terms| per tree level) is large relative to the
//     result; measured worst 3.4e-6 of max|ref| (15× margin).
#include <cmath>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/cpu/batchnorm.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/bn_act.h"
#include "kernels/bn_finalize.h"
#include "kernels/bn_stats.h"
#include "kernels/emu/race_check.h"
#include "kernels/mrelu_bn_bwd.h"
#include "kernels/scale_shift_mrelu.h"
#include "tests/kernels/act_cases.h"
#include "tests/kernels/cuda_test.h"
#include "tests/support/gradcheck.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using senet::test::random_tensor;

namespace {

constexpr double kTol = 1e-5;        // see the file header
constexpr double kTolReduce = 5e-5;  // dγ, dβ: see the file header

Tensor random_mask(const Shape& shape, uint64_t seed) {
  std::vector<uint8_t> m(size_t(shape.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(rand_below(seed, 5, i, 2));
  return Tensor::from_vector_u8(m, shape);
}

// Everything the GPU chain needs for y: N×K×P×Q, on the device.
struct BnGpu {
  int N, K, PQ;
  DeviceBuffer<float> y, r, gamma, beta, rmean, rvar, mean, invstd, scale, shift, a;
  DeviceBuffer<uint8_t> mask;
  DeviceBuffer<uint32_t> bits;
  DeviceBuffer<float> part, da, dy, dr, dgamma, dbeta, ws;
  BnGpu(const Tensor& y_, const Tensor& r_, const Tensor& g_, const Tensor& b_, const Tensor& rm_,
        const Tensor& rv_, const Tensor& mask_)
      : N(int(y_.size(0))),
        K(int(y_.size(1))),
        PQ(int(y_.numel() / (y_.size(0) * y_.size(1)))),
        y(host(y_)),
        r(host(r_)),
        gamma(host(g_)),
        beta(host(b_)),
        rmean(host(rm_)),
        rvar(host(rv_)),
        mean(size_t(K)),
        invstd(size_t(K)),
        scale(size_t(K)),
        shift(size_t(K)),
        a(size_t(y_.numel())),
        mask(mask_.defined() ? host_u8(mask_) : std::vector<uint8_t>(1, 1)),
        bits(size_t(pass_bits_words(y_.numel()))),
        part(size_t(3 * bn_stats_num_partials(stats_params()) * K)),
        da(size_t(y_.numel())),
        dy(size_t(y_.numel())),
        dr(size_t(y_.numel())),
        dgamma(size_t(K)),
        dbeta(size_t(K)),
        ws(size_t(mrelu_bn_bwd_workspace_floats(bwd_params(true)))) {}
  bn_stats_params stats_params() const { return {N, K, PQ}; }
  mrelu_bn_bwd_params bwd_params(bool training) const {
    mrelu_bn_bwd_params p;
    p.N = N, p.K = K, p.PQ = PQ, p.training = training;
    return p;
  }
  bn_partials partials() const {
    const size_t s = size_t(bn_stats_num_partials(stats_params()) * K);
    return {part.get(), part.get() + s, part.get() + 2 * s};
  }
  bn_channel_affine affine() const { return {mean.get(), invstd.get(), scale.get(), shift.get()}; }
};

// The CPU oracle: bn_act forward, then backward with upstream gradient `da` through the tape.
struct BnCpu {
  std::vector<float> a, dy, dr, dgamma, dbeta, rmean, rvar;
};
BnCpu run_cpu(const Tensor& y, const Tensor& r, const Tensor& g, const Tensor& b, const Tensor& rm,
              const Tensor& rv, bool training, Act act, const Tensor& mask, const Tensor& da) {
  Tensor y1 = y.clone().set_requires_grad(true), g1 = g.clone().set_requires_grad(true),
         b1 = b.clone().set_requires_grad(true);
  Tensor r1 = r.defined() ? r.clone().set_requires_grad(true) : Tensor();
  BatchNormState st;
  st.running_mean = rm.clone(), st.running_var = rv.clone();
  Tensor a = bn_act(y1, r1, g1, b1, st, training, act, mask);
  a.backward(da);
  BnCpu out{a.to_vector(),
            y1.grad().to_vector(),
            {},
            g1.grad().to_vector(),
            b1.grad().to_vector(),
            st.running_mean.to_vector(),
            st.running_var.to_vector()};
  if (r1.defined()) out.dr = r1.grad().to_vector();
  return out;
}

}  // namespace

// Statistics alone, against double: a +1e3 mean offset (a one-pass Σy²/M − μ² in fp32 loses ~6%
// of σ² = 1 there), several tiles per channel (Chan's merge), running-stat update (unbiased);
// both finalize versions, with fewer and with more partials than v2's 16 merge groups.
TEST(CudaBnStats, MeanOffsetMultiTileAgainstDouble) {
  for (const auto& [N, tiles] : {std::pair{4, 4}, std::pair{24, 24}})
    for (bn_finalize_version v : kBnFinalizeVersions) {
      SCOPED_TRACE(std::string(bn_finalize_version_name(v)) + " N=" + std::to_string(N));
      const int K = 3, PQ = 33 * 31;  // M = N·1023 → N tiles of 1024 (the last one ragged)
      Tensor yt = random_tensor({N, K, PQ}, 5);
      std::vector<float> y = yt.to_vector();
      for (size_t i = 0; i < y.size(); ++i) y[i] += 1000.0f + float(i / PQ % K);  // μ_k ≈ 1000 + k
      const bn_stats_params sp{N, K, PQ};
      ASSERT_EQ(bn_stats_num_partials(sp), tiles);
      const int T = int(bn_stats_num_partials(sp));
      DeviceBuffer<float> dy_(y), part(size_t(3 * T * K));
      const bn_partials pp{part.get(), part.get() + T * K, part.get() + 2 * T * K};
      CUDA_OK(bn_stats_partials(sp, dy_.get(), pp, nullptr));
      std::vector<float> g(K), b(K), rm(K), rv(K);
      for (int k = 0; k < K; ++k)
        g[size_t(k)] = 0.5f + k, b[size_t(k)] = -1.0f + k, rm[size_t(k)] = 0.25f,
        rv[size_t(k)] = 2.0f;
      DeviceBuffer<float> dg(g), db(b), drm(rm), drv(rv), mean(K), invstd(K), scale(K), shift(K);
      bn_finalize_params fp;
      fp.K = K, fp.num_partials = T, fp.eps = 1e-5f, fp.momentum = 0.1f, fp.version = v;
      CUDA_OK(bn_finalize_train(fp, pp, dg.get(), db.get(), drm.get(), drv.get(),
                                {mean.get(), invstd.get(), scale.get(), shift.get()}, nullptr));
      const auto hm = mean.download(), his = invstd.download(), hs = scale.download(),
                 hsh = shift.download(), hrm = drm.download(), hrv = drv.download();
      const double M = double(N) * PQ;
      for (int k = 0; k < K; ++k) {
        double s = 0, s2 = 0;
        for (int n = 0; n < N; ++n)
          for (int i = 0; i < PQ; ++i) s += y[size_t((n * K + k) * PQ + i)];
        const double mu = s / M;
        for (int n = 0; n < N; ++n)
          for (int i = 0; i < PQ; ++i) {
            const double d = y[size_t((n * K + k) * PQ + i)] - mu;
            s2 += d * d;
          }
        const double var = s2 / M, is = 1.0 / std::sqrt(var + 1e-5);
        SCOPED_TRACE(k);
        EXPECT_NEAR(hm[size_t(k)], mu, 2e-7 * mu);   // a few fp32 ulps of 1e3
        EXPECT_NEAR(his[size_t(k)], is, 1e-5 * is);  // σ² to ~1e-5 despite μ/σ = 1e3
        EXPECT_NEAR(hs[size_t(k)], g[size_t(k)] * is, 1e-5 * std::fabs(g[size_t(k)] * is));
        // shift = β − μ·scale: ~1e3·scale, so its absolute error is ~ulp(μ·scale) + μ·δscale.
        EXPECT_NEAR(hsh[size_t(k)], b[size_t(k)] - mu * g[size_t(k)] * is,
                    2e-5 * mu * std::fabs(g[size_t(k)] * is));
        EXPECT_NEAR(hrm[size_t(k)], 0.9 * 0.25 + 0.1 * mu, 2e-7 * mu);
        EXPECT_NEAR(hrv[size_t(k)], 0.9 * 2.0 + 0.1 * var * M / (M - 1), 1e-5);
      }
    }
}

// The whole BN → (+ residual) → activation forward and backward against the CPU op.
TEST(CudaBnAct, ForwardAndBackwardEqualTheCpuOp) {
  struct Shape4 {
    int N, K, P, Q;
  };
  const Shape4 shapes[] = {{3, 5, 7, 9}, {1, 1, 4, 4}, {2, 3, 33, 31} /* 2 tiles per channel */};
  uint64_t seed = 100;
  for (const Shape4& s : shapes)
    for (const ActCase& ac : kActs)
      for (bool with_residual : {false, true})
        for (bool training : {true, false}) {
          SCOPED_TRACE(std::to_string(s.N) + "x" + std::to_string(s.K) + "x" + std::to_string(s.P) +
                       "x" + std::to_string(s.Q) + " " + ac.name +
                       (with_residual ? " +residual" : "") + (training ? " training" : " eval"));
          seed += 10;
          Tensor y = random_tensor({s.N, s.K, s.P, s.Q}, seed, 2.0f);
          // Offsets per channel so that μ ≠ 0 matters.
          Tensor r = with_residual ? random_tensor(y.shape(), seed + 1) : Tensor();
          Tensor g = random_tensor({s.K}, seed + 2), b = random_tensor({s.K}, seed + 3);
          Tensor rm = random_tensor({s.K}, seed + 4), rv = Tensor::full({s.K}, 1.5f);
          Tensor mask = ac.act != Act::MaskedReLU ? Tensor()
                        : ac.per_channel          ? random_mask({s.K}, seed + 5)
                                                  : random_mask({s.K, s.P, s.Q}, seed + 5);
          Tensor da = random_tensor(y.shape(), seed + 6);
          const BnCpu ref = run_cpu(y, r, g, b, rm, rv, training, ac.act, mask, da);

          BnGpu d(y, with_residual ? r : Tensor::zeros({1}), g, b, rm, rv, mask);
          if (training) {
            CUDA_OK(bn_stats_partials(d.stats_params(), d.y.get(), d.partials(), nullptr));
            bn_finalize_params fp;
            fp.K = d.K, fp.num_partials = int(bn_stats_num_partials(d.stats_params()));
            CUDA_OK(bn_finalize_train(fp, d.partials(), d.gamma.get(), d.beta.get(), d.rmean.get(),
                                      d.rvar.get(), d.affine(), nullptr));
          } else {
            bn_finalize_params fp;
            fp.K = d.K;
            CUDA_OK(bn_finalize_eval(fp, d.gamma.get(), d.beta.get(), d.rmean.get(), d.rvar.get(),
                                     d.affine(), nullptr));
          }
          scale_shift_mrelu_params sp;
          sp.N = d.N, sp.K = d.K, sp.PQ = d.PQ, sp.act = ac.act;
          sp.mask_per_channel = ac.per_channel;
          CUDA_OK(scale_shift_mrelu(sp, d.y.get(), d.scale.get(), d.shift.get(),
                                    with_residual ? d.r.get() : nullptr, d.mask.get(), d.a.get(),
                                    d.bits.get(), nullptr));
          EXPECT_TRUE(close(d.a.download(), ref.a, kTol, kTol)) << "a";
          EXPECT_TRUE(close(d.rmean.download(), ref.rmean, kTol, kTol)) << "running_mean";
          EXPECT_TRUE(close(d.rvar.download(), ref.rvar, kTol, kTol)) << "running_var";

          d.da.upload(host(da));
          mrelu_bn_bwd_tensors bt;
          bt.da = d.da.get(), bt.bits = ac.act == Act::None ? nullptr : d.bits.get();
          bt.y = d.y.get(), bt.mean = d.mean.get(), bt.invstd = d.invstd.get();
          bt.gamma = d.gamma.get(), bt.dy = d.dy.get();
          bt.dresidual = with_residual ? d.dr.get() : nullptr;
          bt.dgamma = d.dgamma.get(), bt.dbeta = d.dbeta.get(), bt.workspace = d.ws.get();
          CUDA_OK(mrelu_bn_bwd(d.bwd_params(training), bt, nullptr));
          EXPECT_TRUE(close(d.dy.download(), ref.dy, kTol, kTol)) << "dy";
          EXPECT_TRUE(close(d.dgamma.download(), ref.dgamma, kTolReduce, kTolReduce)) << "dgamma";
          EXPECT_TRUE(close(d.dbeta.download(), ref.dbeta, kTolReduce, kTolReduce)) << "dbeta";
          if (with_residual) {
            EXPECT_TRUE(close(d.dr.download(), ref.dr, kTol, kTol)) << "dresidual";
          }
          EXPECT_TRUE(d.a.guard_intact() && d.dy.guard_intact() && d.bits.guard_intact());
        }
}

// The bit layout: word i/32, bit i%32; p = (none) || !m || z > 0; bits past the end are 0.
// Checked on the kernel's own outputs: relu → p == (a > 0); masked → p == (!m || a > 0).
TEST(CudaScaleShiftMrelu, PassBitsLayout) {
  const int N = 2, K = 3, PQ = 7 * 9;  // 378 elements: the last word is partial
  const int64_t n = int64_t(N) * K * PQ;
  const auto y = host(random_tensor({N, K, PQ}, 9));
  const std::vector<float> sc = {1.0f, -2.0f, 0.5f}, sh = {0.1f, 0.0f, -0.3f};
  const auto m = host_u8(random_mask({K, PQ}, 10));
  DeviceBuffer<float> dy_(y), dsc(sc), dsh(sh), a{size_t(n)};
  DeviceBuffer<uint8_t> dm(m);
  DeviceBuffer<uint32_t> bits(size_t(pass_bits_words(n)));
  for (Act act : {Act::None, Act::ReLU, Act::MaskedReLU}) {
    SCOPED_TRACE(int(act));
    scale_shift_mrelu_params p;
    p.N = N, p.K = K, p.PQ = PQ, p.act = act;
    CUDA_OK(scale_shift_mrelu(p, dy_.get(), dsc.get(), dsh.get(), nullptr, dm.get(), a.get(),
                              bits.get(), nullptr));
    const auto ha = a.download();
    const auto hb = bits.download();
    for (int64_t i = 0; i < n; ++i) {
      const int k = int(i / PQ % K);
      const float z = sc[size_t(k)] * y[size_t(i)] + sh[size_t(k)];
      const bool mm = act == Act::ReLU || (act == Act::MaskedReLU && m[size_t(i % (K * PQ))]);
      const bool expect = !mm || ha[size_t(i)] > 0.0f;
      ASSERT_EQ(bool((hb[size_t(i >> 5)] >> (i & 31)) & 1u), expect) << i;
      ASSERT_NEAR(ha[size_t(i)], expect ? z : 0.0f, 1e-6f * (1 + std::fabs(z))) << i;
    }
    for (int64_t i = n; i < pass_bits_words(n) * 32; ++i)
      ASSERT_EQ((hb[size_t(i >> 5)] >> (i & 31)) & 1u, 0u) << "bit past the end " << i;
  }
}

TEST(CudaBn, RaceFreeEveryKernel) {
  const int N = 2, K = 3, PQ = 33 * 31;  // 2 tiles per channel, ragged warps and blocks
  Tensor yt = random_tensor({N, K, PQ}, 21), mask = random_mask({K, PQ}, 22);
  Tensor g = random_tensor({K}, 23), b = random_tensor({K}, 24), da = random_tensor({N, K, PQ}, 25);
  BnGpu d(yt, random_tensor({N, K, PQ}, 26), g, b, Tensor::zeros({K}), Tensor::full({K}, 1.f),
          mask);
  d.da.upload(host(da));
  bn_finalize_params fp;
  fp.K = K, fp.num_partials = int(bn_stats_num_partials(d.stats_params()));
  scale_shift_mrelu_params sp;
  sp.N = N, sp.K = K, sp.PQ = PQ, sp.act = Act::MaskedReLU;
  auto forward = [&] {
    EXPECT_CUDA_OK(bn_stats_partials(d.stats_params(), d.y.get(), d.partials(), nullptr));
    EXPECT_CUDA_OK(bn_finalize_train(fp, d.partials(), d.gamma.get(), d.beta.get(), nullptr,
                                     nullptr, d.affine(), nullptr));
    EXPECT_CUDA_OK(scale_shift_mrelu(sp, d.y.get(), d.scale.get(), d.shift.get(), d.r.get(),
                                     d.mask.get(), d.a.get(), d.bits.get(), nullptr));
  };
  EXPECT_RACE_FREE(([&] {
                     forward();
                     std::vector<double> out;
                     for (float v : d.part.download()) out.push_back(v);
                     for (float v : d.a.download()) out.push_back(v);
                     for (uint32_t w : d.bits.download()) out.push_back(double(w));
                     return out;
                   }),
                   0.0);
  forward();
  mrelu_bn_bwd_tensors bt;
  bt.da = d.da.get(), bt.bits = d.bits.get(), bt.y = d.y.get(), bt.mean = d.mean.get();
  bt.invstd = d.invstd.get(), bt.gamma = d.gamma.get(), bt.dy = d.dy.get(),
  bt.dresidual = d.dr.get();
  bt.dgamma = d.dgamma.get(), bt.dbeta = d.dbeta.get(), bt.workspace = d.ws.get();
  EXPECT_RACE_FREE(([&] {
                     EXPECT_CUDA_OK(mrelu_bn_bwd(d.bwd_params(true), bt, nullptr));
                     std::vector<float> out = d.dy.download();
                     for (float v : d.dgamma.download()) out.push_back(v);
                     for (float v : d.dbeta.download()) out.push_back(v);
                     return out;
                   }),
                   0.0);
}

// --- mrelu_bn_bwd's merge (launch 2): T tile partials per channel → dβ, dγ, at every version.
namespace {

// The reference: channel k's partials part[t·K + k] added for t = 0, 1, …, T−1 in double, then
// rounded to fp32 (v1's order).
std::vector<float> bwd_merge_in_order(const std::vector<float>& part, int tiles, int K) {
  std::vector<float> out(static_cast<size_t>(K));
  for (int k = 0; k < K; ++k) {
    double s = 0;
    for (int t = 0; t < tiles; ++t) s += part[size_t(t) * size_t(K) + size_t(k)];
    out[size_t(k)] = float(s);
  }
  return out;
}

struct BwdMergeOut {
  std::vector<float> dbeta, dgamma;
};
BwdMergeOut bwd_merge_gpu(mrelu_bn_bwd_version v, const std::vector<float>& part_db,
                          const std::vector<float>& part_dg, int tiles, int K) {
  DeviceBuffer<float> pdb(part_db), pdg(part_dg), db(static_cast<size_t>(K)),
      dg(static_cast<size_t>(K));
  EXPECT_CUDA_OK(
      mrelu_bn_bwd_merge(v, K, tiles, pdb.get(), pdg.get(), db.get(), dg.get(), nullptr));
  EXPECT_TRUE(db.guard_intact() && dg.guard_intact()) << "wrote past channel K−1";
  return {db.download(), dg.download()};
}

// T values: one tile, two, 17 (v2's group 0 adds two tiles, the others one), 128 (a batch of 128
// at 32×32, 8 per group); K = 45: the second block of 32 channels is ragged.
constexpr int kBwdMergeTiles[] = {1, 2, 17, 128};
constexpr int kBwdMergeK = 45;

}  // namespace

// Small-integer partials: every sum is exact in double and in fp32 whatever the order, so each
// version equals the in-order reference bit for bit (a partial read twice, missed, or from the
// wrong channel would show).
TEST(CudaBnBwdMerge, SmallIntegerPartialsEqualTheInOrderSumBitwise) {
  for (int T : kBwdMergeTiles) {
    const size_t n = size_t(T) * kBwdMergeK;
    const auto pdb = inputs::small_ints(n, 300 + uint64_t(T)),
               pdg = inputs::small_ints(n, 400 + uint64_t(T), -64, 64);
    const auto ref_db = bwd_merge_in_order(pdb, T, kBwdMergeK),
               ref_dg = bwd_merge_in_order(pdg, T, kBwdMergeK);
    std::vector<BwdMergeOut> outs;
    for (mrelu_bn_bwd_version v : kMreluBnBwdVersions) {
      SCOPED_TRACE(std::string(mrelu_bn_bwd_version_name(v)) + " T=" + std::to_string(T));
      outs.push_back(bwd_merge_gpu(v, pdb, pdg, T, kBwdMergeK));
      EXPECT_TRUE(bitwise_equal(outs.back().dbeta, ref_db)) << "dbeta";
      EXPECT_TRUE(bitwise_equal(outs.back().dgamma, ref_dg)) << "dgamma";
    }
    EXPECT_TRUE(bitwise_equal(outs[1].dbeta, outs[0].dbeta)) << "v2 vs v1, T=" << T;
    EXPECT_TRUE(bitwise_equal(outs[1].dgamma, outs[0].dgamma)) << "v2 vs v1, T=" << T;
  }
}

// Random partials: v1 adds in the reference's order (same bits); v2 too while T ≤ 16 (one tile per
// group). Past that v2's double sum is regrouped: the two double sums differ by at most
// ~T·2⁻⁵³·Σ|p| (each ≤ (T−1)·2⁻⁵³·Σ|p| from the exact sum), then one fp32 rounding adds up to
// 2⁻²⁴·|ref| either side: tolerance 2⁻²³·|ref| + T·2⁻⁵²·Σ|p|.
TEST(CudaBnBwdMerge, RandomPartialsWithinRoundingOfTheInOrderSum) {
  for (int T : kBwdMergeTiles) {
    const size_t n = size_t(T) * kBwdMergeK;
    const auto pdb = inputs::uniform(n, 500 + uint64_t(T), -3.f, 5.f),
               pdg = inputs::uniform(n, 600 + uint64_t(T), -40.f, 40.f);
    for (mrelu_bn_bwd_version v : kMreluBnBwdVersions) {
      SCOPED_TRACE(std::string(mrelu_bn_bwd_version_name(v)) + " T=" + std::to_string(T));
      const BwdMergeOut out = bwd_merge_gpu(v, pdb, pdg, T, kBwdMergeK);
      const bool same_order = v == mrelu_bn_bwd_version::v1_tile_reduce_merge || T <= 16;
      for (const auto& [got, part] : {std::pair{&out.dbeta, &pdb}, std::pair{&out.dgamma, &pdg}}) {
        const auto ref = bwd_merge_in_order(*part, T, kBwdMergeK);
        if (same_order) {
          EXPECT_TRUE(bitwise_equal(*got, ref));
          continue;
        }
        for (int k = 0; k < kBwdMergeK; ++k) {
          double abs_sum = 0;
          for (int t = 0; t < T; ++t)
            abs_sum += std::fabs((*part)[size_t(t) * kBwdMergeK + size_t(k)]);
          const double r = ref[size_t(k)];
          EXPECT_NEAR((*got)[size_t(k)], r,
                      std::ldexp(std::fabs(r), -23) + T * std::ldexp(abs_sum, -52))
              << "k=" << k;
        }
      }
    }
  }
}

// The whole reduce (launches 1 and 2) at every version on small-integer da and y, μ an integer and
// 1/σ = 0.5: every tile sum and merge is exact, so dβ, dγ equal the CPU backend's bit for bit.
// PQ = 1000: the tiles of 1024 straddle images and the last one is ragged; T = 1, 2, 17.
TEST(CudaBnBwdMerge, ReduceOfIntegerInputsEqualsTheCpuBitwise) {
  const int K = 3, PQ = 1000;
  for (int N : {1, 2, 17}) {
    mrelu_bn_bwd_params p;
    p.N = N, p.K = K, p.PQ = PQ;
    ASSERT_EQ(mrelu_bn_bwd_num_partials(p), N);
    const size_t n = size_t(p.size());
    const auto da = inputs::small_ints(n, 700 + uint64_t(N)),
               y = inputs::small_ints(n, 800 + uint64_t(N), -6, 10);
    const std::vector<float> mean = {1.f, -2.f, 3.f}, invstd(size_t(K), 0.5f),
                             gamma = {1.f, 2.f, -1.f}, beta(size_t(K), 0.f);
    std::vector<float> ref_dg(static_cast<size_t>(K)), ref_db(static_cast<size_t>(K));
    cpu::BnAct ba{N, K, PQ, mean.data(), invstd.data(), gamma.data(), beta.data()};
    cpu::bn_act_grad_reduce(ba, da.data(), nullptr, y.data(), ref_dg.data(), ref_db.data());
    DeviceBuffer<float> dda(da), dy_(y), dmean(mean), dis(invstd), dgam(gamma),
        dg(static_cast<size_t>(K)), db(static_cast<size_t>(K)),
        ws(static_cast<size_t>(mrelu_bn_bwd_workspace_floats(p)));
    mrelu_bn_bwd_tensors t;
    t.da = dda.get(), t.y = dy_.get(), t.mean = dmean.get(), t.invstd = dis.get();
    t.gamma = dgam.get(), t.dgamma = dg.get(), t.dbeta = db.get(), t.workspace = ws.get();
    for (mrelu_bn_bwd_version v : kMreluBnBwdVersions) {
      SCOPED_TRACE(std::string(mrelu_bn_bwd_version_name(v)) + " N=" + std::to_string(N));
      p.version = v;
      dg.fill_pattern(), db.fill_pattern();
      CUDA_OK(mrelu_bn_bwd_reduce(p, t, nullptr));
      EXPECT_TRUE(bitwise_equal(db.download(), ref_db)) << "dbeta";
      EXPECT_TRUE(bitwise_equal(dg.download(), ref_dg)) << "dgamma";
    }
  }
}

// v2's groups meet in shared memory after a barrier: the same bits under every thread schedule.
TEST(CudaBnBwdMerge, BlockMergeRaceFree) {
  const int T = 40, K = kBwdMergeK;  // 3 partials for groups 0–7, 2 for the rest; a ragged block
  const auto pdb = inputs::uniform(size_t(T) * K, 900), pdg = inputs::uniform(size_t(T) * K, 901);
  EXPECT_RACE_FREE(([&] {
                     const BwdMergeOut out = bwd_merge_gpu(
                         mrelu_bn_bwd_version::v2_tile_reduce_block_merge, pdb, pdg, T, K);
                     std::vector<float> all = out.dbeta;
                     all.insert(all.end(), out.dgamma.begin(), out.dgamma.end());
                     return all;
                   }),
                   0.0);
}

TEST(CudaBn, LaunchersRejectBadParams) {
  DeviceBuffer<float> f(64);
  DeviceBuffer<uint8_t> m(64);
  DeviceBuffer<uint32_t> bits(4);
  float* p = f.get();
  const bn_partials part{p, p, p};
  EXPECT_EQ(bn_stats_partials({0, 1, 1}, p, part, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(bn_stats_partials({1, 1, 1}, nullptr, part, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(bn_stats_partials({1, 1, 1}, p, {p, nullptr, p}, nullptr), cudaErrorInvalidValue);
  bn_finalize_params fp;
  fp.K = 2, fp.num_partials = 1;
  const bn_channel_affine aff{p, p, p, p};
  EXPECT_EQ(bn_finalize_train(fp, part, p, p, p, nullptr, aff, nullptr), cudaErrorInvalidValue);
  fp.eps = 0;
  EXPECT_EQ(bn_finalize_train(fp, part, p, p, nullptr, nullptr, aff, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(bn_finalize_eval(fp, p, p, p, p, aff, nullptr), cudaErrorInvalidValue);
  fp.eps = 1e-5f, fp.num_partials = 0;
  EXPECT_EQ(bn_finalize_train(fp, part, p, p, nullptr, nullptr, aff, nullptr),
            cudaErrorInvalidValue);
  fp.num_partials = 1, fp.momentum = 2.0f;
  EXPECT_EQ(bn_finalize_train(fp, part, p, p, nullptr, nullptr, aff, nullptr),
            cudaErrorInvalidValue);
  scale_shift_mrelu_params sp;
  sp.N = 1, sp.K = 2, sp.PQ = 3, sp.act = Act::MaskedReLU;
  EXPECT_EQ(scale_shift_mrelu(sp, p, p, p, nullptr, nullptr, p, bits.get(), nullptr),
            cudaErrorInvalidValue);  // masked without a mask
  sp.act = static_cast<Act>(7);
  EXPECT_EQ(scale_shift_mrelu(sp, p, p, p, nullptr, m.get(), p, bits.get(), nullptr),
            cudaErrorInvalidValue);
  sp.act = Act::ReLU, sp.PQ = 0;
  EXPECT_EQ(scale_shift_mrelu(sp, p, p, p, nullptr, nullptr, p, bits.get(), nullptr),
            cudaErrorInvalidValue);
  mrelu_bn_bwd_params bp;
  bp.N = 1, bp.K = 2, bp.PQ = 3;
  mrelu_bn_bwd_tensors bt;
  bt.da = p, bt.y = p, bt.mean = p, bt.invstd = p, bt.gamma = p, bt.dy = p, bt.dgamma = p,
  bt.dbeta = p;
  EXPECT_EQ(mrelu_bn_bwd(bp, bt, nullptr), cudaErrorInvalidValue);  // no workspace
  bt.workspace = p, bp.K = 0;
  EXPECT_EQ(mrelu_bn_bwd(bp, bt, nullptr), cudaErrorInvalidValue);
  bp.K = 2, bp.version = static_cast<mrelu_bn_bwd_version>(7);
  EXPECT_EQ(mrelu_bn_bwd(bp, bt, nullptr), cudaErrorInvalidValue);
  for (mrelu_bn_bwd_version v : kMreluBnBwdVersions) {
    EXPECT_EQ(mrelu_bn_bwd_merge(v, 0, 1, p, p, p, p, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(mrelu_bn_bwd_merge(v, 2, 0, p, p, p, p, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(mrelu_bn_bwd_merge(v, 2, 1, nullptr, p, p, p, nullptr), cudaErrorInvalidValue);
  }
  EXPECT_TRUE(f.guard_intact());
}
