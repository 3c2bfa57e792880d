// tests/cpu/test_winograd.cpp — F(2×2, 3×3) (engine/cpu/winograd.h) for every ISA this CPU has:
//   - exact: small integers (|v| ≤ 3) keep every partial sum exact (the transforms only add,
//     subtract and halve), so fprop, dgrad and wgrad equal the plain-loop definition bit for bit,
//     on odd and even planes, channel counts that are not multiples of 16 or 8, N = 1;
//   - random data: within 2e-5 of the largest |value| of the im2col path (the oracle);
//   - reproducible: bitwise the same on 1, 2 and 3 threads;
//   - the filter transforms: U for a delta filter, and wgrad's Gᵀ·G inverse on the same.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/winograd.h"
#include "tests/support/conv_reference.h"

using namespace senet;
using senet::test::conv2d_backward_reference;
using senet::test::expect_bitwise;
using senet::test::ThreadCount;

namespace {

struct Case {
  int N, C, H, W, K;
};
const std::vector<Case> kCases = {{1, 3, 7, 9, 5},   {2, 16, 8, 8, 16}, {2, 17, 6, 5, 18},  {3, 32, 4, 4, 64},
                                  {2, 64, 4, 4, 32}, {2, 8, 9, 7, 8},   {1, 40, 16, 16, 24}, {4, 5, 2, 2, 3},
                                  {2, 64, 8, 8, 64}, {1, 1, 1, 1, 1},   {2, 33, 11, 3, 70}};

std::vector<float> ints(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(int(rand_below(seed, 0, i, 7)) - 3);
  return v;
}
std::vector<float> normals(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = rand_normal(seed, 0, i);
  return v;
}
std::vector<cpu::CpuIsa> isas() {
  std::vector<cpu::CpuIsa> out;
  for (cpu::CpuIsa i : {cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx2})
    if (cpu::cpu_supports(i)) out.push_back(i);
  return out;
}
cpu::Conv2dGeom geom(const Case& c) { return cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, 3, 3, 1, 1); }
std::string name(const Case& c, cpu::CpuIsa isa) {
  return std::string(cpu::isa_name(isa)) + " N" + std::to_string(c.N) + " " + std::to_string(c.C) + "→" +
         std::to_string(c.K) + " " + std::to_string(c.H) + "x" + std::to_string(c.W);
}

// dY_g for images n0..n0+gn−1 side by side ([K, gn·PQ]), as conv2d_bprop asks for it.
cpu::ConvDyFill dy_of(const cpu::Conv2dGeom& g, const std::vector<float>& dy) {
  return [&g, &dy](int, int n0, int gn, float* scratch) -> const float* {
    const int64_t PQ = g.PQ();
    if (gn == 1) return dy.data() + size_t(n0) * g.K * PQ;
    for (int j = 0; j < gn; ++j)
      for (int k = 0; k < g.K; ++k)
        for (int64_t i = 0; i < PQ; ++i)
          scratch[(k * gn + j) * PQ + i] = dy[(size_t(n0 + j) * g.K + k) * PQ + size_t(i)];
    return scratch;
  };
}

struct Result {
  std::vector<float> y, dx, dw;
};
Result run(const cpu::Conv2dGeom& g, const std::vector<float>& x, const std::vector<float>& w,
           const std::vector<float>& dy, cpu::CpuIsa isa) {
  Result r;
  r.y.assign(size_t(g.N) * g.K * g.PQ(), -7.f);
  r.dx.assign(x.size(), -7.f);
  r.dw.assign(w.size(), -7.f);
  cpu::winograd_fprop(g, x.data(), w.data(), r.y.data(), {}, isa);
  cpu::winograd_bprop(g, x.data(), w.data(), dy_of(g, dy), r.dx.data(), r.dw.data(), isa);
  return r;
}

}  // namespace

TEST(Winograd, SupportedFor3x3Stride1Pad1Only) {
  if (isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  EXPECT_TRUE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 1)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 2, 1)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 1, 1, 1, 0)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 0)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 1), cpu::CpuIsa::Generic));
}

