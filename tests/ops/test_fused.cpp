// tests/ops/test_fused.cpp — the fused ops against the unfused chain through the autograd tape
// (conv2d → batch_norm2d → (add) → (masked_)relu), forward, running stats and every gradient; and
// finite-difference gradients of the fused ops themselves, inputs chosen off the ReLU kink.
//
// Tolerance fused vs unfused: |a − b| ≤ 1e-5·max|b| + 1e-5·|b|. Both paths run the same per-element
// formulas, but the fused forward sums its channel statistics per group of images (while the conv
// output is in cache) and the chain per image, so μ and σ² may differ in the last fp32 bit; that
// perturbs z by ~1e-7 relative, and the gradients through dγ/dβ by a few ulp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/ops/activation.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/bn_act.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/conv_bn_act.h"
#include "engine/ops/conv_bn_fold_cache.h"
#include "engine/ops/elementwise.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using senet::test::random_tensor;

namespace {

struct ConvCase {
  int N, C, H, W, K, R, S, stride, pad;
};

Tensor random_mask(const Shape& shape, uint64_t seed) {
  std::vector<uint8_t> m(size_t(shape.numel()));
  for (size_t i = 0; i < m.size(); ++i) m[i] = uint8_t(rand_below(seed, 5, i, 2));
  return Tensor::from_vector_u8(m, shape);
}

// The mask an Act needs for activations of shape [N, K, P, Q]: per element, or per channel.
Tensor mask_for(Act act, bool per_channel, int64_t K, int64_t P, int64_t Q, uint64_t seed) {
  if (act != Act::MaskedReLU) return Tensor();
  return per_channel ? random_mask({K}, seed) : random_mask({K, P, Q}, seed);
}

Tensor apply_act(const Tensor& z, Act act, const Tensor& mask) {
  return act == Act::None ? z : act == Act::ReLU ? relu(z) : masked_relu(z, mask);
}

void expect_close(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  double scale = 0;
  for (float v : b.to_vector()) scale = std::max(scale, double(std::abs(v)));
  auto s = senet::test::allclose_report(a, b, 1e-5 * scale, 1e-5);
  EXPECT_TRUE(s.empty()) << what << ":\n" << s;
}

Tensor leaf(const Tensor& t) { return t.clone().set_requires_grad(true); }

const char* act_name(Act a) {
  return a == Act::None ? "none" : a == Act::ReLU ? "relu" : "masked_relu";
}

// Seeds whose activated pre-activations z all stay ≥ margin from the kink, so that finite
// differences (ε = 2e-3) never cross it. Tries seeds in order: deterministic.
template <class ZFn>
uint64_t seed_off_the_kink(ZFn z_of_seed, const Tensor& mask, float margin) {
  for (uint64_t seed = 1; seed < 5000; ++seed) {
    Tensor z = z_of_seed(seed);
    auto zv = z.to_vector();
    std::vector<uint8_t> mv = mask.defined() ? mask.to_vector_u8() : std::vector<uint8_t>{1};
    const int64_t C = z.size(1), HW = z.numel() / (z.size(0) * C);
    const bool per_channel = mask.defined() && mask.ndim() == 1;
    bool ok = true;
    for (int64_t i = 0; i < z.numel() && ok; ++i) {
      int64_t j = i % (C * HW);
      bool has_relu = !mask.defined() || mv[size_t(per_channel ? j / HW : j)];
      ok = !has_relu || std::abs(zv[size_t(i)]) >= margin;
    }
    if (ok) return seed;
  }
  ADD_FAILURE() << "no seed keeps the inputs off the ReLU kink";
  return 1;
}

}  // namespace

