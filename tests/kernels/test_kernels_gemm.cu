// tests/kernels/test_kernels_gemm.cu — kernels/gemm.h (cuBLAS-semantics SGEMM: the portable tiled kernel
// under emulation, cuBLAS and the tiled kernel on a GPU) against a column-major CPU loop, and
// kernels/linear.h (bias add, bias gradient, forward/backward) against engine/cpu/linear.h.
// Tolerances:
//  * small-integer inputs (|a|,|b| ≤ 4, k ≤ 300, α = 1.5, β = −0.5 or 0): every partial sum and
//    product is an integer or half-integer below 2²⁴, exact in fp32 → bitwise equal in any order.
//  * uniform inputs: |c − ref| ≤ 4·k·2⁻²⁴·(|α|·Σ_p|a·b| + |β·c|) per element — the fp32 FMA chain's
//    worst-case error bound (cuBLAS and the tiled kernel sum in different orders).
//  * linear vs the CPU (OpenBLAS): 1e-5·max|ref| + 1e-5·|ref|, i.e. the bound above for K ≤ 512
//    with uniform(−1,1) inputs, plus the bias add's rounding.
#include <cmath>

#include "engine/cpu/linear.h"
#include "kernels/emu/race_check.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace {

struct GemmCase {
  bool ta, tb;
  int m, n, k;
  int pad;  // extra rows in every leading dimension
};

// C = α·op(A)·op(B) + β·C column-major, in double; also Σ|α·a·b| + |β·c| for the error bound.
void reference(const GemmCase& g, float alpha, const std::vector<float>& A, int lda,
               const std::vector<float>& B, int ldb, float beta, std::vector<float>& C, int ldc,
               std::vector<double>& bound) {
  bound.assign(C.size(), 0.0);
  for (int j = 0; j < g.n; ++j)
    for (int i = 0; i < g.m; ++i) {
      double s = 0, mag = 0;
      for (int p = 0; p < g.k; ++p) {
        const double a = g.ta ? A[size_t(p + i * lda)] : A[size_t(i + p * lda)];
        const double b = g.tb ? B[size_t(j + p * ldb)] : B[size_t(p + j * ldb)];
        s += a * b;
        mag += std::fabs(a * b);
      }
      const size_t c = size_t(i + j * ldc);
      const double old = beta == 0.f ? 0.0 : double(C[c]);
      bound[c] = std::fabs(alpha) * mag + std::fabs(double(beta) * old);
      C[c] = float(double(alpha) * s + double(beta) * old);
    }
}

void check_gemm(const GemmCase& g, bool integers, float beta, sgemm_impl impl) {
  SCOPED_TRACE(testing::Message() << "ta=" << g.ta << " tb=" << g.tb << " m=" << g.m << " n=" << g.n
                                  << " k=" << g.k << " pad=" << g.pad << " beta=" << beta
                                  << " impl=" << int(impl));
  const int lda = std::max(1, g.ta ? g.k : g.m) + g.pad,
            ldb = std::max(1, g.tb ? g.n : g.k) + g.pad;
  const int ldc = g.m + g.pad;
  const size_t na = size_t(lda) * size_t(std::max(1, g.ta ? g.m : g.k));
  const size_t nb = size_t(ldb) * size_t(std::max(1, g.tb ? g.k : g.n));
  const size_t nc = size_t(ldc) * size_t(g.n);
  const uint64_t seed = uint64_t(g.m * 131 + g.n * 17 + g.k);
  const auto A = integers ? small_ints(na, seed, -4, 4) : uniform(na, seed);
  const auto B = integers ? small_ints(nb, seed + 1, -4, 4) : uniform(nb, seed + 1);
  auto C = integers ? small_ints(nc, seed + 2, -4, 4) : uniform(nc, seed + 2);
  if (beta == 0.f) C.assign(nc, NAN);  // β = 0 must not read C
  DeviceBuffer<float> dA(A), dB(B), dC(C);
  const float alpha = 1.5f;
  sgemm_params p;
  p.trans_a = g.ta, p.trans_b = g.tb, p.m = g.m, p.n = g.n, p.k = g.k, p.alpha = alpha;
  p.A = dA.get(), p.lda = lda, p.B = dB.get(), p.ldb = ldb, p.beta = beta, p.C = dC.get();
  p.ldc = ldc, p.impl = impl;
  ASSERT_EQ(sgemm_launch(p, nullptr), cudaSuccess);
  std::vector<double> bound;
  auto ref = C;
  reference(g, alpha, A, lda, B, ldb, beta, ref, ldc, bound);
  const auto got = dC.download();
  for (int j = 0; j < g.n; ++j)
    for (int i = 0; i < g.m + g.pad; ++i) {
      const size_t c = size_t(i + j * ldc);
      if (i >= g.m) {  // padding rows of C are untouched
        ASSERT_TRUE(std::isnan(got[c]) == std::isnan(C[c]) && (std::isnan(C[c]) || got[c] == C[c]))
            << "padding (" << i << "," << j << ") written";
        continue;
      }
      if (integers)
        ASSERT_EQ(got[c], ref[c]) << "(" << i << "," << j << ")";
      else
        ASSERT_NEAR(got[c], ref[c], 4.0 * std::max(g.k, 1) * 0x1p-24 * bound[c] + 1e-30)
            << "(" << i << "," << j << ")";
    }
  EXPECT_TRUE(dC.guard_intact());
}