// U = G g Gᵀ of the filter with a single 1 at the centre, and back: Gᵀ dU G of that U's pattern is
// what wgrad computes for a one-tile sum; checked through the full passes below, here the transform
// alone: for g = δ(1,1), U = h·hᵀ with h = (0, ½, −½, 0).
TEST(Winograd, FilterTransformOfACentreDelta) {
  std::vector<float> w(9, 0.f);
  w[4] = 1.f;
  std::vector<float> U(16);
  cpu::winograd_filter_transform(w.data(), 1, 1, false, U.data(), 1);
  const float h[4] = {0.f, 0.5f, -0.5f, 0.f};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(U[size_t(i * 4 + j)], h[i] * h[j]) << i << "," << j;
}

TEST(Winograd, IntegerInputsMatchTheDefinitionBitwise) {
  if (isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (int threads : {1, 2}) {
    ThreadCount tc(threads);
    for (auto isa : isas())
      for (size_t ci = 0; ci < kCases.size(); ++ci) {
        const auto g = geom(kCases[ci]);
        SCOPED_TRACE(name(kCases[ci], isa) + " threads " + std::to_string(threads));
        auto x = ints(size_t(g.N) * g.C * g.HW(), 10 + ci);
        auto w = ints(size_t(g.K) * g.CRS(), 20 + ci);
        auto dy = ints(size_t(g.N) * g.K * g.PQ(), 30 + ci);
        Result r = run(g, x, w, dy, isa);
        std::vector<float> ref(r.y.size());
        cpu::conv2d_reference(g, x.data(), w.data(), nullptr, ref.data());
        EXPECT_EQ(r.y, ref) << "fprop";
        std::vector<double> dx, dw;
        conv2d_backward_reference(g, x.data(), w.data(), dy.data(), dx, dw);
        expect_bitwise(r.dx, dx, "dgrad");
        expect_bitwise(r.dw, dw, "wgrad");
      }
  }
}

// Random N(0,1) data: Winograd's transforms add a few roundings per output (|U| ≤ 2.25·max|g|, |V| ≤
// 4·max|d|), so the tolerance is 2e-5 of the largest |value| (the direct kernels meet 1e-5).
TEST(Winograd, RandomInputsMatchTheIm2colPath) {
  if (isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : isas())
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      const auto g = geom(kCases[ci]);
      SCOPED_TRACE(name(kCases[ci], isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 40 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 50 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 60 + ci);
      Result r = run(g, x, w, dy, isa);
      std::vector<float> y(r.y.size()), dx(x.size()), dw(w.size());
      cpu::conv2d_fprop_im2col(g, x.data(), w.data(), y.data(), {});
      cpu::conv2d_bprop_im2col(g, x.data(), w.data(), dy_of(g, dy), dx.data(), dw.data());
      auto check = [](const std::vector<float>& got, const std::vector<float>& want, const char* what) {
        double scale = 0, err = 0;
        for (size_t i = 0; i < want.size(); ++i) {
          scale = std::max(scale, double(std::fabs(want[i])));
          err = std::max(err, double(std::fabs(got[i] - want[i])));
        }
        EXPECT_LE(err, 2e-5 * scale) << what << ": max |diff| " << err << " of max |value| " << scale;
      };
      check(r.y, y, "fprop");
      check(r.dx, dx, "dgrad");
      check(r.dw, dw, "wgrad");
    }
}

TEST(Winograd, BitwiseReproducibleAcrossThreadCounts) {
  if (isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : isas())
    for (size_t ci : {1, 3, 6, 8}) {
      const auto g = geom(kCases[ci]);
      SCOPED_TRACE(name(kCases[ci], isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 70 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 80 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 90 + ci);
      Result one;
      {
        ThreadCount tc(1);
        one = run(g, x, w, dy, isa);
      }
      for (int t : {2, 3}) {
        ThreadCount tc(t);
        Result r = run(g, x, w, dy, isa);
        EXPECT_EQ(r.y, one.y) << t << " threads";
        EXPECT_EQ(r.dx, one.dx) << t << " threads";
        EXPECT_EQ(r.dw, one.dw) << t << " threads";
      }
    }
}
