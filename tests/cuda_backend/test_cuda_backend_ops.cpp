// tests/cuda_backend/test_cuda_backend_ops.cpp — every op on CUDA tensors (emulated kernels) equals
// the CPU op: forward values and input gradients (random upstream gradient).
// Tolerances (scale-free, max|cuda − cpu| ≤ rtol·max|cpu|):
//   0 (bitwise)  element-wise ops, ReLU / masked ReLU, pooling backward, integer-valued conv
//   1e-6         reductions in double (sum, l1, losses' finalize), pooling forward
//   1e-5         fp32 sums in another order: conv (implicit GEMM vs im2col + OpenBLAS), linear,
//                BN statistics (block partials + Chan merge vs per-image segments), softmax/KD
//   1e-4         gradients that go through BN's (dz − dβ/M − x̂·dγ/M) cancellation, PRAM's dA
//   2e-3         with set_cuda_allow_tf32(true): the conv operands rounded to TF32 (2⁻¹¹ each,
//                ~3e-4 of max|y| measured in tests/kernels), and through BN's normalisation
#include <gtest/gtest.h>

#include "engine/core/rng.h"
#include "engine/ops/activation.h"
#include "engine/ops/alpha_relu.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/flatten.h"
#include "engine/ops/global_avg_pool.h"
#include "engine/ops/kd_loss.h"
#include "engine/ops/l1.h"
#include "engine/ops/linear.h"
#include "engine/ops/pram_loss.h"
#include "engine/ops/straight_through.h"
#include "tests/cuda_backend/cb_test.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet {
namespace {

using cbtest::compare;
using cbtest::CudaBackend;
using cbtest::expect_close;
using test::random_tensor;
using V = std::vector<Tensor>;

Tensor rnd(const Shape& s, uint64_t seed, bool grad = true, float away = 0.f) {
  return random_tensor(s, seed, 1.f, grad, away);
}
Tensor random_mask(const Shape& s, uint64_t seed) {
  std::vector<uint8_t> m(size_t(s.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = rand_uniform(seed, 3, i) < 0.5f;
  return Tensor::from_vector_u8(m, s);
}

TEST_F(CudaBackend, ElementwiseBitwise) {
  Tensor a = rnd({3, 5, 7}, 1), b = rnd({3, 5, 7}, 2);
  compare(
      "add", [](const V& x) { return add(x[0], x[1]); }, {a, b}, 0, 0, 0);
  compare(
      "sub", [](const V& x) { return sub(x[0], x[1]); }, {a, b}, 0, 0, 0);
  compare(
      "mul", [](const V& x) { return mul(x[0], x[1]); }, {a, b}, 0, 0, 0);
  compare(
      "scale", [](const V& x) { return scale(x[0], -1.5f); }, {a}, 0, 0, 0);
  NoGradGuard no_grad;  // mul_ records nothing
  Tensor y_cpu = a.detach().clone(), y_cuda = a.detach().to(Device::CUDA);
  mul_(y_cpu, b);
  mul_(y_cuda, b.to(Device::CUDA));
  EXPECT_EQ(y_cuda.to_vector(), y_cpu.to_vector()) << "mul_";
}

TEST_F(CudaBackend, Reductions) {
  Tensor a = rnd({4, 1000}, 3);
  compare(
      "sum", [](const V& x) { return sum(x[0]); }, {a}, 1e-6, 0);
  compare(
      "mean", [](const V& x) { return mean(x[0]); }, {a}, 1e-6, 1e-6);
  compare(
      "l1", [](const V& x) { return l1(x[0]); }, {rnd({3, 4, 5}, 4, true, 0.05f)}, 1e-6, 0);
}

TEST_F(CudaBackend, ReluAndMaskedRelu) {
  Tensor x = rnd({2, 3, 5, 6}, 5, true, 0.01f);
  compare(
      "relu", [](const V& v) { return relu(v[0]); }, {x}, 0, 0, 0);
  Tensor m_el = random_mask({3, 5, 6}, 6), m_ch = random_mask({3}, 7);
  compare(
      "masked_relu per element", [&](const V& v) { return masked_relu(v[0], v[1]); }, {x, m_el}, 0,
      0, 0);
  compare(
      "masked_relu per channel", [&](const V& v) { return masked_relu(v[0], v[1]); }, {x, m_ch}, 0,
      0, 0);
  compare(
      "masked_relu N×C", [&](const V& v) { return masked_relu(v[0], v[1]); },
      {rnd({4, 3}, 8, true, 0.01f), m_ch}, 0, 0, 0);
}

TEST_F(CudaBackend, AlphaRelu) {
  Tensor x = rnd({3, 2, 4, 4}, 9, true, 0.01f), a = random_tensor({2, 4, 4}, 10, 0.5f, true);
  compare(
      "alpha_relu", [](const V& v) { return alpha_relu(v[0], v[1]); }, {x, a}, 1e-6, 1e-5);
}

// A learned site's mask: the device top-k of |s| and the sign-flip backward equal the CPU's
// bitwise (rtol 0), the mask too; scores with ties across signs.
TEST_F(CudaBackend, StraightThroughTopk) {
  std::vector<float> v(3 * 6 * 6);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int(i * 5 % 9) - 4) * 0.25f;
  Tensor s = Tensor::from_vector(v, {3, 6, 6}).set_requires_grad(true);
  std::vector<std::vector<uint8_t>> masks;  // the CPU run's, then the CUDA run's
  compare(
      "straight_through_topk",
      [&](const V& in) {
        Tensor m = Tensor::zeros({3, 6, 6}, DType::U8, in[0].device());
        Tensor y = straight_through_topk(in[0], 40, m);
        masks.push_back(m.to_vector_u8());
        return y;
      },
      {s}, 0, 0);
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0], masks[1]);
}

