// tests/cpu/test_bn_act_kernels.cpp — the vectorised BN / masked-ReLU passes (engine/cpu/
// bn_act_kernels.h) against the scalar loops (the Generic ISA), for every ISA this CPU has:
// elementwise outputs and pass bits bitwise equal (same operations in the same order), reductions
// (statistics, dγ, dβ) within a stated tolerance; rows that do not start on a 64-bit word or a
// vector boundary (HW = 7·9, 5, 16, 31), tails, residual, masks, a +1e4 mean offset.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/rng.h"
#include "engine/cpu/activation.h"
#include "engine/cpu/batchnorm.h"
#include "engine/cpu/cpu_isa.h"
#include "tests/support/conv_reference.h"

using namespace senet;
using senet::test::ThreadCount;

namespace {

std::vector<cpu::CpuIsa> vector_isas() {
  std::vector<cpu::CpuIsa> out;
  for (cpu::CpuIsa i : {cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx2})
    if (cpu::cpu_supports(i)) out.push_back(i);
  return out;
}

class IsaScope {  // restores the ISA at scope exit
 public:
  explicit IsaScope(cpu::CpuIsa isa) : saved_(cpu::cpu_isa()) { cpu::set_cpu_isa(isa); }
  ~IsaScope() { cpu::set_cpu_isa(saved_); }

 private:
  cpu::CpuIsa saved_;
};

std::vector<float> normals(size_t n, uint64_t seed, float offset = 0.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + rand_normal(seed, 0, i);
  return v;
}

struct Shape3 {
  int64_t N, C, HW;
};
const std::vector<Shape3> kShapes = {{3, 5, 63}, {2, 3, 5},   {4, 8, 16},
                                     {2, 7, 31}, {5, 16, 64}, {2, 4, 1024}};

// Everything the BN/act passes produce for one shape, under the current ISA.
struct Outputs {
  std::vector<float> mean, var, a, dgamma, dbeta, dy, dz, relu_y, relu_dx;
  std::vector<uint64_t> bits, relu_bits;
};

Outputs run_all(const Shape3& s, bool residual, bool masked, uint64_t seed, float offset) {
  const int64_t n = s.N * s.C * s.HW;
  auto y = normals(size_t(n), seed, offset), r = normals(size_t(n), seed + 1),
       da = normals(size_t(n), seed + 2);
  std::vector<uint8_t> mask(size_t(s.C * s.HW));
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = uint8_t(rand_below(seed + 3, 0, i, 2));
  std::vector<float> gamma(size_t(s.C)), beta(size_t(s.C)), invstd(size_t(s.C));
  Outputs o;
  o.mean.resize(size_t(s.C));
  o.var.resize(size_t(s.C));
  cpu::bn_stats(y.data(), s.N, s.C, s.HW, o.mean.data(), o.var.data());
  for (int64_t c = 0; c < s.C; ++c) {
    gamma[size_t(c)] = 0.5f + 0.1f * float(c);
    beta[size_t(c)] = 0.2f * float(c % 3) - 0.2f;
    invstd[size_t(c)] = 1.f / (1.f + 0.1f * float(c));
  }
  // Fixed μ and 1/σ for the passes below (not the statistics just computed, which differ in the
  // last bits between ISAs), so that each pass is compared on its own.
  cpu::BnAct p{s.N,
               s.C,
               s.HW,
               nullptr,
               invstd.data(),
               gamma.data(),
               beta.data(),
               masked ? Act::MaskedReLU : Act::ReLU,
               masked ? mask.data() : nullptr};
  std::vector<float> mean_fixed(size_t(s.C));
  for (int64_t c = 0; c < s.C; ++c) mean_fixed[size_t(c)] = offset + 0.01f * float(c);
  p.mean = mean_fixed.data();
  o.a.assign(size_t(n), -1.f);
  o.bits.assign(size_t(cpu::bit_words(n)), 0x5555555555555555ull);
  cpu::bn_act_forward(p, y.data(), residual ? r.data() : nullptr, o.a.data(), o.bits.data());
  o.dgamma.resize(size_t(s.C));
  o.dbeta.resize(size_t(s.C));
  cpu::bn_act_grad_reduce(p, da.data(), o.bits.data(), y.data(), o.dgamma.data(), o.dbeta.data());
  o.dy.assign(size_t(n), -1.f);
  o.dz.assign(size_t(n), -1.f);
  // Fixed dγ, dβ for the row pass, so that it is compared on its own.
  std::vector<float> dg(size_t(s.C), 0.3f), db(size_t(s.C), -0.7f);
  cpu::bn_act_backward(p, da.data(), o.bits.data(), y.data(), dg.data(), db.data(), true,
                       o.dy.data(), o.dz.data());
  o.relu_y.assign(size_t(n), -1.f);
  o.relu_bits.assign(size_t(cpu::bit_words(n)), 0xaaaaaaaaaaaaaaaaull);
  cpu::masked_relu_forward(y.data(), masked ? mask.data() : nullptr, s.C * s.HW, n, o.relu_y.data(),
                           o.relu_bits.data());
  o.relu_dx.assign(size_t(n), -1.f);
  cpu::masked_relu_backward(da.data(), o.relu_bits.data(), n, o.relu_dx.data());
  return o;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol,
                  double atol, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_LE(std::fabs(double(got[i]) - double(want[i])), atol + rtol * std::fabs(double(want[i])))
        << what << "[" << i << "]: " << got[i] << " vs " << want[i];
}

// The valid bits of the last word only (the rest of the word belongs to nobody).
void expect_bits(const std::vector<uint64_t>& got, const std::vector<uint64_t>& want, int64_t n,
                 const char* what) {
  for (int64_t i = 0; i < n; ++i)
    if (cpu::bit_get(got.data(), i) != cpu::bit_get(want.data(), i)) {
      ADD_FAILURE() << what << " bit " << i;
      return;
    }
}

}  // namespace

