// tests/kernels/test_kernels_optim_update.cu — kernels/optim_update.h (SGD with momentum / dampening /
// Nesterov / weight decay; Adam and AdamW) against engine/cpu/optim_update.h over several steps.
// Tolerance: 4e-7·max|p| + 4e-7·|p| after 5 steps — the kernels evaluate the CPU's expressions in
// the CPU's order (bitwise equal under emulation), but nvcc fuses a·b + c into FMAs: ≤ 1–2 ulp
// per step. The multi-tensor launchers (v2) run v1's element code, so they must equal v1 bitwise
// on every tensor of the list, on a GPU too.
#include <cmath>
#include <memory>

#include "engine/cpu/optim_update.h"
#include "kernels/emu/race_check.h"
#include "kernels/optim_update.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace optim_update_tests {  // named: the test binaries are unity builds (tests/CMakeLists.txt)

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

// A list that crosses chunk borders (4095, 4096, 4097, 9000) and has empty and tiny tensors.
const int64_t kListSizes[] = {4097, 0, 1, 4096, 3, 9000, 4095, 257};
constexpr int kList = int(sizeof(kListSizes) / sizeof(kListSizes[0]));

struct ListState {  // per tensor: parameter and two state buffers, on the device
  std::vector<std::unique_ptr<DeviceBuffer<float>>> p, s0, s1, g;
  explicit ListState(uint64_t seed) {
    for (int i = 0; i < kList; ++i) {
      const size_t n = size_t(kListSizes[i]);
      p.push_back(std::make_unique<DeviceBuffer<float>>(uniform(n, seed + uint64_t(i))));
      s0.push_back(std::make_unique<DeviceBuffer<float>>(std::vector<float>(n, 0.f)));
      s1.push_back(std::make_unique<DeviceBuffer<float>>(std::vector<float>(n, 0.f)));
      g.push_back(std::make_unique<DeviceBuffer<float>>(uniform(n, seed + 100 + uint64_t(i))));
    }
  }
  std::vector<float> all(const std::vector<std::unique_ptr<DeviceBuffer<float>>>& b) const {
    std::vector<float> out;
    for (const auto& x : b)
      if (x->size()) {
        const auto v = x->download();
        out.insert(out.end(), v.begin(), v.end());
      }
    return out;
  }
};

TEST(CudaOptimUpdate, SgdMultiTensorEqualsOneLaunchPerTensorBitwise) {
  for (const SgdCfg& c : {SgdCfg{0.f, 0.f, 0.f, false}, SgdCfg{0.9f, 0.f, 5e-4f, true},
                          SgdCfg{0.9f, 0.1f, 1e-3f, false}}) {
    SCOPED_TRACE(testing::Message() << "mu=" << c.momentum << " nest=" << c.nesterov);
    ListState one(1), multi(1);
    for (int step = 0; step < 3; ++step) {
      sgd_update_multi_params m;
      m.count = kList, m.lr = 0.05f, m.momentum = c.momentum, m.dampening = c.dampening;
      m.nesterov = c.nesterov;
      for (int i = 0; i < kList; ++i) {
        // per tensor: weight decay on some (BN-like vectors get none), first step on some
        const float wd = i % 3 == 0 ? 0.f : c.wd;
        const bool first = step == 0 || (step == 1 && i == 2);
        sgd_update_params u;
        u.p = one.p[i]->get(), u.g = one.g[i]->get(), u.n = kListSizes[i];
        u.buf = c.momentum != 0.f ? one.s0[i]->get() : nullptr;
        u.lr = 0.05f, u.momentum = c.momentum, u.dampening = c.dampening, u.weight_decay = wd;
        u.nesterov = c.nesterov, u.first = first;
        CUDA_OK(sgd_update_launch(u, nullptr));
        m.t[i] = sgd_tensor{multi.p[i]->get(),
                            multi.g[i]->get(),
                            c.momentum != 0.f ? multi.s0[i]->get() : nullptr,
                            kListSizes[i],
                            wd,
                            first};
      }
      CUDA_OK(sgd_update_multi_launch(m, nullptr));
    }
    EXPECT_EQ(multi.all(multi.p), one.all(one.p));
    EXPECT_EQ(multi.all(multi.s0), one.all(one.s0));
  }
}

