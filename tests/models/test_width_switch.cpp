// tests/models/test_width_switch.cpp — dynamic channel reduction (models/width_switch.h): at width
// 0.5 a switchable ResNet-18 equals a separately built half-width ResNet-18 holding the weight
// slices and the 0.5 BN set (bit-exact: same shapes, same kernels, same summation order); only the
// current factor's BN set trains and moves its running stats; masks are sliced and counted per
// factor; gradients reach the shared full weights through the slices (finite differences).
#include <gtest/gtest.h>

#include <map>

#include "engine/core/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/leading_block.h"
#include "models/model.h"
#include "models/resnet.h"
#include "models/width_switch.h"
#include "tests/support/gradcheck.h"

using namespace senet;
using namespace senet::models;

// ResNet-18 at width 1/16 (4/8/16/32 channels) on 1×16×16 images, 4 classes.
static ModelConfig tiny(std::vector<float> factors = {0.5f, 1.f}, float width = 0.0625f) {
  ModelConfig c;
  c.arch = models::Arch::ResNet18;
  c.width = width;
  c.in_channels = 1;
  c.image_size = 16;
  c.num_classes = 4;
  c.seed = 3;
  c.width_factors = std::move(factors);
  return c;
}

static std::map<std::string, Tensor*> tensors_by_name(Model& m) {
  std::map<std::string, Tensor*> out;
  for (auto& [n, t] : m.named_tensors()) out[n] = t;
  return out;
}

// Every BN set of every factor gets random γ, β and running stats (so that picking the wrong set,
// or the full set's first channels, shows), and the sites get random pixel masks.
static void randomise(Model& m, uint64_t seed) {
  NoGradGuard no_grad;
  uint64_t k = seed;
  for (auto& [name, t] : m.named_tensors()) {
    bool bn = name.find("bn") != std::string::npos || name.find("shortcut.1") != std::string::npos;
    if (!bn || t->dtype() != DType::F32) continue;
    Tensor r = test::random_tensor(t->shape(), ++k, 0.3f);
    std::vector<float> v = r.to_vector();
    bool var = name.find("running_var") != std::string::npos,
         gamma = name.find(".weight") != std::string::npos;
    for (float& x : v) x = var ? 0.5f + std::abs(x) : gamma ? 1.f + x : x;
    t->copy_(Tensor::from_vector(v, t->shape()));
  }
  for (auto* s : m.sites()) {
    std::vector<uint8_t> mk(size_t(s->size()));
    for (size_t i = 0; i < mk.size(); ++i) mk[i] = uint8_t((i * 2654435761u + k) % 7 < 4);
    s->set_mask(Tensor::from_vector_u8(mk, {s->C, s->H, s->W}));
  }
}

// The half-width model holding, for each of its tensors, the switchable model's tensor at 0.5:
// the factor's own BN set ("bn1.w050.weight") or the leading block of the shared tensor.
static std::shared_ptr<Model> half_model_from(Model& sw) {
  auto half = make_model(tiny({}, 0.03125f));  // 2/4/8/16 channels = ⌊0.5·(4/8/16/32)⌋
  auto src = tensors_by_name(sw);
  for (auto& [name, t] : half->named_tensors()) {
    std::string set = name.substr(0, name.rfind('.')) + ".w050" + name.substr(name.rfind('.'));
    Tensor from;
    if (src.count(set)) {
      from = *src[set];
    } else {
      EXPECT_TRUE(src.count(name)) << name;
      const Tensor& full = *src[name];
      from = full.ndim() >= 2 ? leading_block(full, t->size(0), t->size(1))
                              : full.slice(0, t->size(0));
    }
    EXPECT_EQ(from.shape(), t->shape()) << name;
    t->copy_(from.detach().clone());
  }
  for (size_t i = 0; i < half->sites().size(); ++i)  // copying the buffer does not switch the mode
    half->sites()[i]->set_mask(half->sites()[i]->mask.clone());
  return half;
}

