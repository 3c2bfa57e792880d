// tests/ops/test_conv2d_algorithms.cpp — the conv2d and conv_bn_act ops through every CPU algorithm
// the dispatch can force (SENET_CONV_ALGO = im2col, direct, winograd; engine/cpu/conv_algo.h) and
// every vector ISA this CPU has: bitwise equal to the 7-loop definition on small integers, and
// finite-difference gradient checks (central differences in double, random upstream gradient).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/cpu/conv_algo.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "tests/support/conv_reference.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::conv2d_backward_reference;
using senet::test::expect_bitwise;
using senet::test::random_int_tensor;
using senet::test::random_tensor;

namespace {

// SENET_CONV_ALGO and the ISA for one scope.
class AlgoScope {
 public:
  AlgoScope(const char* algo, cpu::CpuIsa isa) : saved_(cpu::cpu_isa()) {
    setenv("SENET_CONV_ALGO", algo, 1);
    cpu::set_cpu_isa(isa);
  }
  ~AlgoScope() {
    unsetenv("SENET_CONV_ALGO");
    cpu::set_cpu_isa(saved_);
  }

 private:
  cpu::CpuIsa saved_;
};

struct Case {
  int N, C, H, W, K, R, S, stride, pad;
};
// 3×3 stride-1 pad-1 cases (Winograd's), the strided and 1×1 ones (direct), odd sizes, N = 1.
const std::vector<Case> kCases = {{1, 3, 7, 9, 5, 3, 3, 1, 1},
                                  {2, 5, 6, 6, 4, 3, 3, 1, 1},
                                  {2, 4, 7, 5, 6, 3, 3, 2, 1},
                                  {2, 6, 5, 5, 3, 1, 1, 2, 0},
                                  {1, 17, 4, 4, 18, 3, 3, 1, 1}};

std::vector<std::pair<const char*, cpu::CpuIsa>> configs() {
  std::vector<std::pair<const char*, cpu::CpuIsa>> v{{"im2col", cpu::CpuIsa::Generic}};
  for (cpu::CpuIsa isa : {cpu::CpuIsa::Avx512, cpu::CpuIsa::Avx2})
    if (cpu::cpu_supports(isa))
      for (const char* algo : {"direct", "winograd"}) v.push_back({algo, isa});
  return v;
}

}  // namespace

TEST(Conv2dAlgorithms, IntegerInputsMatchTheDefinitionBitwise) {
  for (auto [algo, isa] : configs()) {
    AlgoScope scope(algo, isa);
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      const Case& c = kCases[ci];
      const auto g = cpu::conv2d_geom(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
      const auto plan = cpu::conv_plan(g);
      SCOPED_TRACE(std::string(algo) + " " + cpu::isa_name(isa) + " case " + std::to_string(ci) +
                   ": fprop " + cpu::conv_algo_name(plan.fprop) + ", dgrad " +
                   cpu::conv_algo_name(plan.dgrad) + ", wgrad " + cpu::conv_algo_name(plan.wgrad));
      Tensor x = random_int_tensor({c.N, c.C, c.H, c.W}, 10 + ci, -3, 3).set_requires_grad(true);
      Tensor w = random_int_tensor({c.K, c.C, c.R, c.S}, 20 + ci, -3, 3).set_requires_grad(true);
      Tensor y = conv2d(x, w, Tensor(), c.stride, c.pad);
      std::vector<float> ref(size_t(y.numel()));
      cpu::conv2d_reference(g, x.data<float>(), w.data<float>(), nullptr, ref.data());
      EXPECT_EQ(y.to_vector(), ref);
      Tensor dy = random_int_tensor(y.shape(), 40 + ci, -3, 3);
      y.backward(dy);
      std::vector<double> dx, dw;
      conv2d_backward_reference(g, x.data<float>(), w.data<float>(), dy.data<float>(), dx, dw);
      expect_bitwise(x.grad().to_vector(), dx, "dx");
      expect_bitwise(w.grad().to_vector(), dw, "dw");
    }
  }
}

TEST(Conv2dAlgorithms, GradcheckConvAndFusedConvBnAct) {
  for (auto [algo, isa] : configs()) {
    AlgoScope scope(algo, isa);
    for (size_t ci = 0; ci < kCases.size(); ++ci) {
      Case c = kCases[ci];
      SCOPED_TRACE(std::string(algo) + " " + cpu::isa_name(isa) + " case " + std::to_string(ci));
      Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 50 + ci, 1.f, true);
      Tensor w = random_tensor({c.K, c.C, c.R, c.S}, 60 + ci, 0.5f, true);
      const std::vector<Tensor> conv_in{x, w};
      EXPECT_GRADCHECK(
          [&](const std::vector<Tensor>& v) {
            return conv2d(v[0], v[1], Tensor(), c.stride, c.pad);
          },
          conv_in);
      // The fused op (training BN, plain ReLU kept off the kink by the check's inputs).
      Tensor gamma = random_tensor({c.K}, 70 + ci, 1.f, true),
             beta = random_tensor({c.K}, 80 + ci, 1.f, true);
      const std::vector<Tensor> fused_in{x, w, gamma, beta};
      EXPECT_GRADCHECK(
          [&](const std::vector<Tensor>& v) {
            BatchNormState st;
            return conv_bn_act(v[0], v[1], v[2], v[3], st, true, Act::None, Tensor(), c.stride,
                               c.pad);
          },
          fused_in);
    }
  }
}