TEST_F(CudaBackend, Conv2d) {
  Tensor x = rnd({2, 3, 9, 7}, 11), w = random_tensor({5, 3, 3, 3}, 12, 0.3f, true),
         b = rnd({5}, 13);
  compare(
      "conv2d 3×3 s1 p1 + bias", [](const V& v) { return conv2d(v[0], v[1], v[2], 1, 1); },
      {x, w, b}, 1e-5, 1e-5);
  compare(
      "conv2d 3×3 s2 p0", [](const V& v) { return conv2d(v[0], v[1], Tensor(), 2, 0); }, {x, w},
      1e-5, 1e-5);
  compare(
      "conv2d 1×1 s2", [](const V& v) { return conv2d(v[0], v[1], Tensor(), 2, 0); },
      {rnd({2, 3, 8, 8}, 14), rnd({4, 3, 1, 1}, 15)}, 1e-5, 1e-5);
  // Integer inputs: every partial sum is exact, so the forward is bitwise equal.
  Tensor xi = test::random_int_tensor({2, 3, 6, 6}, 16, -8, 8),
         wi = test::random_int_tensor({4, 3, 3, 3}, 17, -8, 8);
  compare(
      "conv2d exact", [](const V& v) { return conv2d(v[0], v[1], Tensor(), 1, 1); }, {xi, wi}, 0, 0,
      0);
}

