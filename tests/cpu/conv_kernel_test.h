// tests/cpu/conv_kernel_test.h — what the CPU conv kernel tests share (test_direct_conv,
// test_winograd): data (small integers, N(0,1)), the vector ISAs this CPU has, dY in the layout
// conv2d_bprop asks for, the three passes of one algorithm, and the tolerance check against the
// im2col path.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/conv2d.h"
#include "engine/cpu/cpu_isa.h"
#include "tests/support/conv_reference.h"

namespace senet::test {

inline std::vector<float> small_ints(size_t n, uint64_t seed, int lo = -3, int hi = 3) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = float(lo + int(rand_below(seed, 0, i, uint32_t(hi - lo + 1))));
  return v;
}
inline std::vector<float> normals(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = rand_normal(seed, 0, i);
  return v;
}

// AVX-512 and AVX2 where the CPU has them (the vector kernels' ISAs).
inline std::vector<cpu::CpuIsa> vector_isas() {
  std::vector<cpu::CpuIsa> out;
  for (cpu::CpuIsa i : {cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx2})
    if (cpu::cpu_supports(i)) out.push_back(i);
  return out;
}

// dY_g for images n0..n0+gn−1 side by side ([K, gn·PQ]), as conv2d_bprop asks for it.
inline cpu::ConvDyFill dy_of(const cpu::Conv2dGeom& g, const std::vector<float>& dy) {
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

// y, dx, dw of one algorithm (outputs pre-filled with −7, so a skipped element shows).
struct ConvResult {
  std::vector<float> y, dx, dw;
};
template <class Fprop, class Bprop>
ConvResult run_conv(const cpu::Conv2dGeom& g, const std::vector<float>& x,
                    const std::vector<float>& w, const std::vector<float>& dy, Fprop fprop,
                    Bprop bprop) {
  ConvResult r;
  r.y.assign(size_t(g.N) * g.K * g.PQ(), -7.f);
  r.dx.assign(x.size(), -7.f);
  r.dw.assign(w.size(), -7.f);
  fprop(r.y.data());
  bprop(dy_of(g, dy), r.dx.data(), r.dw.data());
  return r;
}

// max |got − want| ≤ rtol · max |want| (the scale of a conv result: sums of products of O(1) terms).
inline void expect_within(const std::vector<float>& got, const std::vector<float>& want,
                          double rtol, const char* what) {
  double scale = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, double(std::fabs(want[i])));
    err = std::max(err, double(std::fabs(got[i] - want[i])));
  }
  EXPECT_LE(err, rtol * scale) << what << ": max |diff| " << err << " of max |value| " << scale;
}

// y, dx, dw of the im2col path, the oracle of the random-data tests.
inline ConvResult im2col_result(const cpu::Conv2dGeom& g, const std::vector<float>& x,
                                const std::vector<float>& w, const std::vector<float>& dy) {
  return run_conv(
      g, x, w, dy, [&](float* y) { cpu::conv2d_fprop_im2col(g, x.data(), w.data(), y, {}); },
      [&](const cpu::ConvDyFill& f, float* dx, float* dw) {
        cpu::conv2d_bprop_im2col(g, x.data(), w.data(), f, dx, dw);
      });
}

// The result equals the plain-loop definition bit for bit (small-integer data: every sum exact).
// `what` names the input in failure messages (e.g. "of the mapped input").
inline void expect_definition(const cpu::Conv2dGeom& g, const std::vector<float>& x,
                              const std::vector<float>& w, const std::vector<float>& dy,
                              const ConvResult& r, const std::string& what = "") {
  std::vector<float> ref(r.y.size());
  cpu::conv2d_reference(g, x.data(), w.data(), nullptr, ref.data());
  EXPECT_EQ(r.y, ref) << "fprop " << what;
  std::vector<double> dx, dw;
  conv2d_backward_reference(g, x.data(), w.data(), dy.data(), dx, dw);
  expect_bitwise(r.dx, dx, "dgrad " + what);
  expect_bitwise(r.dw, dw, "wgrad " + what);
}

// The result is within rtol of the im2col path, pass by pass (random data).
inline void expect_im2col(const cpu::Conv2dGeom& g, const std::vector<float>& x,
                          const std::vector<float>& w, const std::vector<float>& dy,
                          const ConvResult& r, double rtol) {
  const ConvResult ref = im2col_result(g, x, w, dy);
  expect_within(r.y, ref.y, rtol, "fprop");
  expect_within(r.dx, ref.dx, rtol, "dgrad");
  expect_within(r.dw, ref.dw, rtol, "wgrad");
}

}  // namespace senet::test
