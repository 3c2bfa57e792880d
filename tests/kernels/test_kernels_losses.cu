// tests/kernels/test_kernels_losses.cu — kernels/softmax_xent.h, kd_loss.h, pram_loss.h and l1.h against
// the CPU backend (engine/cpu/softmax.h, pram.h, l1.h).
// Tolerances (why):
//  * CE / KD loss: 2e-6 relative (+1e-7 absolute) — fp32 expf/logf and a fp32 Σexp per warp vs the
//    CPU's double Σexp: a few ulp per row, averaged.
//  * probabilities and gradients: 1e-6·max|ref| + 1e-5·|ref| — exp of a value that differs by a few
//    ulp (lse in fp32) → a few ulp relative, times the scale.
//  * PRAM q̂: 1e-6·max + 1e-5·|ref| (Σ_c of C fp32 squares vs double); loss: 1e-5 absolute relative
//    to Σ q̂² = B (each q̂_b has norm 1); dA: 1e-5·max|ref| + 1e-4·|ref| (dq is a difference
//    u − q̂(q̂·u) of similar terms).
//  * L1: 1e-6 relative to Σ|x| (double accumulation both sides); subgradient bitwise.
#include <cmath>

#include "engine/cpu/l1.h"
#include "engine/cpu/pram.h"
#include "engine/cpu/softmax.h"
#include "kernels/emu/race_check.h"
#include "kernels/kd_loss.h"
#include "kernels/l1.h"
#include "kernels/pram_loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax_xent.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace losses_tests {  // named: the test binaries are unity builds (tests/CMakeLists.txt)

// N = 1, K = 1, K not a multiple of 32, CIFAR-10/100 and Tiny-ImageNet heads at small batch
const std::pair<int64_t, int64_t> kShapes[] = {{1, 1},   {1, 10},  {3, 33},
                                               {9, 100}, {64, 10}, {5, 200}};

struct XentOut {
  float loss;
  std::vector<float> probs, dz;
};

XentOut gpu_xent(const std::vector<float>& z, const std::vector<int32_t>& y, int64_t N, int64_t K,
                 float g) {
  DeviceBuffer<float> dz_(z), probs(static_cast<size_t>(N * K)), rows(static_cast<size_t>(N)),
      loss(1), grad(std::vector<float>{g}), dz(static_cast<size_t>(N * K));
  DeviceBuffer<int32_t> dy(y);
  DeviceBuffer<uint32_t> flag(1);
  softmax_xent_params p;
  p.logits = dz_.get(), p.labels = dy.get(), p.N = N, p.K = K, p.probs = probs.get();
  p.row_loss = rows.get(), p.loss = loss.get(), p.bad_row = flag.get();
  EXPECT_EQ(softmax_xent_forward_launch(p, nullptr), cudaSuccess);
  softmax_xent_backward_params b;
  b.probs = probs.get(), b.labels = dy.get(), b.N = N, b.K = K, b.grad_loss = grad.get();
  b.dz = dz.get();
  EXPECT_EQ(softmax_xent_backward_launch(b, nullptr), cudaSuccess);
  EXPECT_TRUE(probs.guard_intact() && dz.guard_intact());
  return {loss.download()[0], probs.download(), dz.download()};
}

TEST(CudaSoftmaxXent, MatchesCpu) {
  for (auto [N, K] : kShapes) {
    SCOPED_TRACE(testing::Message() << N << "x" << K);
    const auto z = uniform(size_t(N * K), uint64_t(N * K), -8.f, 8.f);
    const auto y = labels(size_t(N), uint64_t(N), int(K));
    const auto got = gpu_xent(z, y, N, K, 0.7f);
    std::vector<float> p(z.size()), dz(z.size());
    const double ref = cpu::cross_entropy_forward(z.data(), y.data(), p.data(), N, K);
    cpu::cross_entropy_backward(p.data(), y.data(), 0.7f, dz.data(), N, K);
    EXPECT_NEAR(got.loss, ref, 2e-6 * std::fabs(ref) + 1e-7);
    EXPECT_TRUE(close(got.probs, p, 1e-6, 1e-5));
    EXPECT_TRUE(close(got.dz, dz, 1e-6, 1e-5));
  }
}