// ---------------------------------------------------------------- conv_bn_act == conv → BN → act
TEST(Fused, ConvBnActEqualsTheUnfusedChain) {
  const std::vector<ConvCase> cases = {
      {3, 3, 6, 6, 5, 3, 3, 1, 1},  // 3×3 s1 p1
      {3, 3, 7, 9, 4, 3, 3, 2, 1},  // 3×3 s2
      {3, 4, 7, 9, 6, 1, 1, 2, 0},  // 1×1 s2 p0 (shortcut)
      {6, 4, 4, 4, 5, 3, 3, 1, 1},  // 4×4: images grouped side by side
  };
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const ConvCase& c = cases[ci];
    const int P = (c.H + 2 * c.pad - c.R) / c.stride + 1,
              Q = (c.W + 2 * c.pad - c.S) / c.stride + 1;
    for (Act act : {Act::None, Act::ReLU, Act::MaskedReLU})
      for (bool per_channel : {false, true})
        for (bool with_res : {false, true}) {
          if (per_channel && act != Act::MaskedReLU) continue;
          SCOPED_TRACE(std::string("case ") + std::to_string(ci) + " " + act_name(act) +
                       (per_channel ? " per-channel" : "") + (with_res ? " residual" : ""));
          Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 100 + ci);
          Tensor w = random_tensor({c.K, c.C, c.R, c.S}, 200 + ci, 0.5f);
          Tensor g = random_tensor({c.K}, 300 + ci), b = random_tensor({c.K}, 400 + ci);
          Tensor res = with_res ? random_tensor({c.N, c.K, P, Q}, 800 + ci) : Tensor();
          Tensor mask = mask_for(act, per_channel, c.K, P, Q, 500 + ci);
          for (bool training : {true, false}) {
            SCOPED_TRACE(training ? "training" : "eval");
            BatchNormState st1, st2;
            st1.running_mean = random_tensor({c.K}, 600 + ci);
            st1.running_var = Tensor::full({c.K}, 1.5f);
            st2.running_mean = st1.running_mean.clone();
            st2.running_var = st1.running_var.clone();
            Tensor x1 = leaf(x), w1 = leaf(w), g1 = leaf(g), b1 = leaf(b);
            Tensor x2 = leaf(x), w2 = leaf(w), g2 = leaf(g), b2 = leaf(b);
            Tensor r1 = with_res ? leaf(res) : Tensor(), r2 = with_res ? leaf(res) : Tensor();
            Tensor a1 = conv_bn_act(x1, w1, g1, b1, st1, training, act, mask, c.stride, c.pad, r1);
            Tensor z2 =
                batch_norm2d(conv2d(x2, w2, Tensor(), c.stride, c.pad), g2, b2, st2, training);
            if (with_res) z2 = add(z2, r2);
            Tensor a2 = apply_act(z2, act, mask);
            expect_close(a1, a2, "a");
            expect_close(st1.running_mean, st2.running_mean, "running_mean");
            expect_close(st1.running_var, st2.running_var, "running_var");
            Tensor r = random_tensor(a1.shape(), 700 + ci);
            a1.backward(r);
            a2.backward(r);
            expect_close(x1.grad(), x2.grad(), "dx");
            expect_close(w1.grad(), w2.grad(), "dw");
            expect_close(g1.grad(), g2.grad(), "dgamma");
            expect_close(b1.grad(), b2.grad(), "dbeta");
            if (with_res) expect_close(r1.grad(), r2.grad(), "dresidual");
            // Eval without gradients takes the folded path (BN folded into the conv weights).
            NoGradGuard no_grad;
            Tensor a3 = conv_bn_act(x, w, g, b, st1, training, act, mask, c.stride, c.pad, res);
            if (!training) expect_close(a3, a2, "folded eval");
          }
        }
  }
}

// The residual alone needing its gradient (x and w frozen): dr = dz through the fused op.
TEST(Fused, ConvBnActResidualGradientWithFrozenConv) {
  Tensor x = random_tensor({2, 3, 5, 5}, 1), w = random_tensor({4, 3, 3, 3}, 2, 0.5f);
  Tensor g = random_tensor({4}, 3), b = random_tensor({4}, 4);
  Tensor res = random_tensor({2, 4, 5, 5}, 5);
  BatchNormState st1, st2;
  Tensor r1 = leaf(res), r2 = leaf(res);
  Tensor a1 = conv_bn_act(x, w, g, b, st1, true, Act::ReLU, Tensor(), 1, 1, r1);
  Tensor a2 = apply_act(add(batch_norm2d(conv2d(x, w, Tensor(), 1, 1), g, b, st2, true), r2),
                        Act::ReLU, Tensor());
  Tensor up = random_tensor(a1.shape(), 6);
  a1.backward(up);
  a2.backward(up);
  expect_close(r1.grad(), r2.grad(), "dresidual");
  EXPECT_FALSE(x.grad().defined());
}