// With allow_tf32 the same ops run the TF32 tensor-core kernels: random data moves by more than
// FP32 rounding would (so the switch took effect) and stays within TF32's tolerance; integers stay
// exact (they are TF32 values).
TEST_F(CudaBackend, Conv2dAndConvBnActWithAllowTf32) {
  struct Tf32Scope {
    Tf32Scope() { set_cuda_allow_tf32(true); }
    ~Tf32Scope() { set_cuda_allow_tf32(false); }
  } tf32;
  Tensor x = rnd({2, 8, 9, 7}, 41), w = random_tensor({6, 8, 3, 3}, 42, 0.3f, true);
  auto conv = [](const V& v) { return conv2d(v[0], v[1], Tensor(), 1, 1); };
  compare("conv2d tf32", conv, {x, w}, 2e-3, 2e-3);
  {
    NoGradGuard no_grad;
    const Tensor cpu = conv({x.detach(), w.detach()});
    const Tensor dev = conv({x.detach().to(Device::CUDA), w.detach().to(Device::CUDA)});
    EXPECT_GT(test::max_abs_diff(cpu, dev.to(Device::CPU)), 1e-5)
        << "allow_tf32 did not change the conv's rounding: the FP32 kernel ran";
  }
  Tensor xi = test::random_int_tensor({2, 3, 6, 6}, 43, -8, 8),
         wi = test::random_int_tensor({4, 3, 3, 3}, 44, -8, 8);
  compare("conv2d tf32 exact", conv, {xi, wi}, 0, 0, 0);
  Tensor g = rnd({6}, 45), b = rnd({6}, 46), mask = random_mask({6}, 47);
  for (bool training : {true, false}) {
    BatchNormState st[2];
    auto f = [&](const V& v) {
      return conv_bn_act(v[0], v[1], v[2], v[3], st[v[0].is_cuda() ? 1 : 0], training,
                         Act::MaskedReLU, mask.to(v[0].device()), 1, 1);
    };
    compare(std::string("conv_bn_act tf32 ") + (training ? "train" : "eval"), f, {x, w, g, b}, 2e-3,
            2e-3, 1e-6);
    if (!training) {
      NoGradGuard no_grad;
      compare("conv_bn_act tf32 folded", f, {x.detach(), w.detach(), g.detach(), b.detach()}, 2e-3,
              0, 1e-6);
    }
  }
}

// With set_cuda_tf32_wgmma too, the TF32 convolutions run Hopper's warpgroup MMA where it can
// (under the emulation: wherever the channel counts allow — C a multiple of 16 for fprop and the
// fused layer, K for dgrad, K ≥ 128 for wgrad): the same TF32 tolerance, and in the emulation
// wgmma groups were committed (they are not without the switch).
TEST_F(CudaBackend, Conv2dAndConvBnActWithTf32Wgmma) {
  struct Scope {
    Scope() { set_cuda_allow_tf32(true); }
    ~Scope() {
      set_cuda_allow_tf32(false);
      set_cuda_tf32_wgmma(false);
    }
  } scope;
  Tensor x = rnd({2, 16, 6, 5}, 51), w = random_tensor({128, 16, 3, 3}, 52, 0.3f, true);
  Tensor g = rnd({128}, 53), b = rnd({128}, 54), mask = random_mask({128}, 55);
  auto conv = [](const V& v) { return conv2d(v[0], v[1], Tensor(), 1, 1); };
  for (bool wgmma : {false, true}) {
    set_cuda_tf32_wgmma(wgmma);
    SCOPED_TRACE(wgmma ? "wgmma" : "mma.sync");
#if !SENET_CB_GPU
    const int64_t before = emu::wgmma_commits();
#endif
    compare("conv2d tf32", conv, {x, w}, 2e-3, 2e-3);
    for (bool training : {true, false}) {
      BatchNormState st[2];
      auto f = [&](const V& v) {
        return conv_bn_act(v[0], v[1], v[2], v[3], st[v[0].is_cuda() ? 1 : 0], training,
                           Act::MaskedReLU, mask.to(v[0].device()), 1, 1);
      };
      compare(std::string("conv_bn_act tf32 ") + (training ? "train" : "eval"), f, {x, w, g, b},
              2e-3, 2e-3, 1e-6);
    }
#if !SENET_CB_GPU
    EXPECT_EQ(emu::wgmma_commits() > before, wgmma);
#endif
  }
}

// BN-family ops update running stats: each device gets its own state, compared afterwards.
struct BnCase {
  BatchNormState st[2];
  BatchNormState& of(const Tensor& t) { return st[t.is_cuda() ? 1 : 0]; }
  void compare_stats(const std::string& what) {
    expect_close(st[0].running_mean, st[1].running_mean, 1e-5, what + " running_mean", 1e-7);
    expect_close(st[0].running_var, st[1].running_var, 1e-5, what + " running_var", 1e-7);
  }
};