TEST(CudaSoftmaxXent, LargeLogitsStayFinite) {
  const int64_t N = 2, K = 40;
  auto z = uniform(size_t(N * K), 3, -1.f, 1.f);
  z[5] = 1e4f;  // exp would overflow without the max shift
  z[K + 7] = -1e4f;
  const std::vector<int32_t> y = {5, 7};
  const auto got = gpu_xent(z, y, N, K, 1.f);
  std::vector<float> p(z.size());
  const double ref = cpu::cross_entropy_forward(z.data(), y.data(), p.data(), N, K);
  EXPECT_TRUE(std::isfinite(got.loss));
  EXPECT_NEAR(got.loss, ref, 2e-6 * std::fabs(ref) + 1e-6);
}

TEST(CudaSoftmaxXent, BadLabelIsReported) {
  const int64_t N = 6, K = 10;
  const auto z = uniform(size_t(N * K), 4);
  for (int32_t bad : {-1, 10, 1000}) {
    auto y = labels(size_t(N), 5, int(K));
    y[4] = bad;
    y[2] = bad;  // the lowest bad row is reported
    DeviceBuffer<float> dz(z), probs(static_cast<size_t>(N * K)), rows(static_cast<size_t>(N)),
        loss(1);
    DeviceBuffer<int32_t> dy(y);
    DeviceBuffer<uint32_t> flag(1);
    softmax_xent_params p;
    p.logits = dz.get(), p.labels = dy.get(), p.N = N, p.K = K, p.probs = probs.get();
    p.row_loss = rows.get(), p.loss = loss.get(), p.bad_row = flag.get();
    int64_t row = -7;
    EXPECT_EQ(softmax_xent_forward_launch(p, nullptr, &row), cudaErrorInvalidValue);
    EXPECT_EQ(row, 2);
    EXPECT_TRUE(std::isnan(loss.download()[0]));
    p.check_labels = false;  // no sync: the flag is left for the caller
    EXPECT_EQ(softmax_xent_forward_launch(p, nullptr), cudaSuccess);
    EXPECT_EQ(flag.download()[0], 2u);
  }
}

TEST(CudaSoftmaxXent, RaceFreeAndRejectsBadParams) {
  const int64_t N = 37, K = 45;
  const auto z = uniform(size_t(N * K), 6, -5.f, 5.f);
  const auto y = labels(size_t(N), 7, int(K));
  EXPECT_RACE_FREE(
      [&] {
        auto r = gpu_xent(z, y, N, K, 1.f);
        r.probs.push_back(r.loss);
        return r.probs;
      },
      0.0);
  softmax_xent_params p;
  EXPECT_EQ(softmax_xent_forward_launch(p, nullptr), cudaErrorInvalidValue);
  softmax_xent_backward_params b;
  b.N = 3, b.K = 0;
  EXPECT_EQ(softmax_xent_backward_launch(b, nullptr), cudaErrorInvalidValue);
}

struct KdOut {
  float loss;
  std::vector<float> ps, pt, dz;
};
KdOut gpu_kd(const std::vector<float>& zs, const std::vector<float>& zt, int64_t N, int64_t K,
             float T, float g) {
  DeviceBuffer<float> s(zs), t(zt), ps(static_cast<size_t>(N * K)), pt(static_cast<size_t>(N * K)),
      rows(static_cast<size_t>(N)), loss(1), dz(static_cast<size_t>(N * K));
  kd_forward_params f;
  f.zs = s.get(), f.zt = t.get(), f.N = N, f.K = K, f.T = T, f.ps = ps.get(), f.pt = pt.get();
  f.row_kl = rows.get(), f.loss = loss.get();
  EXPECT_EQ(kd_forward_launch(f, nullptr), cudaSuccess);
  kd_backward_params b;
  b.ps = ps.get(), b.pt = pt.get(), b.N = N, b.K = K, b.T = T, b.scale = g, b.dzs = dz.get();
  EXPECT_EQ(kd_backward_launch(b, nullptr), cudaSuccess);
  return {loss.download()[0], ps.download(), pt.download(), dz.download()};
}