// ---------------------------------------------------------------- bn_act == BN → (add) → act
TEST(Fused, BnActEqualsTheUnfusedChain) {
  const Shape shape{4, 5, 6, 7};
  Tensor y = random_tensor(shape, 1, 2.f), res = random_tensor(shape, 2);
  Tensor g = random_tensor({5}, 3), b = random_tensor({5}, 4);
  for (Act act : {Act::None, Act::ReLU, Act::MaskedReLU})
    for (bool per_channel : {false, true})
      for (bool with_res : {false, true})
        for (bool training : {true, false}) {
          if (per_channel && act != Act::MaskedReLU) continue;
          SCOPED_TRACE(std::string(act_name(act)) + (per_channel ? " per-channel" : "") +
                       (with_res ? " residual" : "") + (training ? " training" : " eval"));
          Tensor mask = mask_for(act, per_channel, 5, 6, 7, 5);
          BatchNormState st1, st2;
          Tensor y1 = leaf(y), r1 = with_res ? leaf(res) : Tensor(), g1 = leaf(g), b1 = leaf(b);
          Tensor y2 = leaf(y), r2 = with_res ? leaf(res) : Tensor(), g2 = leaf(g), b2 = leaf(b);
          Tensor a1 = bn_act(y1, r1, g1, b1, st1, training, act, mask);
          Tensor z2 = batch_norm2d(y2, g2, b2, st2, training);
          if (with_res) z2 = add(z2, r2);
          Tensor a2 = apply_act(z2, act, mask);
          // Same statistics kernel and same formula in both: equal to the bit.
          EXPECT_EQ(a1.to_vector(), a2.to_vector());
          EXPECT_EQ(st1.running_var.to_vector(), st2.running_var.to_vector());
          Tensor r = random_tensor(shape, 6);
          a1.backward(r);
          a2.backward(r);
          expect_close(y1.grad(), y2.grad(), "dy");
          expect_close(g1.grad(), g2.grad(), "dgamma");
          expect_close(b1.grad(), b2.grad(), "dbeta");
          if (with_res) expect_close(r1.grad(), r2.grad(), "dresidual");
        }
}

// ---------------------------------------------------------------- the folded weights' cache
// Eval without gradients folds BN into the conv once, until w, γ, β or the running statistics
// change (engine/ops/conv_bn_fold_cache.h): every way the engine writes them must invalidate it.
TEST(Fused, FoldedWeightsAreCachedUntilTheWeightsChange) {
  Tensor x = random_tensor({2, 3, 6, 6}, 1), w = random_tensor({4, 3, 3, 3}, 2, 0.5f);
  Tensor g = random_tensor({4}, 3), b = random_tensor({4}, 4);
  BatchNormState st;
  st.running_mean = random_tensor({4}, 5);
  st.running_var = Tensor::full({4}, 1.5f);
  auto eval = [&] {
    NoGradGuard no_grad;
    return conv_bn_act(x, w, g, b, st, false, Act::ReLU, Tensor(), 1, 1);
  };
  auto unfused = [&] {  // the reference: conv → BN (running stats) → ReLU, nothing cached
    NoGradGuard no_grad;
    BatchNormState s2{st.running_mean.clone(), st.running_var.clone(), st.momentum, st.eps};
    return apply_act(batch_norm2d(conv2d(x, w, Tensor(), 1, 1), g, b, s2, false), Act::ReLU,
                     Tensor());
  };
  clear_fold_cache();
  FoldCacheStats s0 = fold_cache_stats();
  Tensor a1 = eval(), a2 = eval();
  FoldCacheStats s1 = fold_cache_stats();
  EXPECT_EQ(s1.misses - s0.misses, 1);
  EXPECT_EQ(s1.hits - s0.hits, 1);
  EXPECT_EQ(a1.to_vector(), a2.to_vector());
  expect_close(a1, unfused(), "cached");

  auto expect_refold = [&](const char* what) {
    SCOPED_TRACE(what);
    const FoldCacheStats before = fold_cache_stats();
    Tensor a = eval();
    EXPECT_EQ(fold_cache_stats().misses - before.misses, 1) << "the cache missed no change";
    expect_close(a, unfused(), "after the change");
  };
  w.data<float>()[0] += 1.f;  // a write through the raw pointer
  expect_refold("weight written through data()");
  g.copy_(random_tensor({4}, 6));
  expect_refold("gamma copied in place");
  b.fill_(0.25f);
  expect_refold("beta filled");
  {  // a training-mode forward updates the running statistics
    Tensor unused = conv_bn_act(x, w, g, b, st, true, Act::ReLU, Tensor(), 1, 1);
  }
  expect_refold("running statistics updated by training");
  st.eps = 1e-3f;
  expect_refold("another eps");
  // (The unfused reference read w, γ, β through data(), which counts as a possible write: the
  // cache is conservative. A model's eval loop touches them only here.)
  eval();
  const FoldCacheStats before = fold_cache_stats();
  eval();
  EXPECT_EQ(fold_cache_stats().hits - before.hits, 1) << "unchanged again: a hit";
}