TEST(WidthSwitch, HalfWidthEqualsASeparateHalfModelBitExact) {
  auto sw = make_model(tiny());
  randomise(*sw, 11);
  auto half = half_model_from(*sw);
  sw->set_width(0.5f);
  Tensor x = test::random_tensor({3, 1, 16, 16}, 5);
  // Eval: BN folded into the conv with the running stats of the 0.5 set.
  sw->eval();
  half->eval();
  {
    NoGradGuard no_grad;
    EXPECT_EQ(test::max_abs_diff(sw->forward(x), half->forward(x)), 0.0);
  }
  // Training: batch statistics, and the running stats of the 0.5 set move exactly as the half
  // model's; the loss gradient of a reduced conv is the half model's, inside the block.
  sw->train();
  half->train();
  Tensor ys = sw->forward(x), yh = half->forward(x);
  EXPECT_EQ(test::max_abs_diff(ys, yh), 0.0);
  auto s = tensors_by_name(*sw), h = tensors_by_name(*half);
  EXPECT_EQ(
      test::max_abs_diff(*s["layer2.0.bn1.w050.running_mean"], *h["layer2.0.bn1.running_mean"]),
      0.0);
  EXPECT_EQ(test::max_abs_diff(*s["layer3.0.shortcut.1.w050.running_var"],
                               *h["layer3.0.shortcut.1.running_var"]),
            0.0);
  Tensor r = test::random_tensor(ys.shape(), 8);
  sw->zero_grad();
  half->zero_grad();
  sum(mul(ys, r)).backward();
  sum(mul(yh, r)).backward();
  auto* sr = dynamic_cast<ResNet*>(sw.get());
  auto* hr = dynamic_cast<ResNet*>(half.get());
  ASSERT_TRUE(sr && hr);
  Tensor gs = sr->blocks[2]->conv1->weight.grad(), gh = hr->blocks[2]->conv1->weight.grad();
  Tensor block = leading_block(gs, gh.size(0), gh.size(1));
  EXPECT_EQ(test::max_abs_diff(block, gh), 0.0);
  // Outside the block the full weight got exactly zero gradient.
  std::vector<float> g = gs.to_vector();
  int64_t K = gs.size(0), C = gs.size(1), RS = gs.size(2) * gs.size(3);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < RS; ++i)
        if (k >= gh.size(0) || c >= gh.size(1)) {
          ASSERT_EQ(g[size_t((k * C + c) * RS + i)], 0.f);
        }
}

TEST(WidthSwitch, OnlyTheCurrentFactorsBnSetTrains) {
  auto m = make_model(tiny());
  randomise(*m, 21);
  auto t = tensors_by_name(*m);
  Tensor full_mean = t["layer1.0.bn1.running_mean"]->clone();
  Tensor half_mean = t["layer1.0.bn1.w050.running_mean"]->clone();
  Tensor x = test::random_tensor({4, 1, 16, 16}, 6);
  m->train();
  m->set_width(0.5f);
  m->zero_grad();
  sum(m->forward(x)).backward();
  EXPECT_GT(test::max_abs_diff(*t["layer1.0.bn1.w050.running_mean"], half_mean), 0.0);
  EXPECT_EQ(test::max_abs_diff(*t["layer1.0.bn1.running_mean"], full_mean), 0.0);
  for (auto& [name, p] : m->named_parameters()) {
    bool half_set = name.find(".w050.") != std::string::npos;
    bool full_bn =
        !half_set && (name.find(".bn") != std::string::npos || name.rfind("bn1.", 0) == 0 ||
                      name.find("shortcut.1.") != std::string::npos);
    if (half_set) {
      EXPECT_TRUE(p.grad().defined()) << name;
    }
    if (full_bn) {
      EXPECT_FALSE(p.grad().defined()) << name;
    }
  }
  // Back at full width: the full set moves, the 0.5 set stays.
  half_mean = t["layer1.0.bn1.w050.running_mean"]->clone();
  m->set_width(1.f);
  m->zero_grad();
  sum(m->forward(x)).backward();
  EXPECT_GT(test::max_abs_diff(*t["layer1.0.bn1.running_mean"], full_mean), 0.0);
  EXPECT_EQ(test::max_abs_diff(*t["layer1.0.bn1.w050.running_mean"], half_mean), 0.0);
  EXPECT_FALSE(t["layer1.0.bn1.w050.weight"]->grad().defined());
}