// edge shapes: 1×1×1, around the 64×64×16 tile, k = 0, thin / wide, padded leading dimensions
const GemmCase kCases[] = {{false, false, 1, 1, 1, 0},     {false, false, 63, 65, 17, 0},
                           {true, false, 64, 64, 16, 3},   {false, true, 65, 33, 31, 1},
                           {true, true, 70, 129, 40, 0},   {false, false, 5, 7, 0, 0},
                           {true, false, 10, 128, 300, 2}, {false, true, 1, 100, 64, 0}};

std::vector<sgemm_impl> impls() {
  std::vector<sgemm_impl> v{sgemm_impl::tiled};
  if (sgemm_has_cublas()) v.push_back(sgemm_impl::cublas);
  return v;
}

TEST(CudaGemm, IntegerInputsAreExact) {
  for (sgemm_impl impl : impls())
    for (const auto& g : kCases)
      for (float beta : {-0.5f, 0.f}) check_gemm(g, true, beta, impl);
}

TEST(CudaGemm, UniformInputsWithinFp32Bound) {
  for (sgemm_impl impl : impls())
    for (const auto& g : kCases) check_gemm(g, false, 0.25f, impl);
}

TEST(CudaGemm, RaceFreeAndRejectsBadParams) {
  const int m = 70, n = 33, k = 40;
  const auto A = uniform(size_t(m * k), 1), B = uniform(size_t(k * n), 2);
  DeviceBuffer<float> dA(A), dB(B), dC(static_cast<size_t>(m * n));
  sgemm_params p;
  p.m = m, p.n = n, p.k = k, p.A = dA.get(), p.lda = m, p.B = dB.get(), p.ldb = k, p.C = dC.get();
  p.ldc = m, p.impl = sgemm_impl::tiled;
  EXPECT_RACE_FREE(
      [&] {
        EXPECT_EQ(sgemm_launch(p, nullptr), cudaSuccess);
        return dC.download();
      },
      0.0);
  auto bad = p;
  bad.lda = m - 1;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  bad = p, bad.ldc = 0;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  bad = p, bad.k = -1;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  bad = p, bad.A = nullptr;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  bad = p, bad.trans_b = true, bad.ldb = n - 1;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  if (!sgemm_has_cublas()) {
    bad = p, bad.impl = sgemm_impl::cublas;
    EXPECT_EQ(sgemm_launch(bad, nullptr), cudaErrorInvalidValue);
  }
  bad = p, bad.m = 0;
  EXPECT_EQ(sgemm_launch(bad, nullptr), cudaSuccess);  // empty product: nothing to do
}