// ---------------------------------------------------------------- finite differences
TEST(Fused, ConvBnActGradcheck) {
  const std::vector<ConvCase> cases = {
      {2, 2, 4, 4, 3, 3, 3, 1, 1}, {2, 3, 5, 5, 2, 3, 3, 2, 1}, {2, 3, 5, 5, 3, 1, 1, 2, 0}};
  senet::test::GradcheckOptions opt;
  opt.eps = 2e-3;  // with |z| ≥ 0.03 on activated elements: no finite difference crosses the kink
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const ConvCase& c = cases[ci];
    const int P = (c.H + 2 * c.pad - c.R) / c.stride + 1,
              Q = (c.W + 2 * c.pad - c.S) / c.stride + 1;
    for (Act act : {Act::None, Act::ReLU, Act::MaskedReLU})
      for (bool training : {true, false}) {
        SCOPED_TRACE(std::string("case ") + std::to_string(ci) + " " + act_name(act) +
                     (training ? " training" : " eval"));
        Tensor mask = mask_for(act, false, c.K, P, Q, 9 + ci);
        BatchNormState st;
        st.running_mean = Tensor::from_vector(std::vector<float>(size_t(c.K), 0.2f), {c.K});
        st.running_var = Tensor::full({c.K}, 0.7f);
        auto inputs = [&](uint64_t seed) {
          return std::vector<Tensor>{random_tensor({c.N, c.C, c.H, c.W}, seed, 1.f, true),
                                     random_tensor({c.K, c.C, c.R, c.S}, seed + 1, 0.5f, true),
                                     random_tensor({c.K}, seed + 2, 1.f, true, 0.5f),
                                     random_tensor({c.K}, seed + 3, 1.f, true)};
        };
        auto z_of = [&](uint64_t seed) {
          NoGradGuard ng;
          BatchNormState s2;
          s2.running_mean = st.running_mean.clone();
          s2.running_var = st.running_var.clone();
          auto in = inputs(seed * 10);
          return conv_bn_act(in[0], in[1], in[2], in[3], s2, training, Act::None, Tensor(),
                             c.stride, c.pad);
        };
        const uint64_t seed = act == Act::None ? 1 : seed_off_the_kink(z_of, mask, 0.03f);
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& v) {
              return conv_bn_act(v[0], v[1], v[2], v[3], st, training, act, mask, c.stride, c.pad);
            },
            inputs(seed * 10), opt);
      }
  }
}

