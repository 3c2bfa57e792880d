// tests/cuda_backend/test_cuda_backend_pair.cpp — conv_bn_act_pair (engine/ops/conv_bn_act_pair.h):
// on CUDA in training, the prologue-fused pair (a1 never written, conv2 and its wgrad apply act1
// while loading y1, BN1's pass bits recomputed from y1) must equal the two conv_bn_act calls it
// replaces BITWISE — output, running statistics of both BNs, and the gradient of every input —
// because the prologue is scale_shift_mrelu's own expression and every other kernel is the same.
// Cases: act1 ReLU, masked ReLU per channel and per position, None; conv1 at stride 1 and 2;
// with and without a residual that needs its gradient; TF32 too. And a whole ResNet-18 training
// step through BasicBlock (which uses the pair) against the unfused path (capture on), and
// against itself with the BN backward not folded into dgrad/wgrad (set_cuda_fold_bn_backward);
// and the TF32 step on Hopper's wgmma against the same on mma.sync (set_cuda_tf32_wgmma).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/core/rng.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/conv_bn_act_pair.h"
#include "engine/ops/cross_entropy.h"
#include "models/model.h"
#include "models/relu_site.h"
#include "tests/cuda_backend/cb_test.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet {
namespace {

using cbtest::CudaBackend;
using cbtest::device_mask;
using cbtest::expect_same_bits;
using test::random_tensor;

struct Case {
  const char* name;
  Act act1;
  bool per_channel;
  int stride1;
  bool residual;
  bool frozen_x = false, frozen_w2 = false, frozen_r = false;  // inputs without gradient
};

struct PairRun {
  Tensor a;
  std::vector<Tensor> state;  // running stats of both BNs
  std::vector<Tensor> grads;  // x, w1, γ1, β1, w2, γ2, β2, r
};

PairRun run(const Case& c, bool pair) {
  const int N = 2, C = 3, H = 9, W = 7, K1 = 5, K2 = 4;  // H ≠ W
  const int P = (H + 2 - 3) / c.stride1 + 1, Q = (W + 2 - 3) / c.stride1 + 1;
  auto leaf = [](const Shape& s, uint64_t seed, float scale = 1.f, bool frozen = false) {
    Tensor t = random_tensor(s, seed, scale).to(Device::CUDA);
    if (!frozen) t.set_requires_grad(true);
    return t;
  };
  Tensor x = leaf({N, C, H, W}, 1, 1.f, c.frozen_x), w1 = leaf({K1, C, 3, 3}, 2, 0.5f),
         g1 = leaf({K1}, 3), b1 = leaf({K1}, 4), w2 = leaf({K2, K1, 3, 3}, 5, 0.5f, c.frozen_w2),
         g2 = leaf({K2}, 6), b2 = leaf({K2}, 7);
  Tensor r = c.residual ? leaf({N, K2, P, Q}, 8, 1.f, c.frozen_r) : Tensor();
  BatchNormState s1, s2;
  s1.running_mean = Tensor::zeros({K1}, DType::F32, Device::CUDA);
  s1.running_var = Tensor::full({K1}, 1.f, Device::CUDA);
  s2.running_mean = Tensor::zeros({K2}, DType::F32, Device::CUDA);
  s2.running_var = Tensor::full({K2}, 1.f, Device::CUDA);
  ConvBnActLayer l1{w1, g1, b1, &s1, c.act1, Tensor(), c.stride1, 1};
  if (c.act1 == Act::MaskedReLU)
    l1.mask = c.per_channel ? device_mask({K1}, 9) : device_mask({K1, P, Q}, 9);
  ConvBnActLayer l2{w2, g2, b2, &s2, Act::MaskedReLU, device_mask({K2, P, Q}, 10), 1, 1};
  PairRun out;
  if (pair) {
    out.a = conv_bn_act_pair(x, l1, l2, true, r);
  } else {
    Tensor a1 = conv_bn_act(x, w1, g1, b1, s1, true, l1.act, l1.mask, l1.stride, 1);
    out.a = conv_bn_act(a1, w2, g2, b2, s2, true, l2.act, l2.mask, 1, 1, r);
  }
  out.a.backward(random_tensor(out.a.shape(), 11).to(Device::CUDA));
  out.state = {s1.running_mean, s1.running_var, s2.running_mean, s2.running_var};
  for (const Tensor& t : {x, w1, g1, b1, w2, g2, b2, r})
    out.grads.push_back(t.defined() && t.requires_grad() ? t.grad() : Tensor());
  return out;
}

TEST_F(CudaBackend, ConvBnActPairEqualsTwoFusedLayersBitwise) {
  const Case cases[] = {{"relu", Act::ReLU, false, 1, true},
                        {"mrelu/channel s2", Act::MaskedReLU, true, 2, false},
                        {"mrelu/position", Act::MaskedReLU, false, 1, true},
                        {"mrelu/position s2, frozen x", Act::MaskedReLU, false, 2, true, true},
                        {"none s2, frozen w2 and r", Act::None, false, 2, true, false, true, true}};
  for (bool tf32 : {false, true}) {
    set_cuda_allow_tf32(tf32);
    for (const Case& c : cases) {
      SCOPED_TRACE(testing::Message() << c.name << (tf32 ? " tf32" : " fp32"));
#if !SENET_CB_GPU
      const int64_t l0 = emu::launches();
#endif
      const PairRun fused = run(c, true);
#if !SENET_CB_GPU
      const int64_t l1 = emu::launches();
#endif
      const PairRun two = run(c, false);
#if !SENET_CB_GPU
      // The pair skips layer 1's scale_shift_mrelu (and launches nothing more).
      EXPECT_LT(l1 - l0, emu::launches() - l1);
#endif
      expect_same_bits(fused.a, two.a, "a2");
      for (size_t i = 0; i < two.state.size(); ++i)
        expect_same_bits(fused.state[i], two.state[i], "running stat " + std::to_string(i));
      const char* names[] = {"dx", "dw1", "dγ1", "dβ1", "dw2", "dγ2", "dβ2", "dr"};
      for (size_t i = 0; i < two.grads.size(); ++i)
        expect_same_bits(fused.grads[i], two.grads[i], names[i]);
    }
  }
  set_cuda_allow_tf32(false);
}

// One training step of a tiny ResNet-18 with masked sites (SENet's student, per position): the
// loss, every gradient and the BN buffers. capture: every site captures (the mask search's mode),
// so BasicBlock runs the two conv_bn_act calls instead of the pair.
// pairs (when given): the conv_bn_act_pair nodes of the step's graph.
std::vector<std::vector<float>> resnet_step(bool capture, int* pairs = nullptr) {
  return cbtest::masked_step(cbtest::tiny_resnet18(), capture, 30, {1, 3, 5, 7},
                             [&](const Tensor& loss) {
                               if (pairs) *pairs = cbtest::count_ops(loss, "conv_bn_act_pair");
                             });
}

// BasicBlock uses the pair; with every site capturing it runs the two calls instead: the same step.
TEST_F(CudaBackend, ResNetStepWithPairsEqualsUnfusedStep) {
  int fused_pairs = -1, chain_pairs = -1;
  const auto fused = resnet_step(false, &fused_pairs);
  EXPECT_EQ(fused, resnet_step(true, &chain_pairs));
  // ResNet-18's eight BasicBlocks, each one pair — in every build, the GPU's too.
  EXPECT_EQ(fused_pairs, 8) << "the blocks did not run conv_bn_act_pair";
  EXPECT_EQ(chain_pairs, 0) << "capturing sites must run the two layers";
  // The BN backward folded into dgrad/wgrad (the pairs' first layers, the shortcuts) or as its
  // own pass writing dy (the default): the same bits.
  set_cuda_fold_bn_backward(true);
  EXPECT_EQ(fused, resnet_step(false));
  set_cuda_fold_bn_backward(false);
}

// The TF32 step on Hopper's warpgroup MMA (set_cuda_tf32_wgmma; the tiny ResNet's 16- and
// 32-channel layers run it: fused forward with its prologue, dgrad, and with the fold the folded
// dgrad) against the same step on mma.sync: within TF32's tolerance of each other (the tensor
// cores' sum order is the hardware's), and the BN backward folded or not, bitwise the same.
TEST_F(CudaBackend, ResNetTf32StepOnWgmmaEqualsMmaStep) {
  struct Scope {
    Scope() { set_cuda_allow_tf32(true); }
    ~Scope() {
      set_cuda_allow_tf32(false);
      set_cuda_tf32_wgmma(false);
      set_cuda_fold_bn_backward(false);
    }
  } scope;
  const auto mma = resnet_step(false);
  set_cuda_tf32_wgmma(true);
#if !SENET_CB_GPU
  const int64_t before = emu::wgmma_commits();
#endif
  const auto wgmma = resnet_step(false);
#if !SENET_CB_GPU
  EXPECT_GT(emu::wgmma_commits(), before) << "the wgmma kernels did not run";
#endif
  ASSERT_EQ(wgmma.size(), mma.size());
  for (size_t i = 0; i < mma.size(); ++i) {
    float scale = 0.f, worst = 0.f;
    for (size_t j = 0; j < mma[i].size(); ++j) {
      scale = std::max(scale, std::fabs(mma[i][j]));
      worst = std::max(worst, std::fabs(wgmma[i][j] - mma[i][j]));
    }
    EXPECT_LE(worst, 2e-3f * scale + 1e-6f) << "tensor " << i;
  }
  set_cuda_fold_bn_backward(true);
#if !SENET_CB_GPU
  const int64_t before_fold = emu::wgmma_commits();
#endif
  EXPECT_EQ(resnet_step(false), wgmma);
#if !SENET_CB_GPU
  EXPECT_GT(emu::wgmma_commits(), before_fold);
#endif
}

}  // namespace
}  // namespace senet
