// tests/cpu/test_direct_conv.cpp — the direct convolution kernels (engine/cpu/direct_conv.h), for
// every ISA this CPU has (AVX-512 and AVX2 on an AVX-512 machine):
//   - exact: small integers (|v| ≤ 3) keep every fp32 partial sum exact, so fprop, dgrad and wgrad
//     must equal the plain-loop definition bit for bit, on the edge-case shapes (odd sizes, C and K
//     not multiples of 16 or 8, N = 1, stride 2, pad 0/1, 1×1) and small ResNet layers;
//   - random data: within 1e-5 relative of the im2col path (the oracle);
//   - reproducible: bitwise the same result on 1, 2 and 3 threads;
//   - the input map (prologue fusion) equals mapping the input first, padded taps staying 0;
//   - the rows hook sees every output row once, after it is written.
#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/direct_conv.h"
#include "tests/cpu/conv_kernel_test.h"
#include "tests/support/conv_reference.h"

using namespace senet;
using senet::test::conv2d_backward_reference;
using senet::test::expect_bitwise;
using senet::test::ThreadCount;
using namespace senet::test;

namespace {

struct Case {
  int N, C, H, W, K, R, S, stride, pad;
};
const std::vector<Case> kCases = {
    {1, 3, 7, 9, 5, 3, 3, 1, 1},    {2, 5, 7, 9, 4, 3, 3, 2, 1},     {2, 3, 7, 9, 7, 3, 3, 1, 0},
    {3, 5, 7, 9, 3, 1, 1, 1, 0},    {3, 5, 7, 9, 6, 1, 1, 2, 0},     {5, 6, 4, 4, 7, 3, 3, 1, 1},
    {1, 1, 3, 3, 1, 3, 3, 1, 0},    {2, 17, 6, 5, 18, 3, 3, 1, 1},   {2, 16, 8, 8, 16, 3, 3, 1, 1},
    {3, 16, 8, 8, 32, 3, 3, 2, 1},  {2, 16, 8, 8, 32, 1, 1, 2, 0},   {2, 8, 32, 32, 8, 3, 3, 1, 1},
    {2, 1, 32, 32, 8, 3, 3, 1, 1},  {2, 33, 4, 4, 64, 3, 3, 1, 1},   {2, 64, 4, 4, 64, 3, 3, 1, 1},
    {2, 32, 8, 8, 64, 3, 3, 2, 1},  {2, 32, 8, 8, 64, 1, 1, 2, 0},   {2, 24, 5, 5, 40, 1, 1, 1, 0},
    {2, 9, 13, 11, 23, 3, 3, 2, 1}, {4, 12, 16, 16, 20, 3, 3, 1, 1}, {1, 3, 9, 8, 70, 3, 3, 2, 0},
    {2, 5, 6, 7, 9, 2, 2, 1, 1},    {2, 5, 7, 6, 9, 2, 3, 2, 1},
};

cpu::Conv2dGeom geom(const Case& c) {
  return cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
}

std::string name(const Case& c, cpu::CpuIsa isa) {
  char b[160];
  std::snprintf(b, sizeof b, "%s N%d %d→%d %dx%d k%dx%d s%d p%d", cpu::isa_name(isa), c.N, c.C, c.K,
                c.H, c.W, c.R, c.S, c.stride, c.pad);
  return b;
}

ConvResult run_direct(const cpu::Conv2dGeom& g, const std::vector<float>& x,
                      const std::vector<float>& w, const std::vector<float>& dy, cpu::CpuIsa isa,
                      const cpu::ConvInputMap* m = nullptr) {
  return run_conv(
      g, x, w, dy, [&](float* y) { cpu::direct_conv_fprop(g, x.data(), w.data(), y, {}, m, isa); },
      [&](const cpu::ConvDyFill& f, float* dx, float* dw) {
        cpu::direct_conv_bprop(g, x.data(), w.data(), f, dx, dw, m, isa);
      });
}

}  // namespace

TEST(DirectConv, SupportedWhereTheCpuHasTheIsa) {
  if (vector_isas().empty())
    GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2: the im2col path runs";
  const auto g = cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 1, 1);
  for (auto isa : vector_isas())
    EXPECT_TRUE(cpu::direct_conv_supported(g, isa)) << cpu::isa_name(isa);
  EXPECT_FALSE(cpu::direct_conv_supported(g, cpu::CpuIsa::Generic));
  EXPECT_FALSE(cpu::direct_conv_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 5, 5, 1, 2)));  // 5×5
  EXPECT_FALSE(
      cpu::direct_conv_supported(cpu::conv2d_geom(2, 16, 8, 8, 16, 3, 3, 3, 1)));  // stride 3
}

TEST(DirectConv, IntegerInputsMatchTheDefinitionBitwise) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (int threads : {1, 2}) {
    ThreadCount tc(threads);
    for (auto isa : vector_isas())
      for (size_t ci = 0; ci < kCases.size(); ++ci) {
        const Case& c = kCases[ci];
        const auto g = geom(c);
        SCOPED_TRACE(name(c, isa) + " threads " + std::to_string(threads));
        auto x = small_ints(size_t(g.N) * g.C * g.HW(), 10 + ci, -3, 3);
        auto w = small_ints(size_t(g.K) * g.CRS(), 20 + ci, -3, 3);
        auto dy = small_ints(size_t(g.N) * g.K * g.PQ(), 30 + ci, -3, 3);
        expect_definition(g, x, w, dy, run_direct(g, x, w, dy, isa));
      }
  }
}