struct LinearCase {
  int N, F, O;
};
// N = 1, odd sizes, the classifier heads (512 → 10 / 100 at batch 128)
const LinearCase kLinear[] = {{1, 1, 1}, {1, 7, 3}, {5, 33, 65}, {128, 512, 10}, {17, 512, 100}};

TEST(CudaLinear, ForwardBackwardMatchCpu) {
  for (sgemm_impl impl : impls())
    for (const auto& c : kLinear) {
      SCOPED_TRACE(testing::Message() << c.N << "x" << c.F << "->" << c.O << " impl " << int(impl));
      const auto x = uniform(size_t(c.N * c.F), 1), w = uniform(size_t(c.O * c.F), 2),
                 b = uniform(size_t(c.O), 3), dy = uniform(size_t(c.N * c.O), 4);
      DeviceBuffer<float> dx_(x), dw_(w), db_(b), ddy(dy), dy_out(static_cast<size_t>(c.N * c.O)),
          gx(static_cast<size_t>(c.N * c.F)), gw(static_cast<size_t>(c.O * c.F)),
          gb(static_cast<size_t>(c.O));
      linear_params p;
      p.x = dx_.get(), p.w = dw_.get(), p.b = db_.get(), p.y = dy_out.get(), p.dy = ddy.get();
      p.dx = gx.get(), p.dw = gw.get(), p.db = gb.get(), p.N = c.N, p.F = c.F, p.O = c.O;
      p.impl = impl;
      CUDA_OK(linear_forward_launch(p, nullptr));
      CUDA_OK(linear_backward_launch(p, nullptr));
      std::vector<float> y(size_t(c.N * c.O)), rx(x.size()), rw(w.size()), rb(b.size());
      cpu::linear_forward(x.data(), w.data(), b.data(), y.data(), c.N, c.F, c.O);
      cpu::linear_backward(dy.data(), x.data(), w.data(), rx.data(), rw.data(), rb.data(), c.N, c.F,
                           c.O);
      EXPECT_TRUE(close(dy_out.download(), y, 1e-5, 1e-5));
      EXPECT_TRUE(close(gx.download(), rx, 1e-5, 1e-5));
      EXPECT_TRUE(close(gw.download(), rw, 1e-5, 1e-5));
      EXPECT_TRUE(close(gb.download(), rb, 1e-5, 1e-5));
      for (auto* buf : {&dy_out, &gx, &gw, &gb}) EXPECT_TRUE(buf->guard_intact());

      // accumulate: a second backward adds the same gradients again
      p.accumulate = true;
      CUDA_OK(linear_backward_launch(p, nullptr));
      for (float& v : rb) v *= 2.f;
      for (float& v : rw) v *= 2.f;
      EXPECT_TRUE(close(gb.download(), rb, 1e-5, 1e-5));
      EXPECT_TRUE(close(gw.download(), rw, 1e-5, 1e-5));
    }
}

TEST(CudaLinear, BiasGradIsColumnSumRaceFree) {
  const int64_t N = 45, O = 70;  // a partial 32-column strip, rows not a multiple of 8
  const auto dy = small_ints(size_t(N * O), 8, -5, 5);
  DeviceBuffer<float> ddy(dy), db(static_cast<size_t>(O));
  std::vector<float> ref(size_t(O), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) ref[size_t(o)] += dy[size_t(n * O + o)];
  EXPECT_RACE_FREE(
      [&] {
        EXPECT_EQ(bias_grad_launch({ddy.get(), db.get(), N, O, false}, nullptr), cudaSuccess);
        return db.download();
      },
      0.0);
  EXPECT_TRUE(bitwise_equal(db.download(), ref));  // integers: exact
  EXPECT_EQ(bias_grad_launch({ddy.get(), db.get(), N, 0, false}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(bias_add_launch({db.get(), nullptr, N, O}, nullptr), cudaErrorInvalidValue);
  linear_params bad;
  bad.N = 2, bad.F = 0, bad.O = 3;
  EXPECT_EQ(linear_forward_launch(bad, nullptr), cudaErrorInvalidValue);
}

}  // namespace
