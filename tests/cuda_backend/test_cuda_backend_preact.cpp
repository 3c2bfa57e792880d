// tests/cuda_backend/test_cuda_backend_preact.cpp — preact_block (engine/ops/preact_block.h): on
// CUDA in training, the prologue-fused pre-activation block (neither a = act1(BN1(x)) nor
// h = act2(BN2(conv1(a))) written; conv1, the shortcut and conv2 apply them while loading; the
// shortcut added in conv2's epilogue; both BNs' pass bits recomputed in the backward) must equal
// the chain it replaces — bn_act, conv_bn_act, conv2d, add — BITWISE: output, the running
// statistics of both BNs and the gradient of every input: the prologue conv runs fprop's loops
// (v5, split like v6 on small grids — the 16-channel case —; v4 with TF32, split like v8).
// Cases: identity shortcut, projection at stride 2 and at stride 1; activations ReLU, masked ReLU
// per position and per channel, None; inputs without gradient; FP32, TF32 (mma.sync and wgmma)
// and the folded BN backward. And a whole WRN
// training step through WideBlock (which uses the op) against the unfused path (capture on).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/core/rng.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/preact_block.h"
#include "models/model.h"
#include "models/relu_site.h"
#include "tests/cuda_backend/cb_test.h"
#if !SENET_CB_GPU
#include "kernels/emu/emu_control.h"
#endif