TEST(Fused, ConvBnActWithResidualGradcheck) {
  senet::test::GradcheckOptions opt;
  opt.eps = 2e-3;
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    BatchNormState st;
    st.running_mean = Tensor::from_vector({0.2f, -0.1f, 0.3f}, {3});
    st.running_var = Tensor::full({3}, 0.7f);
    const std::vector<Tensor> in{
        random_tensor({2, 2, 4, 4}, 31, 1.f, true), random_tensor({3, 2, 3, 3}, 32, 0.5f, true),
        random_tensor({3}, 33, 1.f, true, 0.5f), random_tensor({3}, 34, 1.f, true),
        random_tensor({2, 3, 2, 2}, 35, 1.f, true)};
    EXPECT_GRADCHECK(
        [&](const std::vector<Tensor>& v) {
          return conv_bn_act(v[0], v[1], v[2], v[3], st, training, Act::None, Tensor(), 2, 1, v[4]);
        },
        in, opt);
  }
}

TEST(Fused, BnActGradcheck) {
  const Shape shape{3, 3, 3, 2};
  senet::test::GradcheckOptions opt;
  opt.eps = 2e-3;
  for (Act act : {Act::None, Act::ReLU, Act::MaskedReLU})
    for (bool with_res : {false, true})
      for (bool training : {true, false}) {
        SCOPED_TRACE(std::string(act_name(act)) + (with_res ? " residual" : "") +
                     (training ? " training" : " eval"));
        Tensor mask = mask_for(act, false, 3, 3, 2, 11);
        BatchNormState st;
        st.running_mean = Tensor::from_vector({0.1f, -0.3f, 0.2f}, {3});
        st.running_var = Tensor::from_vector({0.8f, 1.3f, 0.6f}, {3});
        auto inputs = [&](uint64_t seed) {
          std::vector<Tensor> in{random_tensor(shape, seed, 1.f, true),
                                 random_tensor({3}, seed + 2, 1.f, true, 0.5f),
                                 random_tensor({3}, seed + 3, 1.f, true)};
          if (with_res) in.push_back(random_tensor(shape, seed + 1, 1.f, true));
          return in;
        };
        auto f = [&](const std::vector<Tensor>& v) {
          return bn_act(v[0], v.size() > 3 ? v[3] : Tensor(), v[1], v[2], st, training, act, mask);
        };
        auto z_of = [&](uint64_t seed) {
          NoGradGuard ng;
          BatchNormState s2;
          s2.running_mean = st.running_mean.clone();
          s2.running_var = st.running_var.clone();
          auto v = inputs(seed * 10);
          return bn_act(v[0], v.size() > 3 ? v[3] : Tensor(), v[1], v[2], s2, training, Act::None,
                        Tensor());
        };
        const uint64_t seed = act == Act::None ? 1 : seed_off_the_kink(z_of, mask, 0.03f);
        EXPECT_GRADCHECK(f, inputs(seed * 10), opt);
      }
}

TEST(Fused, ErrorsNameBothShapes) {
  Tensor x = Tensor::zeros({2, 3, 5, 5}), w = Tensor::zeros({4, 3, 3, 3});
  BatchNormState st;
  try {
    conv_bn_act(x, w, Tensor::zeros({4}), Tensor::zeros({4}), st, true, Act::MaskedReLU,
                Tensor::zeros({4, 5, 4}, DType::U8), 1, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[4, 5, 4]"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 4, 5, 5]"), std::string::npos) << m;
  }
  try {
    BatchNormState st3;
    bn_act(x, Tensor::zeros({2, 3, 5, 4}), Tensor::zeros({3}), Tensor::zeros({3}), st3, true,
           Act::ReLU, Tensor());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3, 5, 5]"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3, 5, 4]"), std::string::npos) << m;
  }
  BatchNormState st2;
  EXPECT_THROW(conv_bn_act(x, Tensor::zeros({4, 2, 3, 3}), Tensor::zeros({4}), Tensor::zeros({4}),
                           st2, true, Act::ReLU, Tensor(), 1, 1),
               Error);
  EXPECT_THROW(conv_bn_act(x, w, Tensor::zeros({3}), Tensor::zeros({4}), st2, true, Act::ReLU,
                           Tensor(), 1, 1),
               Error);
}