TEST(CudaKdLoss, MatchesCpu) {
  for (auto [N, K] : kShapes)
    for (float T : {1.f, 4.f}) {
      SCOPED_TRACE(testing::Message() << N << "x" << K << " T=" << T);
      const auto zs = uniform(size_t(N * K), uint64_t(N * K), -6.f, 6.f);
      const auto zt = uniform(size_t(N * K), uint64_t(N * K + 1), -6.f, 6.f);
      const auto got = gpu_kd(zs, zt, N, K, T, 0.5f);
      std::vector<float> ps(zs.size()), pt(zs.size()), dz(zs.size());
      const double ref = cpu::kd_forward(zs.data(), zt.data(), N, K, T, ps.data(), pt.data());
      cpu::kd_backward(ps.data(), pt.data(), N, K, T, 0.5f, dz.data());
      EXPECT_NEAR(got.loss, ref, 2e-6 * std::fabs(ref) + 1e-7 * T * T);
      EXPECT_TRUE(close(got.ps, ps, 1e-6, 1e-5));
      EXPECT_TRUE(close(got.pt, pt, 1e-6, 1e-5));
      EXPECT_TRUE(close(got.dz, dz, 1e-6, 1e-5));
    }
}

TEST(CudaKdLoss, IdenticalLogitsGiveZeroAndRaceFree) {
  const int64_t N = 20, K = 100;
  const auto z = uniform(size_t(N * K), 9, -4.f, 4.f);
  const auto same = gpu_kd(z, z, N, K, 4.f, 1.f);
  EXPECT_NEAR(same.loss, 0.f, 1e-6);
  const auto zt = uniform(size_t(N * K), 10, -4.f, 4.f);
  EXPECT_RACE_FREE(
      [&] {
        auto r = gpu_kd(z, zt, N, K, 4.f, 1.f);
        r.dz.push_back(r.loss);
        return r.dz;
      },
      0.0);
  kd_forward_params f;
  f.N = 2, f.K = 3, f.T = 0.f;
  EXPECT_EQ(kd_forward_launch(f, nullptr), cudaErrorInvalidValue);
}

struct PramOut {
  float loss;
  std::vector<float> qs, qt, ns, da;
};
PramOut gpu_pram(const std::vector<float>& as, const std::vector<float>& at, int64_t B, int64_t C,
                 int64_t HW, float g) {
  DeviceBuffer<float> s(as), t(at), qs(static_cast<size_t>(B * HW)),
      qt(static_cast<size_t>(B * HW)), ns(static_cast<size_t>(B)), nt(static_cast<size_t>(B)),
      rows(static_cast<size_t>(B)), loss(1), grad(std::vector<float>{g}),
      dq(static_cast<size_t>(B * HW)), da(as.size());
  pram_forward_params f;
  f.a_s = s.get(), f.a_t = t.get(), f.B = B, f.C = C, f.HW = HW, f.qs = qs.get(), f.qt = qt.get();
  f.norm_s = ns.get(), f.norm_t = nt.get(), f.row_dist = rows.get(), f.loss = loss.get();
  EXPECT_EQ(pram_forward_launch(f, nullptr), cudaSuccess);
  pram_backward_params b;
  b.a_s = s.get(), b.qs = qs.get(), b.norm_s = ns.get(), b.qt = qt.get(), b.B = B, b.C = C;
  b.HW = HW, b.grad_loss = grad.get(), b.dq = dq.get(), b.da = da.get();
  EXPECT_EQ(pram_backward_launch(b, nullptr), cudaSuccess);
  EXPECT_TRUE(da.guard_intact() && qs.guard_intact());
  return {loss.download()[0], qs.download(), qt.download(), ns.download(), da.download()};
}

struct PramShape {
  int64_t B, C, HW;
};
// B = 1, C = 1, HW = 1, HW above the block (257, 1024 = 32×32), ResNet-18 stage ends at small B
const PramShape kPram[] = {{1, 1, 1},   {1, 3, 7},     {2, 5, 257},
                           {3, 64, 64}, {2, 16, 1024}, {2, 512, 16}};