TEST(CudaOptimUpdate, AdamMultiTensorEqualsOneLaunchPerTensorBitwise) {
  for (bool decoupled : {false, true}) {
    SCOPED_TRACE(testing::Message() << "decoupled=" << decoupled);
    ListState one(3), multi(3);
    for (int step = 1; step <= 3; ++step) {
      adam_update_multi_params m;
      m.count = kList, m.lr = 1e-3f, m.decoupled = decoupled;
      for (int i = 0; i < kList; ++i) {
        const int t = step + i % 2;  // tensors at different step counts
        const float bc1 = 1.f - std::pow(0.9f, float(t)), bc2 = 1.f - std::pow(0.999f, float(t));
        const float wd = i % 3 == 0 ? 0.f : 1e-2f;
        adam_update_params u;
        u.p = one.p[i]->get(), u.g = one.g[i]->get(), u.m = one.s0[i]->get();
        u.v = one.s1[i]->get(), u.n = kListSizes[i], u.lr = 1e-3f, u.weight_decay = wd;
        u.decoupled = decoupled, u.bias_correction1 = bc1, u.bias_correction2 = bc2;
        CUDA_OK(adam_update_launch(u, nullptr));
        m.t[i] = adam_tensor{multi.p[i]->get(),
                             multi.g[i]->get(),
                             multi.s0[i]->get(),
                             multi.s1[i]->get(),
                             kListSizes[i],
                             wd,
                             bc1,
                             bc2};
      }
      CUDA_OK(adam_update_multi_launch(m, nullptr));
    }
    EXPECT_EQ(multi.all(multi.p), one.all(one.p));
    EXPECT_EQ(multi.all(multi.s0), one.all(one.s0));
    EXPECT_EQ(multi.all(multi.s1), one.all(one.s1));
  }
}

// A CUDA graph replays a launch's parameter block unchanged, so a graphed step reads η (Adam: η and
// the bias corrections) from device memory. The same values there and by value: the same bits.
TEST(CudaOptimUpdate, MultiTensorDeviceScalarsEqualByValueScalarsBitwise) {
  ListState by_value(7), on_device(7);
  DeviceBuffer<float> scalars(3);
  for (int step = 1; step <= 3; ++step) {
    const float lr = 0.1f / float(step);  // a schedule: a new η every step
    sgd_update_multi_params m;
    m.count = kList, m.lr = lr, m.momentum = 0.9f, m.nesterov = true;
    for (int i = 0; i < kList; ++i)
      m.t[i] = sgd_tensor{by_value.p[i]->get(), by_value.g[i]->get(), by_value.s0[i]->get(),
                          kListSizes[i],        i % 2 ? 5e-4f : 0.f,  step == 1};
    CUDA_OK(sgd_update_multi_launch(m, nullptr));
    scalars.upload({lr, 0.f, 0.f});
    m.lr = 123.f;  // ignored: the device's η counts
    m.device_scalars = scalars.get();
    for (int i = 0; i < kList; ++i)
      m.t[i].p = on_device.p[i]->get(), m.t[i].g = on_device.g[i]->get(),
      m.t[i].buf = on_device.s0[i]->get();
    CUDA_OK(sgd_update_multi_launch(m, nullptr));
  }
  EXPECT_EQ(on_device.all(on_device.p), by_value.all(by_value.p));
  EXPECT_EQ(on_device.all(on_device.s0), by_value.all(by_value.s0));
  for (bool decoupled : {false, true}) {
    SCOPED_TRACE(testing::Message() << "decoupled=" << decoupled);
    ListState a(9), b(9);
    for (int step = 1; step <= 3; ++step) {
      const float lr = 1e-3f * float(4 - step);
      const float bc1 = 1.f - std::pow(0.9f, float(step)),
                  bc2 = 1.f - std::pow(0.999f, float(step));
      adam_update_multi_params m;
      m.count = kList, m.lr = lr, m.decoupled = decoupled;
      for (int i = 0; i < kList; ++i)
        m.t[i] = adam_tensor{a.p[i]->get(),
                             a.g[i]->get(),
                             a.s0[i]->get(),
                             a.s1[i]->get(),
                             kListSizes[i],
                             i % 3 ? 1e-2f : 0.f,
                             bc1,
                             bc2};
      CUDA_OK(adam_update_multi_launch(m, nullptr));
      scalars.upload({lr, bc1, bc2});
      m.lr = 7.f, m.device_scalars = scalars.get();
      for (int i = 0; i < kList; ++i)  // by-value bias corrections ignored (even invalid ones)
        m.t[i] = adam_tensor{b.p[i]->get(),
                             b.g[i]->get(),
                             b.s0[i]->get(),
                             b.s1[i]->get(),
                             kListSizes[i],
                             i % 3 ? 1e-2f : 0.f,
                             0.f,
                             0.f};
      CUDA_OK(adam_update_multi_launch(m, nullptr));
    }
    EXPECT_EQ(b.all(b.p), a.all(a.p));
    EXPECT_EQ(b.all(b.s0), a.all(a.s0));
    EXPECT_EQ(b.all(b.s1), a.all(a.s1));
  }
}