TEST(WidthSwitch, MasksAreSlicedAndCountedPerFactor) {
  auto m = make_model(tiny());
  // Sites: relu0 and layer1 4×16×16 (5), layer2 8×8×8 (4), layer3 16×4×4 (4), layer4 32×2×2 (4).
  EXPECT_EQ(m->relu_count(), 5 * 1024 + 4 * 512 + 4 * 256 + 4 * 128);  // 8704
  m->set_width(0.5f);
  EXPECT_EQ(m->relu_count(), 4352);
  // layer1.0.relu1 (site 1, 4×16×16): channel 0 all kept, 10 positions of channel 3.
  models::ReluSite* s = m->sites()[1];
  std::vector<uint8_t> px(1024, 0);
  for (int i = 0; i < 256; ++i) px[size_t(i)] = 1;
  for (int i = 0; i < 10; ++i) px[size_t(3 * 256 + 17 * i)] = 1;
  s->set_mask(Tensor::from_vector_u8(px, {4, 16, 16}));
  // layer2.0.relu1 (site 5, 8×8×8), channel-wise: channels 1 and 6 kept.
  models::ReluSite* c = m->sites()[5];
  std::vector<uint8_t> ch(8, 0);
  ch[1] = ch[6] = 1;
  c->set_mask(Tensor::from_vector_u8(ch, {8}));
  m->set_width(1.f);
  EXPECT_EQ(s->relu_count(), 266);
  EXPECT_EQ(c->relu_count(), 128);
  EXPECT_EQ(m->relu_count(), 8704 - 1024 + 266 - 512 + 128);
  m->set_width(0.5f);
  EXPECT_EQ(s->active_channels, 2);
  EXPECT_EQ(s->act_mask().shape(), Shape({2, 16, 16}));
  EXPECT_EQ(c->act_mask().shape(), Shape({4}));
  EXPECT_EQ(s->relu_count(), 256);  // channel 3 is outside the first 2
  EXPECT_EQ(c->relu_count(), 64);   // channel 6 is outside the first 4
  EXPECT_EQ(m->relu_count(), 4352 - 512 + 256 - 256 + 64);
  // The sliced mask is the mask's first rows (a view: same bytes).
  EXPECT_EQ(s->act_mask().to_vector_u8(), std::vector<uint8_t>(px.begin(), px.begin() + 512));
}

TEST(WidthSwitch, MacsPerFactor) {
  auto m = make_model(tiny());
  auto half = make_model(tiny({}, 0.03125f));
  auto full = make_model(tiny({}));
  EXPECT_EQ(m->macs(), full->macs());
  m->set_width(0.5f);
  // The stem keeps its 1 input channel in both, so the half model's MACs are exactly these.
  EXPECT_EQ(m->macs(), half->macs());
  EXPECT_LT(m->macs() * 3, full->macs());
}

