// tests/kernels/test_kernels_optim_update.cu — kernels/optim_update.h (SGD with momentum / dampening /
// Nesterov / weight decay; Adam and AdamW) against engine/cpu/optim_update.h over several steps.
// Tolerance: 4e-7·max|p| + 4e-7·|p| after 5 steps — the kernels evaluate the CPU's expressions in
// the CPU's order (bitwise equal under emulation), but nvcc fuses a·b + c into FMAs: ≤ 1–2 ulp
// per step.
#include <cmath>

#include "engine/cpu/optim_update.h"
#include "kernels/emu/race_check.h"
#include "kernels/optim_update.h"
#include "tests/kernels/cuda_test.h"
#include "tests/kernels/kernel_inputs.h"

using namespace senet;
using namespace senet::cudatest;

namespace {

constexpr double kTol = 4e-7;  // see the header
const int64_t kSizes[] = {1, 255, 257, 3000};

struct SgdCfg {
  float momentum, dampening, wd;
  bool nesterov;
};

TEST(CudaOptimUpdate, SgdMatchesCpu) {
  const SgdCfg cfgs[] = {{0.f, 0.f, 0.f, false},
                         {0.9f, 0.f, 5e-4f, false},
                         {0.9f, 0.1f, 1e-3f, false},
                         {0.9f, 0.f, 5e-4f, true}};
  for (int64_t n : kSizes)
    for (const auto& c : cfgs) {
      SCOPED_TRACE(testing::Message()
                   << "n=" << n << " mu=" << c.momentum << " nest=" << c.nesterov);
      auto p = uniform(size_t(n), 1), buf = std::vector<float>(size_t(n), 0.f);
      DeviceBuffer<float> dp(p), dbuf(buf), dg(static_cast<size_t>(n));
      for (int step = 0; step < 5; ++step) {
        const auto g = uniform(size_t(n), uint64_t(10 + step));
        dg.upload(g);
        sgd_update_params u;
        u.p = dp.get(), u.g = dg.get(), u.buf = c.momentum != 0.f ? dbuf.get() : nullptr, u.n = n;
        u.lr = 0.05f, u.momentum = c.momentum, u.dampening = c.dampening, u.weight_decay = c.wd;
        u.nesterov = c.nesterov, u.first = step == 0;
        CUDA_OK(sgd_update_launch(u, nullptr));
        cpu::SgdUpdate r;
        r.lr = 0.05f, r.momentum = c.momentum, r.dampening = c.dampening, r.weight_decay = c.wd;
        r.nesterov = c.nesterov, r.first = step == 0;
        cpu::sgd_update(p.data(), g.data(), c.momentum != 0.f ? buf.data() : nullptr, n, r);
      }
      EXPECT_TRUE(close(dp.download(), p, kTol, kTol));
      if (c.momentum != 0.f) {
        EXPECT_TRUE(close(dbuf.download(), buf, kTol, kTol));
      }
    }
}

TEST(CudaOptimUpdate, AdamAndAdamWMatchCpu) {
  for (int64_t n : kSizes)
    for (bool decoupled : {false, true}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " decoupled=" << decoupled);
      auto p = uniform(size_t(n), 2);
      std::vector<float> m(size_t(n), 0.f), v(size_t(n), 0.f);
      DeviceBuffer<float> dp(p), dm(m), dv(v), dg(static_cast<size_t>(n));
      for (int step = 1; step <= 5; ++step) {
        const auto g = uniform(size_t(n), uint64_t(20 + step));
        dg.upload(g);
        const float bc1 = 1.f - std::pow(0.9f, float(step)),
                    bc2 = 1.f - std::pow(0.999f, float(step));
        adam_update_params u;
        u.p = dp.get(), u.g = dg.get(), u.m = dm.get(), u.v = dv.get(), u.n = n, u.lr = 1e-3f;
        u.weight_decay = 1e-2f, u.decoupled = decoupled, u.bias_correction1 = bc1;
        u.bias_correction2 = bc2;
        CUDA_OK(adam_update_launch(u, nullptr));
        cpu::AdamUpdate r;
        r.lr = 1e-3f, r.beta1 = 0.9f, r.beta2 = 0.999f, r.eps = 1e-8f, r.weight_decay = 1e-2f;
        r.decoupled = decoupled, r.bias_correction1 = bc1, r.bias_correction2 = bc2;
        cpu::adam_update(p.data(), g.data(), m.data(), v.data(), n, r);
      }
      EXPECT_TRUE(close(dp.download(), p, kTol, kTol));
      EXPECT_TRUE(close(dm.download(), m, kTol, kTol));
      EXPECT_TRUE(close(dv.download(), v, kTol, kTol));
    }
}

TEST(CudaOptimUpdate, RejectsBadParams) {
  DeviceBuffer<float> d(8);
  sgd_update_params s;
  s.p = d.get(), s.g = d.get(), s.n = 8, s.momentum = 0.9f;  // momentum without a buffer
  EXPECT_EQ(sgd_update_launch(s, nullptr), cudaErrorInvalidValue);
  s.buf = d.get(), s.nesterov = true, s.dampening = 0.5f;  // Nesterov needs zero dampening
  EXPECT_EQ(sgd_update_launch(s, nullptr), cudaErrorInvalidValue);
  adam_update_params a;
  a.p = d.get(), a.g = d.get(), a.m = d.get(), a.v = nullptr, a.n = 8;
  EXPECT_EQ(adam_update_launch(a, nullptr), cudaErrorInvalidValue);
  a.v = d.get(), a.bias_correction1 = 0.f;
  EXPECT_EQ(adam_update_launch(a, nullptr), cudaErrorInvalidValue);
}

}  // namespace