TEST(CudaOptimUpdate, MultiTensorIsOneLaunchAndRaceFree) {
  ListState st(5);
  sgd_update_multi_params m;
  m.count = kList, m.lr = 0.1f;
  for (int i = 0; i < kList; ++i)
    m.t[i] = sgd_tensor{st.p[i]->get(), st.g[i]->get(), nullptr, kListSizes[i], 0.f, false};
#if SENET_CUDA_EMULATION  // the emulator counts launches
  const int64_t before = emu::launches();
  CUDA_OK(sgd_update_multi_launch(m, nullptr));
  EXPECT_EQ(emu::launches() - before, 1);
  m.count = 0;  // nothing to do: no launch
  CUDA_OK(sgd_update_multi_launch(m, nullptr));
  EXPECT_EQ(emu::launches() - before, 1);
#endif
  // Each element has one owner: the result cannot depend on the schedule. The update is in place,
  // so each run starts from the same parameters (uploaded again).
  m.count = kList;
  const auto p0 = st.all(st.p);
  EXPECT_RACE_FREE(
      [&] {
        size_t off = 0;
        for (int i = 0; i < kList; ++i) {
          const size_t n = size_t(kListSizes[i]);
          if (n)
            st.p[i]->upload(std::vector<float>(p0.begin() + long(off), p0.begin() + long(off + n)));
          off += n;
        }
        EXPECT_EQ(sgd_update_multi_launch(m, nullptr), cudaSuccess);
        return st.all(st.p);
      },
      0.0);
}

TEST(CudaOptimUpdate, MultiTensorRejectsBadLists) {
  DeviceBuffer<float> d(8);
  sgd_update_multi_params s;
  s.count = kOptimMultiMaxTensors + 1;  // too many: the caller splits
  EXPECT_EQ(sgd_update_multi_launch(s, nullptr), cudaErrorInvalidValue);
  s.count = 1, s.momentum = 0.9f;
  s.t[0] = sgd_tensor{d.get(), d.get(), nullptr, 8, 0.f, true};  // momentum without a buffer
  EXPECT_EQ(sgd_update_multi_launch(s, nullptr), cudaErrorInvalidValue);
  s.t[0].buf = d.get(), s.t[0].n = -1;
  EXPECT_EQ(sgd_update_multi_launch(s, nullptr), cudaErrorInvalidValue);
  s.t[0].n = 8, s.nesterov = true, s.dampening = 0.5f;
  EXPECT_EQ(sgd_update_multi_launch(s, nullptr), cudaErrorInvalidValue);
  adam_update_multi_params a;
  a.count = 1;
  a.t[0] = adam_tensor{d.get(), d.get(), d.get(), nullptr, 8, 0.f, 1.f, 1.f};
  EXPECT_EQ(adam_update_multi_launch(a, nullptr), cudaErrorInvalidValue);
  a.t[0].v = d.get(), a.t[0].bias_correction2 = 0.f;
  EXPECT_EQ(adam_update_multi_launch(a, nullptr), cudaErrorInvalidValue);
  a.count = -1;
  EXPECT_EQ(adam_update_multi_launch(a, nullptr), cudaErrorInvalidValue);
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

}  // namespace optim_update_tests