TEST_F(CudaBackend, BatchNorm2dTrainAndEval) {
  // +3 mean offset: the statistics must not cancel.
  Tensor x = add(rnd({3, 4, 5, 5}, 18, false), Tensor::full({3, 4, 5, 5}, 3.f))
                 .detach()
                 .set_requires_grad(true);
  Tensor g = rnd({4}, 19), b = rnd({4}, 20);
  for (bool training : {true, false}) {
    BnCase bc;
    for (auto& s : bc.st) {
      s.running_mean = Tensor::full({4}, 0.5f);
      s.running_var = Tensor::full({4}, 2.f);
    }
    bc.st[1].running_mean = bc.st[1].running_mean.to(Device::CUDA);
    bc.st[1].running_var = bc.st[1].running_var.to(Device::CUDA);
    compare(
        training ? "batch_norm2d train" : "batch_norm2d eval",
        [&](const V& v) { return batch_norm2d(v[0], v[1], v[2], bc.of(v[0]), training); },
        {x, g, b}, 1e-5, 1e-4, 1e-6);
    bc.compare_stats("batch_norm2d");
  }
}

TEST_F(CudaBackend, BnActVariants) {
  Tensor y = rnd({2, 3, 4, 5}, 21), r = rnd({2, 3, 4, 5}, 22), g = rnd({3}, 23), b = rnd({3}, 24);
  Tensor m_el = random_mask({3, 4, 5}, 25), m_ch = random_mask({3}, 26);
  struct Variant {
    const char* name;
    Act act;
    Tensor mask;
    bool residual;
    bool training;
  } variants[] = {{"bn_act none", Act::None, Tensor(), false, true},
                  {"bn_act relu + residual", Act::ReLU, Tensor(), true, true},
                  {"bn_act masked per element + residual", Act::MaskedReLU, m_el, true, true},
                  {"bn_act masked per channel", Act::MaskedReLU, m_ch, false, true},
                  {"bn_act masked eval", Act::MaskedReLU, m_el, true, false}};
  for (const Variant& vt : variants) {
    BnCase bc;
    compare(
        vt.name,
        [&](const V& v) {
          Tensor m = vt.mask.defined() ? vt.mask.to(v[0].device()) : Tensor();
          return bn_act(v[0], vt.residual ? v[1] : Tensor(), v[2], v[3], bc.of(v[0]), vt.training,
                        vt.act, m);
        },
        {y, r, g, b}, 1e-5, 1e-4, 1e-6);
    bc.compare_stats(vt.name);
  }
}

TEST_F(CudaBackend, ConvBnActTrainEvalInfer) {
  Tensor x = rnd({2, 3, 6, 6}, 27), w = random_tensor({4, 3, 3, 3}, 28, 0.3f, true);
  Tensor g = rnd({4}, 29), b = rnd({4}, 30);
  Tensor m_el = random_mask({4, 3, 3}, 31), m_ch = random_mask({4}, 32);
  for (bool training : {true, false})
    for (int which = 0; which < 3; ++which) {
      Act act = which == 0 ? Act::ReLU : Act::MaskedReLU;
      Tensor mask = which == 1 ? m_el : which == 2 ? m_ch : Tensor();
      std::string name = std::string("conv_bn_act ") + (training ? "train" : "eval") + " act " +
                         std::to_string(which);
      BnCase bc;
      auto f = [&](const V& v) {
        Tensor m = mask.defined() ? mask.to(v[0].device()) : Tensor();
        return conv_bn_act(v[0], v[1], v[2], v[3], bc.of(v[0]), training, act, m, 2, 1);
      };
      compare(name, f, {x, w, g, b}, 1e-5, 1e-4, 1e-6);
      bc.compare_stats(name);
      if (!training) {  // eval without gradients: the folded one-kernel path
        NoGradGuard no_grad;
        compare(name + " folded", f, {x.detach(), w.detach(), g.detach(), b.detach()}, 1e-5, 0,
                1e-6);
      }
      // A block's second conv: the shortcut added before the activation, its gradient dz.
      Tensor res = rnd({2, 4, 3, 3}, 33);
      BnCase br;
      auto fr = [&](const V& v) {
        Tensor m = mask.defined() ? mask.to(v[0].device()) : Tensor();
        return conv_bn_act(v[0], v[1], v[2], v[3], br.of(v[0]), training, act, m, 2, 1, v[4]);
      };
      compare(name + " residual", fr, {x, w, g, b, res}, 1e-5, 1e-4, 1e-6);
      br.compare_stats(name + " residual");
      if (!training) {  // eval without gradients with a residual: conv, then the affine map
        NoGradGuard no_grad;
        compare(name + " residual no-grad", fr,
                {x.detach(), w.detach(), g.detach(), b.detach(), res.detach()}, 1e-5, 0, 1e-6);
      }
    }
}

