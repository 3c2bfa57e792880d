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
#include "tests/cpu/conv_kernel_test.h"
#include "tests/support/conv_reference.h"

using namespace senet;
using senet::test::conv2d_backward_reference;
using senet::test::expect_bitwise;
using senet::test::ThreadCount;
using namespace senet::test;

namespace {

struct Case {
  int N, C, H, W, K;
};
const std::vector<Case> kCases = {{1, 3, 7, 9, 5},     {2, 16, 8, 8, 16}, {2, 17, 6, 5, 18},
                                  {3, 32, 4, 4, 64},   {2, 64, 4, 4, 32}, {2, 8, 9, 7, 8},
                                  {1, 40, 16, 16, 24}, {4, 5, 2, 2, 3},   {2, 64, 8, 8, 64},
                                  {1, 1, 1, 1, 1},     {2, 33, 11, 3, 70}};

cpu::Conv2dGeom geom(const Case& c) {
  return cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, 3, 3, 1, 1);
}
std::string name(const Case& c, cpu::CpuIsa isa) {
  return std::string(cpu::isa_name(isa)) + " N" + std::to_string(c.N) + " " + std::to_string(c.C) +
         "→" + std::to_string(c.K) + " " + std::to_string(c.H) + "x" + std::to_string(c.W);
}

ConvResult run(const cpu::Conv2dGeom& g, const std::vector<float>& x, const std::vector<float>& w,
               const std::vector<float>& dy, cpu::CpuIsa isa) {
  return run_conv(
      g, x, w, dy, [&](float* y) { cpu::winograd_fprop(g, x.data(), w.data(), y, {}, isa); },
      [&](const cpu::ConvDyFill& f, float* dx, float* dw) {
        cpu::winograd_bprop(g, x.data(), w.data(), f, dx, dw, isa);
      });
}

}  // namespace

TEST(Winograd, SupportedFor3x3Stride1Pad1Only) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  EXPECT_TRUE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 1)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 2, 1)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 1, 1, 1, 0)));
  EXPECT_FALSE(cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 0)));
  EXPECT_FALSE(
      cpu::winograd_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 1), cpu::CpuIsa::Generic));
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
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (int threads : {1, 2}) {
    ThreadCount tc(threads);
    for (auto isa : vector_isas())
      for (size_t ci = 0; ci < kCases.size(); ++ci) {
        const auto g = geom(kCases[ci]);
        SCOPED_TRACE(name(kCases[ci], isa) + " threads " + std::to_string(threads));
        auto x = small_ints(size_t(g.N) * g.C * g.HW(), 10 + ci);
        auto w = small_ints(size_t(g.K) * g.CRS(), 20 + ci);
        auto dy = small_ints(size_t(g.N) * g.K * g.PQ(), 30 + ci);
        expect_definition(g, x, w, dy, run(g, x, w, dy, isa));
      }
  }
}

// Random N(0,1) data: Winograd's transforms add a few roundings per output (|U| ≤ 2.25·max|g|, |V| ≤
// 4·max|d|), so the tolerance is 2e-5 of the largest |value| (the direct kernels meet 1e-5).
TEST(Winograd, RandomInputsMatchTheIm2colPath) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : vector_isas())
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      const auto g = geom(kCases[ci]);
      SCOPED_TRACE(name(kCases[ci], isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 40 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 50 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 60 + ci);
      expect_im2col(g, x, w, dy, run(g, x, w, dy, isa), 2e-5);
    }
}

TEST(Winograd, BitwiseReproducibleAcrossThreadCounts) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : vector_isas())
    for (size_t ci : {1, 3, 6, 8}) {
      const auto g = geom(kCases[ci]);
      SCOPED_TRACE(name(kCases[ci], isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 70 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 80 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 90 + ci);
      ConvResult one;
      {
        ThreadCount tc(1);
        one = run(g, x, w, dy, isa);
      }
      for (int t : {2, 3}) {
        ThreadCount tc(t);
        ConvResult r = run(g, x, w, dy, isa);
        EXPECT_EQ(r.y, one.y) << t << " threads";
        EXPECT_EQ(r.dx, one.dx) << t << " threads";
        EXPECT_EQ(r.dw, one.dw) << t << " threads";
      }
    }
}