namespace senet::preact_test {

using cbtest::CudaBackend;
using cbtest::device_mask;
using cbtest::expect_same_bits;
using test::random_tensor;

struct BlockCase {
  const char* name;
  int C, K, stride;
  bool projection;
  Act act1, act2;
  bool per_channel2;
  // inputs without gradient
  bool frozen_x = false, frozen_w2 = false, frozen_bn1 = false, frozen_w1 = false,
       frozen_bn2 = false;
};

struct BlockRun {
  Tensor out;
  std::vector<Tensor> state;  // running stats of both BNs
  std::vector<Tensor> grads;  // x, γ1, β1, w1, γ2, β2, w2, w_shortcut
};

BlockRun run_block(const BlockCase& c, bool fused) {
  const int N = 2, H = 9, W = 7;  // H ≠ W
  const int P = (H + 2 - 3) / c.stride + 1, Q = (W + 2 - 3) / c.stride + 1;
  auto leaf = [](const Shape& s, uint64_t seed, float scale = 1.f, bool frozen = false) {
    Tensor t = random_tensor(s, seed, scale).to(Device::CUDA);
    if (!frozen) t.set_requires_grad(true);
    return t;
  };
  auto state = [](int ch) {
    BatchNormState st;
    st.running_mean = Tensor::zeros({ch}, DType::F32, Device::CUDA);
    st.running_var = Tensor::full({ch}, 1.f, Device::CUDA);
    return st;
  };
  Tensor x = leaf({N, c.C, H, W}, 1, 1.f, c.frozen_x);
  BatchNormState s1 = state(c.C), s2 = state(c.K);
  PreactBlockArgs b;
  b.bn1 = {leaf({c.C}, 2, 1.f, c.frozen_bn1), leaf({c.C}, 3, 1.f, c.frozen_bn1), &s1, c.act1, {}};
  if (c.act1 == Act::MaskedReLU) b.bn1.mask = device_mask({c.C, H, W}, 9);
  b.w1 = leaf({c.K, c.C, 3, 3}, 4, 0.5f, c.frozen_w1), b.stride = c.stride;
  b.bn2 = {leaf({c.K}, 5, 1.f, c.frozen_bn2), leaf({c.K}, 6, 1.f, c.frozen_bn2), &s2, c.act2, {}};
  if (c.act2 == Act::MaskedReLU)
    b.bn2.mask = c.per_channel2 ? device_mask({c.K}, 10) : device_mask({c.K, P, Q}, 10);
  b.w2 = leaf({c.K, c.K, 3, 3}, 7, 0.5f, c.frozen_w2);
  if (c.projection) b.w_shortcut = leaf({c.K, c.C, 1, 1}, 8, 0.5f);
  BlockRun out;
  if (fused) {
    out.out = preact_block(x, b, true);
  } else {  // the chain, as WideBlock ran it before the op
    const BnActLayer &l1 = b.bn1, &l2 = b.bn2;
    Tensor a = bn_act(x, Tensor(), l1.gamma, l1.beta, s1, true, l1.act, l1.mask);
    Tensor h = conv_bn_act(a, b.w1, l2.gamma, l2.beta, s2, true, l2.act, l2.mask, c.stride, 1);
    Tensor sc = c.projection ? conv2d(a, b.w_shortcut, Tensor(), c.stride, 0) : x;
    out.out = add(conv2d(h, b.w2, Tensor(), 1, 1), sc);
  }
  out.out.backward(random_tensor(out.out.shape(), 11).to(Device::CUDA));
  out.state = {s1.running_mean, s1.running_var, s2.running_mean, s2.running_var};
  for (const Tensor& t :
       {x, b.bn1.gamma, b.bn1.beta, b.w1, b.bn2.gamma, b.bn2.beta, b.w2, b.w_shortcut})
    out.grads.push_back(t.defined() && t.requires_grad() ? t.grad() : Tensor());
  return out;
}

TEST_F(CudaBackend, PreactBlockEqualsTheChainBitwise) {
  const BlockCase cases[] = {
      {"identity, relu/relu", 6, 6, 1, false, Act::ReLU, Act::ReLU, false},
      {"projection s2, mrelu position/channel", 4, 6, 2, true, Act::MaskedReLU, Act::MaskedReLU,
       true},
      {"projection s1, none/mrelu position", 3, 5, 1, true, Act::None, Act::MaskedReLU, false},
      {"identity, mrelu/relu, frozen x", 5, 5, 1, false, Act::MaskedReLU, Act::ReLU, false, true},
      {"projection s2, frozen w2 and BN1", 4, 6, 2, true, Act::ReLU, Act::MaskedReLU, false, false,
       true, true},
      {"identity C16 (split-K), mrelu/mrelu channel", 16, 16, 1, false, Act::MaskedReLU,
       Act::MaskedReLU, true},
      // only the later weights train: the shortcut's gradient needs neither dh nor da
      {"projection s2, only w2 and w_shortcut train", 4, 6, 2, true, Act::ReLU, Act::ReLU, false,
       true, false, true, true, true},
      {"projection s1, only w_shortcut trains", 3, 5, 1, true, Act::MaskedReLU, Act::ReLU, false,
       true, true, true, true, true},
      {"projection s2, x and BN1 frozen", 4, 6, 2, true, Act::ReLU, Act::MaskedReLU, true, true,
       false, true},
      {"identity, w1 and BN2 frozen", 5, 5, 1, false, Act::ReLU, Act::MaskedReLU, false, false,
       false, false, true, true}};
  // FP32, TF32, TF32 on wgmma (the C16 case; the others fall back to mma.sync), and FP32 with the
  // BN backward folded into dgrad/wgrad where it can be (the op's BN2 has no stored bits: folded;
  // the chain's has: not) — the same bits every time.
  for (int math = 0; math < 4; ++math) {
    const bool tf32 = math == 1 || math == 2, wgmma = math == 2, fold = math == 3;
    set_cuda_allow_tf32(tf32);
    set_cuda_tf32_wgmma(wgmma);
    set_cuda_fold_bn_backward(fold);
    for (const BlockCase& c : cases) {
      SCOPED_TRACE(testing::Message() << c.name
                                      << (wgmma  ? " tf32 wgmma"
                                          : tf32 ? " tf32"
                                          : fold ? " fp32 fold"
                                                 : " fp32"));
#if !SENET_CB_GPU
      const int64_t l0 = emu::launches();
#endif
      const BlockRun fused = run_block(c, true);
#if !SENET_CB_GPU
      const int64_t l1 = emu::launches();
#endif
      const BlockRun chain = run_block(c, false);
#if !SENET_CB_GPU
      // No activation pass, no add: fewer launches than the chain.
      EXPECT_LT(l1 - l0, emu::launches() - l1);
#endif
      expect_same_bits(fused.out, chain.out, "out");
      for (size_t i = 0; i < chain.state.size(); ++i)
        expect_same_bits(fused.state[i], chain.state[i], "running stat " + std::to_string(i));
      const char* names[] = {"dx", "dγ1", "dβ1", "dw1", "dγ2", "dβ2", "dw2", "dw_shortcut"};
      for (size_t i = 0; i < chain.grads.size(); ++i)
        expect_same_bits(fused.grads[i], chain.grads[i], names[i]);
    }
  }
  set_cuda_allow_tf32(false);
  set_cuda_tf32_wgmma(false);
  set_cuda_fold_bn_backward(false);
}

// Shapes and the identity shortcut's condition are checked like the chain's, naming the op.
TEST_F(CudaBackend, PreactBlockNamesABadShortcut) {
  Tensor x = random_tensor({2, 4, 6, 6}, 1).to(Device::CUDA);
  x.set_requires_grad(true);
  BatchNormState s1, s2;
  s1.running_mean = Tensor::zeros({4}, DType::F32, Device::CUDA);
  s1.running_var = Tensor::full({4}, 1.f, Device::CUDA);
  s2.running_mean = Tensor::zeros({6}, DType::F32, Device::CUDA);
  s2.running_var = Tensor::full({6}, 1.f, Device::CUDA);
  PreactBlockArgs b;
  b.bn1 = {Tensor::full({4}, 1.f, Device::CUDA),
           Tensor::zeros({4}, DType::F32, Device::CUDA),
           &s1,
           Act::ReLU,
           {}};
  b.w1 = random_tensor({6, 4, 3, 3}, 2).to(Device::CUDA);
  b.bn2 = {Tensor::full({6}, 1.f, Device::CUDA),
           Tensor::zeros({6}, DType::F32, Device::CUDA),
           &s2,
           Act::ReLU,
           {}};
  b.w2 = random_tensor({6, 6, 3, 3}, 3).to(Device::CUDA);
  try {  // 4 channels in, 6 out, no projection
    preact_block(x, b, true);
    FAIL() << "an identity shortcut across a channel change was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("preact_block"), std::string::npos) << e.what();
  }
}

// A tiny WRN-10-1 (widths 4, 8, 16 after a 4-channel stem; the 16-channel convs split C·R·S, in
// the chain and in the op alike) with masked sites: one training step, the loss, every gradient and
// the BN buffers. capture: every site captures (the mask search's mode), so WideBlock runs the
// chain instead of preact_block — the same bits.
models::ModelConfig tiny_wrn() {
  models::ModelConfig c;
  c.arch = models::Arch::WRN;
  c.wrn_depth = 10, c.wrn_k = 1, c.width = 0.25f;
  c.in_channels = 1, c.image_size = 16, c.num_classes = 10, c.seed = 5;
  return c;
}

// blocks: the preact_block nodes of the step's graph.
std::vector<std::vector<float>> wrn_step(bool capture, int* blocks) {
  return cbtest::masked_step(tiny_wrn(), capture, 40, {1, 4, 7}, [&](const Tensor& loss) {
    *blocks = cbtest::count_ops(loss, "preact_block");
  });
}

TEST_F(CudaBackend, WrnStepWithPreactBlocksEqualsUnfusedStep) {
  int fused_blocks = -1, chain_blocks = -1;
#if !SENET_CB_GPU
  const int64_t l0 = emu::launches();
#endif
  const auto fused = wrn_step(false, &fused_blocks);
#if !SENET_CB_GPU
  const int64_t l1 = emu::launches();
#endif
  EXPECT_EQ(fused, wrn_step(true, &chain_blocks));
  // WRN-10-1: one WideBlock per group, three groups — in every build, the GPU's too.
  EXPECT_EQ(fused_blocks, 3) << "the blocks did not run preact_block";
  EXPECT_EQ(chain_blocks, 0) << "capturing sites must run the chain";
#if !SENET_CB_GPU
  EXPECT_LT(l1 - l0, emu::launches() - l1) << "preact_block launched no fewer kernels";
#endif
}

}  // namespace senet::preact_test