TEST(BnActKernels, VectorPassesEqualTheScalarOnes) {
  if (vector_isas().empty()) GTEST_SKIP() << "no AVX-512 or AVX2: only the scalar passes exist";
  for (int threads : {1, 2}) {
    ThreadCount tc(threads);
    for (size_t si = 0; si < kShapes.size(); ++si)
      for (bool residual : {false, true})
        for (bool masked : {false, true}) {
          const Shape3& s = kShapes[si];
          Outputs ref;
          {
            IsaScope scope(cpu::CpuIsa::Generic);
            ref = run_all(s, residual, masked, 10 * si + 1, 0.f);
          }
          for (auto isa : vector_isas()) {
            IsaScope scope(isa);
            SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " shape " + std::to_string(si) +
                         (residual ? " res" : "") + (masked ? " masked" : "") + " threads " +
                         std::to_string(threads));
            Outputs o = run_all(s, residual, masked, 10 * si + 1, 0.f);
            const int64_t n = s.N * s.C * s.HW;
            // Statistics and the dγ/dβ sums: another summation order (fp32 lanes, then double).
            expect_close(o.mean, ref.mean, 1e-5, 1e-6, "mean");
            expect_close(o.var, ref.var, 1e-5, 1e-6, "var");
            expect_close(o.dgamma, ref.dgamma, 1e-5, 1e-5, "dgamma");
            expect_close(o.dbeta, ref.dbeta, 1e-5, 1e-5, "dbeta");
            // Elementwise: the same operations in the same order.
            EXPECT_EQ(o.a, ref.a);
            expect_bits(o.bits, ref.bits, n, "bn_act bits");
            EXPECT_EQ(o.dy, ref.dy);
            EXPECT_EQ(o.dz, ref.dz);
            EXPECT_EQ(o.relu_y, ref.relu_y);
            expect_bits(o.relu_bits, ref.relu_bits, n, "relu bits");
            EXPECT_EQ(o.relu_dx, ref.relu_dx);
          }
        }
  }
}

// |mean| = 1e4 ≫ σ = 1: the variance must not be lost to cancellation (a one-pass Σy²/M − μ²
// in fp32 returns garbage here), and the vector statistics agree with the double scalar ones.
TEST(BnActKernels, StatisticsSurviveALargeMeanOffset) {
  for (auto isa : vector_isas()) {
    IsaScope scope(isa);
    SCOPED_TRACE(cpu::isa_name(isa));
    for (int64_t len : {5, 63, 1024, 4099}) {
      auto y = normals(size_t(len), 77 + len, 1e4f);
      cpu::MeanM2 v = cpu::segment_mean_m2(y.data(), len);
      cpu::MeanM2 s = cpu::segment_mean_m2_scalar(y.data(), len);
      EXPECT_NEAR(v.mean, s.mean, 1e-7 * 1e4) << len;
      EXPECT_NEAR(v.m2 / len, s.m2 / len, 1e-4 * (s.m2 / len) + 1e-6) << len;
    }
  }
}