TEST_F(CudaBackend, PoolLinearFlatten) {
  compare(
      "global_avg_pool", [](const V& v) { return global_avg_pool(v[0]); }, {rnd({2, 3, 4, 5}, 33)},
      1e-6, 0);
  Tensor x = rnd({5, 7}, 34), w = rnd({3, 7}, 35), b = rnd({3}, 36);
  compare(
      "linear", [](const V& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}, 1e-5, 1e-5);
  compare(
      "linear no bias", [](const V& v) { return linear(v[0], v[1], Tensor()); }, {x, w}, 1e-5,
      1e-5);
  compare(
      "flatten → linear", [](const V& v) { return linear(flatten(v[0]), v[1], Tensor()); },
      {rnd({5, 7, 1, 1}, 37), w}, 1e-5, 1e-5);
}

TEST_F(CudaBackend, Losses) {
  Tensor z = rnd({6, 10}, 38), zt = rnd({6, 10}, 39, false);
  Tensor y = Tensor::from_vector_i32({0, 3, 9, 2, 2, 7}, {6});
  compare(
      "softmax_cross_entropy",
      [&](const V& v) { return softmax_cross_entropy(v[0], y.to(v[0].device())); }, {z}, 1e-6,
      1e-5);
  compare(
      "kd_loss", [](const V& v) { return kd_loss(v[0], v[1], 4.f); }, {z, zt}, 1e-5, 1e-5);
  Tensor as = rnd({3, 4, 5, 5}, 40), at = rnd({3, 4, 5, 5}, 41, false);
  compare(
      "pram_loss", [](const V& v) { return pram_loss(v[0], v[1]); }, {as, at}, 1e-5, 1e-4);
  // A weighted sum of losses: the backward's upstream gradient stays a device scalar.
  compare(
      "w·CE + w·KD",
      [&](const V& v) {
        return add(scale(softmax_cross_entropy(v[0], y.to(v[0].device())), 0.3f),
                   scale(kd_loss(v[0], v[1], 2.f), 0.7f));
      },
      {z, zt}, 1e-6, 1e-5);
}

TEST_F(CudaBackend, CountCorrectAndBadLabels) {
  Tensor z = rnd({8, 5}, 42, false);
  Tensor y = Tensor::from_vector_i32({0, 1, 2, 3, 4, 0, 1, 2}, {8});
  EXPECT_EQ(count_correct(z, y), count_correct(z.to(Device::CUDA), y.to(Device::CUDA)));
  Tensor bad = Tensor::from_vector_i32({0, 1, 7, 3, 4, 0, 1, 2}, {8}, Device::CUDA);
  try {
    softmax_cross_entropy(z.to(Device::CUDA), bad);
    FAIL() << "a label outside [0, K) was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label at index 2 is 7"), std::string::npos) << e.what();
  }
}

TEST_F(CudaBackend, ViewsAndMixedDevices) {
  compare(
      "slice + reshape",
      [](const V& v) {
        return scale(v[0].slice(1, 3).reshape({2, -1}), 2.f);
      },
      {rnd({4, 3, 2}, 43)}, 0, 0, 0);
  Tensor a = rnd({2, 2}, 44, false), b = rnd({2, 2}, 45, false).to(Device::CUDA);
  EXPECT_THROW(add(a, b), Error);
  EXPECT_THROW(conv2d(rnd({1, 1, 3, 3}, 46, false), rnd({1, 1, 3, 3}, 47, false).to(Device::CUDA),
                      Tensor(), 1, 1),
               Error);
}

}  // namespace
}  // namespace senet
