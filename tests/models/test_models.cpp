// tests/models/test_models.cpp — ReLU-site tables of ResNet-18/34 and WRN (docs/method.md §ReLU sites counts),
// the site conventions, forward/backward shapes and parameter names.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/core/autograd.h"
#include "engine/core/random.h"
#include "engine/ops/activation.h"
#include "engine/ops/conv_bn_fold_cache.h"
#include "engine/ops/elementwise.h"
#include "models/model.h"

using namespace senet;
using namespace senet::models;

static ModelConfig resnet18() {
  ModelConfig c;
  c.arch = models::Arch::ResNet18;
  c.num_classes = 100;
  return c;
}

TEST(Models, ResNet18SiteCountsAt32) {
  auto m = make_model(resnet18());
  ASSERT_EQ(m->sites().size(), 17u);
  std::vector<int64_t> expect = {65536, 65536, 65536, 65536, 65536, 32768, 32768, 32768, 32768,
                                 16384, 16384, 16384, 16384, 8192,  8192,  8192,  8192};
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_EQ(m->sites()[i]->size(), expect[i]) << i;
  EXPECT_EQ(m->relu_count(), 557056);
  EXPECT_EQ(m->sites()[0]->site_name, "relu0");
  EXPECT_EQ(m->sites()[1]->site_name, "layer1.0.relu1");
  EXPECT_EQ(m->sites()[16]->site_name, "layer4.1.relu2");
  EXPECT_EQ(m->sites()[0]->feeding_conv, "conv1.weight");
  EXPECT_EQ(m->sites()[3]->feeding_conv, "layer1.1.conv1.weight");
  EXPECT_EQ(m->sites()[16]->feeding_conv, "layer4.1.conv2.weight");
  // SNL / DeepReDuce convention: the stem ReLU is not in the count (it stays a full ReLU).
  ModelConfig c = resnet18();
  c.stem_site = false;
  auto m2 = make_model(c);
  EXPECT_EQ(m2->relu_count(), 491520);
  EXPECT_EQ(m2->fixed_relus(), 65536);
  // 64×64 (Tiny-ImageNet): every count ×4.
  c = resnet18();
  c.image_size = 64;
  EXPECT_EQ(make_model(c)->relu_count(), 2228224);
  // Parameter count of CIFAR ResNet-18 with 100 classes (the well-known 11.22 M).
  EXPECT_EQ(m->num_parameters(), 11220132);
}

TEST(Models, WRN22x8SiteCounts) {
  ModelConfig c;
  c.arch = models::Arch::WRN;
  c.wrn_depth = 22;
  c.wrn_k = 8;
  auto m = make_model(c);
  ASSERT_EQ(m->sites().size(), 19u);
  EXPECT_EQ(m->relu_count(), 1392640);
  EXPECT_EQ(m->sites()[0]->size(), 16 * 32 * 32);  // group1.0.relu1 acts on the stem output
  EXPECT_EQ(m->sites()[1]->size(), 128 * 32 * 32);
  EXPECT_EQ(m->sites()[18]->site_name, "relu");
  EXPECT_EQ(m->sites()[0]->feeding_conv, "conv1.weight");
  EXPECT_EQ(m->sites()[1]->feeding_conv, "group1.0.conv1.weight");
  EXPECT_EQ(m->sites()[2]->feeding_conv, "group1.0.conv2.weight");
  EXPECT_EQ(m->sites()[18]->feeding_conv, "group3.2.conv2.weight");
  c.final_site = false;
  EXPECT_EQ(make_model(c)->relu_count(), 1359872);
}

TEST(Models, ResNet34HasSixteenBlocks) {
  ModelConfig c;
  c.arch = models::Arch::ResNet34;
  auto m = make_model(c);
  EXPECT_EQ(m->sites().size(), 1u + 2u * 16u);
}

TEST(Models, NamesAreUniqueAndPyTorchStyle) {
  auto m = make_model(resnet18());
  std::set<std::string> names;
  for (auto& [n, t] : m->named_parameters()) EXPECT_TRUE(names.insert(n).second) << n;
  for (auto& [n, t] : m->named_buffers()) EXPECT_TRUE(names.insert(n).second) << n;
  EXPECT_TRUE(names.count("layer1.0.conv1.weight"));
  EXPECT_TRUE(names.count("layer2.0.shortcut.0.weight"));
  EXPECT_TRUE(names.count("layer2.0.shortcut.1.running_var"));
  EXPECT_TRUE(names.count("layer3.1.relu2.mask"));
  EXPECT_TRUE(names.count("fc.weight"));
}