TEST(CudaPramLoss, MatchesCpu) {
  for (const auto& s : kPram) {
    SCOPED_TRACE(testing::Message() << s.B << "x" << s.C << "x" << s.HW);
    const size_t n = size_t(s.B * s.C * s.HW);
    const auto as = uniform(n, n, 0.f, 2.f), at = uniform(n, n + 1, 0.f, 2.f);  // post-ReLU ≥ 0
    const auto got = gpu_pram(as, at, s.B, s.C, s.HW, 3.f);
    std::vector<float> qs(size_t(s.B * s.HW)), qt(qs.size()), ns(size_t(s.B)), nt(ns.size()), da(n);
    cpu::pram_attention(as.data(), qs.data(), ns.data(), s.B, s.C, s.HW);
    cpu::pram_attention(at.data(), qt.data(), nt.data(), s.B, s.C, s.HW);
    const double ref = cpu::pram_distance(qs.data(), qt.data(), s.B, s.HW);
    cpu::pram_backward(as.data(), qs.data(), ns.data(), qt.data(), s.B, s.C, s.HW, 3.f, da.data());
    EXPECT_TRUE(close(got.qs, qs, 1e-6, 1e-5));
    EXPECT_TRUE(close(got.qt, qt, 1e-6, 1e-5));
    EXPECT_TRUE(close(got.ns, ns, 1e-6, 1e-5));
    EXPECT_NEAR(got.loss, ref, 1e-5 * double(s.B) / double(s.B * s.HW) + 1e-6 * ref);
    EXPECT_TRUE(close(got.da, da, 1e-5, 1e-4));
  }
}

TEST(CudaPramLoss, ScaleInvarianceZeroActivationsAndRaceFree) {
  const int64_t B = 3, C = 8, HW = 300;
  const size_t n = size_t(B * C * HW);
  auto at = uniform(n, 1, 0.f, 1.f);
  auto as = at;
  for (float& v : as) v *= 2.f;  // q̂ is invariant to scaling A: L = 0
  EXPECT_NEAR(gpu_pram(as, at, B, C, HW, 1.f).loss, 0.f, 1e-9);
  std::fill(as.begin(), as.begin() + C * HW, 0.f);  // sample 0 all zero: clamped norm, finite
  const auto z = gpu_pram(as, at, B, C, HW, 1.f);
  EXPECT_TRUE(std::isfinite(z.loss));
  for (float v : z.da) ASSERT_TRUE(std::isfinite(v));
  const auto as2 = uniform(n, 2, 0.f, 1.f);
  EXPECT_RACE_FREE(
      [&] {
        auto r = gpu_pram(as2, at, B, C, HW, 1.f);
        r.da.push_back(r.loss);
        r.da.insert(r.da.end(), r.qs.begin(), r.qs.end());
        return r.da;
      },
      0.0);
  pram_forward_params f;
  f.B = 1, f.C = 0, f.HW = 4;
  EXPECT_EQ(pram_forward_launch(f, nullptr), cudaErrorInvalidValue);
  pram_backward_params b;
  EXPECT_EQ(pram_backward_launch(b, nullptr), cudaErrorInvalidValue);
}

TEST(CudaL1, ForwardAndSubgradientMatchCpu) {
  for (int64_t n : {int64_t(1), int64_t(255), int64_t(4097), int64_t(70000)}) {
    SCOPED_TRACE(n);
    auto x = uniform(size_t(n), uint64_t(n), -1.f, 1.f);
    x[0] = 0.f;  // sign(0) = 0
    DeviceBuffer<float> dx(x), out(1), g(static_cast<size_t>(n)), gl(std::vector<float>{2.f});
    DeviceBuffer<double> partials(static_cast<size_t>(sum_partials_count(n)));
    CUDA_OK(l1_forward_launch({dx.get(), n, out.get(), nullptr, partials.get()}, nullptr));
    const double ref = cpu::l1_forward(x.data(), n);
    EXPECT_NEAR(out.download()[0], ref, 1e-6 * ref);
    CUDA_OK(l1_backward_launch({dx.get(), gl.get(), 0.25f, g.get(), n}, nullptr));
    std::vector<float> rg(static_cast<size_t>(n));
    cpu::l1_backward(x.data(), 0.5f, rg.data(), n);
    EXPECT_TRUE(bitwise_equal(g.download(), rg));
  }
  EXPECT_EQ(l1_backward_launch({nullptr, nullptr, 1.f, nullptr, 5}, nullptr),
            cudaErrorInvalidValue);
}

}  // namespace losses_tests