// Random N(0,1) data against the im2col + GEMM path: different summation orders, so a tolerance
// of 1e-5 relative to the largest |value| of each result (sums of ≤ 9·C products of O(1) terms).
TEST(DirectConv, RandomInputsMatchTheIm2colPath) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : vector_isas())
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      const Case& c = kCases[ci];
      const auto g = geom(c);
      SCOPED_TRACE(name(c, isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 40 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 50 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 60 + ci);
      expect_im2col(g, x, w, dy, run_direct(g, x, w, dy, isa), 1e-5);
    }
}

// Every output element has one owner thread and a fixed summation order: bitwise the same on 1, 2
// and 3 threads (wgrad included: its units own whole weight blocks, no per-thread partial sums).
TEST(DirectConv, BitwiseReproducibleAcrossThreadCounts) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : vector_isas())
    for (size_t ci : {8, 13, 15, 19}) {
      const Case& c = kCases[ci];
      const auto g = geom(c);
      SCOPED_TRACE(name(c, isa));
      auto x = normals(size_t(g.N) * g.C * g.HW(), 70 + ci);
      auto w = normals(size_t(g.K) * g.CRS(), 80 + ci);
      auto dy = normals(size_t(g.N) * g.K * g.PQ(), 90 + ci);
      ConvResult one;
      {
        ThreadCount tc(1);
        one = run_direct(g, x, w, dy, isa);
      }
      for (int t : {2, 3}) {
        ThreadCount tc(t);
        ConvResult r = run_direct(g, x, w, dy, isa);
        EXPECT_EQ(r.y, one.y) << t << " threads";
        EXPECT_EQ(r.dx, one.dx) << t << " threads";
        EXPECT_EQ(r.dw, one.dw) << t << " threads";
      }
    }
}

// The input map: x' = relu_m(x·scale[c] + shift[c]) with a per-element mask; equal to mapping the
// input first (padding is zero in x', even though shift ≠ 0), for fprop and wgrad; dgrad does not
// involve x.
TEST(DirectConv, InputMapEqualsMappingTheInputFirst) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  for (auto isa : vector_isas())
    for (size_t ci : {0, 1, 7, 11, 15}) {
      const Case& c = kCases[ci];
      const auto g = geom(c);
      SCOPED_TRACE(name(c, isa));
      auto x = small_ints(size_t(g.N) * g.C * g.HW(), 100 + ci, -3, 3);
      auto w = small_ints(size_t(g.K) * g.CRS(), 110 + ci, -3, 3);
      auto dy = small_ints(size_t(g.N) * g.K * g.PQ(), 120 + ci, -3, 3);
      std::vector<float> scale(size_t(g.C)), shift(size_t(g.C));
      for (int k = 0; k < g.C; ++k)
        scale[size_t(k)] = float(k % 3 - 1) * 2.f + 1.f, shift[size_t(k)] = float(k % 4) - 1.f;
      std::vector<uint8_t> mask(size_t(g.C) * g.HW());
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = uint8_t(rand_below(130 + ci, 0, i, 2));
      cpu::ConvInputMap m{scale.data(), shift.data(), Act::MaskedReLU, mask.data()};
      std::vector<float> xm(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        const size_t ch = (i / size_t(g.HW())) % size_t(g.C), pos = i % size_t(g.C * g.HW());
        float z = x[i] * scale[ch] + shift[ch];
        xm[i] = (mask[pos] && z <= 0.f) ? 0.f : z;
      }
      expect_definition(g, xm, w, dy, run_direct(g, x, w, dy, isa, &m), "of the mapped input");
    }
}

TEST(DirectConv, RowsHookSeesEveryOutputRowOnceAfterItIsWritten) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2";
  ThreadCount tc(2);
  for (auto isa : vector_isas())
    for (size_t ci : {2, 12, 14}) {
      const Case& c = kCases[ci];
      const auto g = geom(c);
      SCOPED_TRACE(name(c, isa));
      auto x = small_ints(size_t(g.N) * g.C * g.HW(), 140 + ci, -3, 3);
      auto w = small_ints(size_t(g.K) * g.CRS(), 150 + ci, -3, 3);
      std::vector<float> y(size_t(g.N) * g.K * g.PQ()), ref(y.size());
      cpu::conv2d_reference(g, x.data(), w.data(), nullptr, ref.data());
      std::vector<int> seen(size_t(g.N) * g.K, 0);
      std::mutex mu;
      bool rows_ok = true;
      cpu::direct_conv_fprop(
          g, x.data(), w.data(), y.data(),
          [&](int, int n, int k0, int k1, float* rows) {
            std::lock_guard<std::mutex> lock(mu);
            EXPECT_EQ(rows, y.data() + (size_t(n) * g.K + k0) * g.PQ());
            for (int k = k0; k < k1; ++k) seen[size_t(n) * g.K + k]++;
            for (int64_t i = 0; i < (k1 - k0) * g.PQ(); ++i)
              rows_ok &= rows[i] == ref[(size_t(n) * g.K + k0) * g.PQ() + size_t(i)];
          },
          nullptr, isa);
      EXPECT_TRUE(rows_ok) << "a hook saw rows before they were final";
      for (int s : seen) EXPECT_EQ(s, 1);
    }
}