TEST(Models, SmallModelsTrainStepShapes) {
  for (Arch arch : {Arch::ResNet18, Arch::WRN}) {
    ModelConfig c;
    c.arch = arch;
    c.width = 0.125f;
    c.wrn_depth = 10;
    c.wrn_k = 1;
    c.in_channels = 1;
    c.image_size = 16;
    auto m = make_model(c);
    Generator g(1);
    Tensor x = randn({3, 1, 16, 16}, g);
    Tensor y = m->forward(x);
    EXPECT_EQ(y.shape(), Shape({3, 10})) << arch;
    sum(y).backward();
    for (auto& [n, p] : m->named_parameters()) EXPECT_TRUE(p.grad().defined()) << arch << " " << n;
    EXPECT_THROW(m->forward(randn({3, 3, 16, 16}, g)), Error);
  }
}

// Eval without gradients folds each conv's BN once (engine/ops/conv_bn_fold_cache.h): a second
// pass over unchanged weights refolds nothing and gives the same logits; a training step (new
// weights, new running statistics) refolds every conv.
TEST(Models, EvalReusesTheFoldedWeightsUntilTheyChange) {
  ModelConfig c;
  c.arch = Arch::ResNet18;
  c.width = 0.125f;
  c.in_channels = 1;
  c.image_size = 16;
  auto m = make_model(c);
  Generator g(2);
  const Tensor x = randn({2, 1, 16, 16}, g);
  const int convs = 1 + 8 * 2 + 3;  // stem, two per block, three shortcuts
  auto eval = [&] {
    NoGradGuard no_grad;
    m->eval();
    Tensor y = m->forward(x);
    m->train();
    return y.to_vector();
  };
  clear_fold_cache();
  const FoldCacheStats s0 = fold_cache_stats();
  const auto y1 = eval();
  const FoldCacheStats s1 = fold_cache_stats();
  EXPECT_EQ(s1.misses - s0.misses, convs);
  const auto y2 = eval();
  const FoldCacheStats s2 = fold_cache_stats();
  EXPECT_EQ(s2.hits - s1.hits, convs);
  EXPECT_EQ(s2.misses, s1.misses);
  EXPECT_EQ(y1, y2);
  sum(m->forward(x)).backward();  // a training-mode forward: the running statistics change
  eval();
  EXPECT_EQ(fold_cache_stats().misses - s2.misses, convs);
}

TEST(Models, MasksChangeTheCountAndAreValidated) {
  ModelConfig c = resnet18();
  c.width = 0.125f;
  c.image_size = 8;
  auto m = make_model(c);
  auto* s = m->sites()[3];
  std::vector<uint8_t> mv(size_t(s->size()), 0);
  for (size_t i = 0; i < mv.size(); i += 4) mv[i] = 1;
  int64_t before = m->relu_count();
  s->set_mask(Tensor::from_vector_u8(mv, {s->C, s->H, s->W}));
  EXPECT_EQ(m->relu_count(), before - s->size() + (s->size() + 3) / 4);
  EXPECT_THROW(s->set_mask(Tensor::from_vector_u8({1, 0}, {2})), Error);
}

// The straight-through learned mask: forward keeps exactly `keep` positions (top |score|), equals
// masked_relu with that mask, and the scores receive gradient Σ_n dy·(relu(z) − z)·sign(s).
TEST(Models, LearnedSiteIsMaskedReluWithStraightThroughScores) {
  models::ReluSite site("s", 2, 3, 3, true);
  site.set_mask(
      Tensor::from_vector_u8({1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1}, {2, 3, 3}));
  site.set_learned(7, 5);
  EXPECT_EQ(site.relu_count(), 7);
  Generator g(3);
  Tensor z = randn({4, 2, 3, 3}, g);
  z.set_requires_grad(true);
  Tensor a = site.forward(z);
  std::vector<uint8_t> m = site.mask.to_vector_u8();
  EXPECT_EQ(std::count(m.begin(), m.end(), 1), 7);
  Tensor ref = masked_relu(z.detach(), site.mask);
  EXPECT_EQ(a.to_vector(), ref.to_vector());
  sum(a).backward();
  auto gs = site.score.grad().to_vector();
  auto zv = z.to_vector(), sv = site.score.to_vector();
  for (int i = 0; i < 18; ++i) {
    double expect = 0;
    for (int n = 0; n < 4; ++n) expect += std::max(zv[n * 18 + i], 0.f) - zv[n * 18 + i];
    EXPECT_NEAR(gs[i], expect * (sv[i] < 0 ? -1 : 1), 1e-5) << i;
  }
  site.freeze_learned();
  EXPECT_EQ(site.mode, models::SiteMode::Masked);
  EXPECT_EQ(site.relu_count(), 7);
}