// Finite differences through the slices at width 0.5: conv and FC weights (inside and outside the
// block: outside, both gradients are 0), and a 0.5 BN set. All masks zero (identity sites) keep the
// network off the ReLU kinks, so ε = 1e-2 differences are smooth.
TEST(WidthSwitch, GradcheckThroughTheSlices) {
  auto m = make_model(tiny());
  for (auto* s : m->sites()) s->set_mask(Tensor::zeros({s->C, s->H, s->W}, DType::U8));
  m->set_width(0.5f);
  m->train();
  auto* r = dynamic_cast<ResNet*>(m.get());
  ASSERT_NE(r, nullptr);
  auto t = tensors_by_name(*m);
  Tensor x = test::random_tensor({2, 1, 16, 16}, 9);
  std::vector<Tensor> inputs = {r->conv1->weight, r->fc->weight,
                                r->blocks[6]->shortcut_conv->weight, *t["layer2.1.bn2.w050.weight"],
                                *t["layer4.1.bn1.w050.bias"]};
  test::GradcheckOptions opt;
  opt.atol = 5e-3;  // a 17-layer fp32 forward: differences of ε = 1e-2 carry ~1e-3 rounding
  EXPECT_GRADCHECK([&](const std::vector<Tensor>&) { return m->forward(x); }, inputs, opt);
}

TEST(WidthSwitch, FactorChecksAndErrors) {
  auto m = make_model(tiny());
  EXPECT_EQ(m->width_factors(), std::vector<float>({0.5f, 1.f}));
  try {
    m->set_width(0.25f);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.width_factors"), std::string::npos) << e.what();
  }
  auto plain = make_model(tiny({}));
  EXPECT_EQ(plain->width_factors(), std::vector<float>({1.f}));
  plain->set_width(1.f);
  EXPECT_THROW(plain->set_width(0.5f), Error);
  ModelConfig wrn;
  wrn.arch = models::Arch::WRN;
  wrn.wrn_depth = 10;
  wrn.wrn_k = 1;
  EXPECT_THROW(make_model(wrn)->set_width(0.5f), Error);
  wrn.width_factors = {0.5f, 1.f};
  try {
    make_model(wrn);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ResNet only"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_model(tiny({0.5f})), Error);         // no 1
  EXPECT_THROW(make_model(tiny({1.f, 0.5f})), Error);    // not increasing
  EXPECT_THROW(make_model(tiny({0.333f, 1.f})), Error);  // not a multiple of 0.01
  EXPECT_THROW(make_model(tiny({0.1f, 1.f})), Error);    // ⌊0.1·4⌋ = 0 channels at the stem
  EXPECT_EQ(width_set_name(50), "w050");
  EXPECT_EQ(width_channels(10, 33), 3);
  EXPECT_EQ(width_channels(8, 75), 6);
  EXPECT_EQ(full_width_name("layer1.0.bn1.w050.running_mean"), "layer1.0.bn1.running_mean");
  EXPECT_EQ(full_width_name("layer1.0.bn1.weight"), "");
  // Learned and α sites run at full width only.
  m->sites()[2]->set_learned(10, 1);
  EXPECT_THROW(m->set_width(0.5f), Error);
}

TEST(WidthSwitch, PlainModelNamesAndForwardUnchanged) {
  // A model with factors holds the plain model's tensors under the same names (plus the sets),
  // and at width 1 computes the same function from the same seed.
  auto sw = make_model(tiny());
  auto plain = make_model(tiny({}));
  auto a = tensors_by_name(*sw);
  size_t sets = 0;
  for (auto& [n, t] : a) sets += n.find(".w050.") != std::string::npos;
  for (auto& [n, t] : plain->named_tensors()) {
    ASSERT_TRUE(a.count(n)) << n;
    if (t->dtype() == DType::U8) {
      EXPECT_EQ(a[n]->to_vector_u8(), t->to_vector_u8()) << n;
    } else {
      EXPECT_EQ(test::max_abs_diff(*a[n], *t), 0.0) << n;
    }
  }
  EXPECT_EQ(a.size(), plain->named_tensors().size() + sets);
  EXPECT_EQ(sets, 4u * (1 + 16 + 3));  // 4 tensors × (stem BN + 2 per block + 3 shortcuts)
  Tensor x = test::random_tensor({2, 1, 16, 16}, 4);
  NoGradGuard no_grad;
  EXPECT_EQ(test::max_abs_diff(sw->forward(x), plain->forward(x)), 0.0);
}
