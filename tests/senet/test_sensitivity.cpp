// tests/senet/test_sensitivity.cpp — stage 1 (sparse momentum → η): the pure pieces on hand-made
// numbers (cosine prune rate, random mask, regrowth shares, one layer's prune/regrow), then a short
// sparse training of a tiny ResNet-18: global density exact, redistribution between layers, masked
// weights zero, η = 1 − density(feeding conv), determinism, JSON round trip and rejection.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <numeric>

#include "senet/sensitivity.h"
#include "tests/support/error_of.h"
#include "tests/support/tiny_run.h"

using namespace senet;

using senet::test::error_of;

TEST(Sensitivity, CosinePruneRate) {
  EXPECT_DOUBLE_EQ(prune_rate_at(0.5, 0, 100), 0.5);
  EXPECT_NEAR(prune_rate_at(0.5, 50, 100), 0.25, 1e-12);
  EXPECT_NEAR(prune_rate_at(0.5, 100, 100), 0.0, 1e-12);
  EXPECT_NEAR(prune_rate_at(0.5, 25, 100), 0.25 * (1 + std::sqrt(0.5)), 1e-12);
  EXPECT_NEAR(prune_rate_at(0.5, 200, 100), 0.0, 1e-12);  // clamped past the end
}

TEST(Sensitivity, RandomMaskHasExactCountAndIsSeeded) {
  for (int64_t n : {1, 7, 36, 1000}) {
    auto m = random_mask(n, 0.1, 5, 2);
    EXPECT_EQ(std::accumulate(m.begin(), m.end(), int64_t(0)), std::llround(0.1 * double(n))) << n;
  }
  EXPECT_EQ(random_mask(1000, 0.3, 5, 2), random_mask(1000, 0.3, 5, 2));
  EXPECT_NE(random_mask(1000, 0.3, 5, 2), random_mask(1000, 0.3, 5, 3));
  EXPECT_NE(random_mask(1000, 0.3, 5, 2), random_mask(1000, 0.3, 6, 2));
}

TEST(Sensitivity, RegrowthSharesProportionalCappedAndExact) {
  // ∝ score: 8 · {1, 3}/4 = {2, 6}.
  EXPECT_EQ(regrowth_shares({1, 3}, {10, 10}, 8), (std::vector<int64_t>{2, 6}));
  // Layer 1 wants 7.2 but holds 3: capped, its excess goes to layer 0.
  EXPECT_EQ(regrowth_shares({1, 9}, {10, 3}, 8), (std::vector<int64_t>{5, 3}));
  // Largest remainder: 10/3 each → 3.33 ×3, the leftover unit to the lowest index.
  EXPECT_EQ(regrowth_shares({1, 1, 1}, {9, 9, 9}, 10), (std::vector<int64_t>{4, 3, 3}));
  // {0.45, 0.35, 0.2} · 7 = {3.15, 2.45, 1.4}: floors {3, 2, 1}, leftover 1 → layer 1 (0.45).
  EXPECT_EQ(regrowth_shares({0.45, 0.35, 0.2}, {9, 9, 9}, 7), (std::vector<int64_t>{3, 3, 1}));
  // All scores zero: equal split.
  EXPECT_EQ(regrowth_shares({0, 0}, {5, 5}, 4), (std::vector<int64_t>{2, 2}));
  // Zero-score layers get nothing until the scored ones are full.
  EXPECT_EQ(regrowth_shares({0, 1}, {5, 2}, 4), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(regrowth_shares({1, 2}, {0, 0}, 0), (std::vector<int64_t>{0, 0}));
  EXPECT_NE(error_of([] {
              regrowth_shares({1, 1}, {1, 1}, 3);
            }).find("do not fit"),
            std::string::npos);
  EXPECT_NE(error_of([] { regrowth_shares({-1, 1}, {1, 1}, 1); }).find("score"), std::string::npos);
}

TEST(Sensitivity, PruneRegrowLayerOnHandMadeNumbers) {
  //            0     1     2    3     4      5    6    7
  std::vector<float> w{0.5f, -0.1f, 0, 0.3f, -0.05f, 0, 0.2f, 0};
  std::vector<uint8_t> mask{1, 1, 0, 1, 1, 0, 1, 0};
  std::vector<float> m{9, 0.7f, 0.2f, 9, -0.9f, -0.7f, 9, 0.1f};
  // Prune 2 smallest |w| among the active {0,1,3,4,6}: indices 4 (0.05) and 1 (0.1).
  // Regrow 2 of the inactive {2,5,7,1,4} by largest |m|: 4 (0.9), then 1 and 5 tie at 0.7 → 1.
  prune_regrow_layer(w.data(), mask.data(), m.data(), 8, 2, 2);
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 1, 0, 1, 1, 0, 1, 0}));
  EXPECT_EQ(w, (std::vector<float>{0.5f, 0, 0, 0.3f, 0, 0, 0.2f, 0}));  // regrown at 0

  std::vector<float> w2{0.5f, -0.1f, 0, 0.3f, -0.05f, 0, 0.2f, 0};
  std::vector<uint8_t> mask2{1, 1, 0, 1, 1, 0, 1, 0};
  // Prune 3 (4, 1, 6), regrow 1: the just-pruned index 6 has the largest |m| (9) → back, at 0.
  prune_regrow_layer(w2.data(), mask2.data(), m.data(), 8, 3, 1);
  EXPECT_EQ(mask2, (std::vector<uint8_t>{1, 0, 0, 1, 0, 0, 1, 0}));
  EXPECT_EQ(w2, (std::vector<float>{0.5f, 0, 0, 0.3f, 0, 0, 0, 0}));

  // Regrow into a layer that pruned nothing: inactive {2,5,7} by |m| → 5 (0.7), 2 (0.2).
  std::vector<float> w3{0.5f, -0.1f, 0, 0.3f, -0.05f, 0, 0.2f, 0};
  std::vector<uint8_t> mask3{1, 1, 0, 1, 1, 0, 1, 0};
  prune_regrow_layer(w3.data(), mask3.data(), m.data(), 8, 0, 2);
  EXPECT_EQ(mask3, (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 0}));

  EXPECT_NE(error_of([&] {
              prune_regrow_layer(w3.data(), mask3.data(), m.data(), 8, 8, 0);
            }).find("cannot prune"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              prune_regrow_layer(w3.data(), mask3.data(), m.data(), 8, 0, 2);
            }).find("cannot regrow"),
            std::string::npos);
}

static RunConfig tiny_run() {
  RunConfig c = senet::test::tiny_run_config();  // 64 training images → 4 batches of 16 per epoch
  c.train.optim.lr = 0.05f;
  c.train.optim.momentum = 0.9f;
  c.train.optim.schedule = Schedule::Constant;
  return c;
}

static SensitivityConfig tiny_sensitivity() {
  SensitivityConfig sc;
  sc.density = 0.1;
  sc.epochs = 8;       // T = 32 steps
  sc.prune_every = 3;  // 10 prune/regrow events (t = 3, 6, ..., 30)
  sc.prune_rate = 0.5;
  return sc;
}

struct SparseRun {
  std::shared_ptr<models::Model> model;
  SensitivityResult result;
};

static SparseRun sparse_run(uint64_t seed) {
  RunConfig cfg = tiny_run();
  DataBundle data = load_data(cfg);
  SparseRun r;
  r.model = models::make_model(cfg.model);
  r.result = run_sensitivity(cfg, tiny_sensitivity(), *r.model, data, seed, false);
  return r;
}

TEST(Sensitivity, SparseTrainingKeepsDensityAndGivesEta) {
  SparseRun run = sparse_run(7);
  const SensitivityResult& r = run.result;
  const double d = tiny_sensitivity().density;

  // Every 4-D parameter is masked, in parameter order.
  std::map<std::string, Tensor> convs;
  for (auto& [name, t] : run.model->named_parameters())
    if (t.ndim() == 4) convs.emplace(name, t);
  ASSERT_EQ(r.layer_density.size(), convs.size());

  int64_t target = 0, active = 0, total = 0;
  std::vector<double> densities;
  ASSERT_EQ(r.masks.size(), r.layer_density.size());
  int64_t nonzero_active = 0;
  for (size_t l = 0; l < r.layer_density.size(); ++l) {
    const auto& [name, density] = r.layer_density[l];
    ASSERT_TRUE(convs.count(name)) << name;
    const std::vector<float> w = convs.at(name).to_vector();
    const std::vector<uint8_t>& mask = r.masks[l];
    ASSERT_EQ(mask.size(), w.size()) << name;
    const int64_t n = int64_t(w.size());
    const int64_t nnz = std::accumulate(mask.begin(), mask.end(), int64_t(0));
    EXPECT_DOUBLE_EQ(density, double(nnz) / double(n)) << name;
    target += std::llround(d * double(n));
    active += nnz;
    total += n;
    densities.push_back(density);
    // Masks respected: every weight outside the mask is exactly 0.
    for (int64_t i = 0; i < n; ++i) {
      if (!mask[size_t(i)]) {
        EXPECT_EQ(w[size_t(i)], 0.f) << name << "[" << i << "]";
      }
      nonzero_active += mask[size_t(i)] && w[size_t(i)] != 0.f;
    }
  }
  // The active weights did train (a few stay 0: regrown late, or in a channel BN+ReLU made dead).
  EXPECT_GT(nonzero_active, active / 2);
  // The global density is exactly that of the start: Σ round(d·n_l) active weights.
  EXPECT_EQ(active, target);
  EXPECT_DOUBLE_EQ(r.global_density, double(target) / double(total));
  EXPECT_NEAR(r.global_density, d, 0.01);
  // Redistribution happened: the layers no longer share one density.
  EXPECT_GT(*std::max_element(densities.begin(), densities.end()) -
                *std::min_element(densities.begin(), densities.end()),
            0.02);

  // One entry per site, η = 1 − density(feeding conv) ∈ [0, 1].
  std::map<std::string, double> density_of(r.layer_density.begin(), r.layer_density.end());
  const auto& sites = run.model->sites();
  ASSERT_EQ(r.sites.size(), sites.size());
  for (size_t l = 0; l < sites.size(); ++l) {
    const SiteSensitivity& s = r.sites[l];
    EXPECT_EQ(s.site, sites[l]->site_name);
    EXPECT_EQ(s.conv, sites[l]->feeding_conv);
    EXPECT_EQ(s.size, sites[l]->size());
    EXPECT_DOUBLE_EQ(s.alpha, density_of.at(s.conv));
    EXPECT_DOUBLE_EQ(s.eta, 1.0 - density_of.at(s.conv));
    EXPECT_GE(s.eta, 0.0);
    EXPECT_LE(s.eta, 1.0);
  }
  std::vector<double> eta = counted_eta(r, *run.model);
  EXPECT_EQ(eta.size(), run.model->counted_sites().size());

  // Deterministic: same seed → identical result; another seed → other masks.
  SparseRun again = sparse_run(7);
  EXPECT_EQ(to_json(again.result), to_json(r));
  SparseRun other = sparse_run(8);
  EXPECT_NE(to_json(other.result)["layers"], to_json(r)["layers"]);

  // JSON round trip.
  nlohmann::json j = to_json(r);
  EXPECT_EQ(to_json(sensitivity_from_json(j, "sens.json")), j);
  EXPECT_EQ(counted_eta(sensitivity_from_json(j, "sens.json"), *run.model), eta);
}

static SensitivityResult hand_result() {
  SensitivityResult r;
  r.layer_density = {{"conv1.weight", 0.25}};
  r.global_density = 0.25;
  r.sites = {{"relu0", "conv1.weight", 64, 0.25, 0.75}, {"relu1", "conv1.weight", 32, 0.25, 0.75}};
  return r;
}

TEST(Sensitivity, BadJsonIsRejectedWithTheKey) {
  nlohmann::json good = to_json(hand_result());
  EXPECT_EQ(sensitivity_from_json(good, "s.json").sites.size(), 2u);

  auto reject = [](nlohmann::json j) {
    return error_of([&] { sensitivity_from_json(j, "s.json"); });
  };
  nlohmann::json j = good;
  j["sites"][1]["eta"] = 1.5;
  std::string e = reject(j);
  EXPECT_NE(e.find("s.json"), std::string::npos) << e;
  EXPECT_NE(e.find("sites[1].eta"), std::string::npos) << e;
  j = good;
  j["sites"][0]["eta"] = -0.1;
  EXPECT_NE(reject(j).find("sites[0].eta"), std::string::npos);
  j = good;
  j["sites"][0]["eta"] = "high";
  EXPECT_NE(reject(j).find("sites[0].eta"), std::string::npos);
  j = good;
  j["sites"][1].erase("site");
  e = reject(j);
  EXPECT_NE(e.find("sites[1].site"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
  j = good;
  j["sites"][1]["site"] = "relu0";
  EXPECT_NE(reject(j).find("appears twice"), std::string::npos);
  j = good;
  j.erase("sites");
  EXPECT_NE(reject(j).find("sites"), std::string::npos);
  j = good;
  j["layers"][0]["density"] = 2;
  EXPECT_NE(reject(j).find("layers[0].density"), std::string::npos);
  j = good;
  j["sites"][0]["size"] = 0;
  EXPECT_NE(reject(j).find("sites[0].size"), std::string::npos);

  // A result missing one of the model's sites, or with another size: counted_eta names the site.
  RunConfig cfg = tiny_run();
  auto model = models::make_model(cfg.model);
  SensitivityResult r;
  for (const models::ReluSite* s : model->sites())
    r.sites.push_back({s->site_name, s->feeding_conv, s->size(), 0.5, 0.5});
  EXPECT_EQ(counted_eta(r, *model).size(), model->counted_sites().size());
  SensitivityResult missing = r;
  const std::string gone = missing.sites[3].site;
  missing.sites.erase(missing.sites.begin() + 3);
  e = error_of([&] { counted_eta(missing, *model); });
  EXPECT_NE(e.find("'" + gone + "'"), std::string::npos) << e;
  SensitivityResult resized = r;
  resized.sites[2].size *= 4;
  e = error_of([&] { counted_eta(resized, *model); });
  EXPECT_NE(e.find(resized.sites[2].site), std::string::npos) << e;
}

TEST(Sensitivity, RejectsBadSettings) {
  RunConfig cfg = tiny_run();
  DataBundle data = load_data(cfg);
  auto model = models::make_model(cfg.model);
  SensitivityConfig sc = tiny_sensitivity();
  sc.density = 0;
  EXPECT_NE(error_of([&] { run_sensitivity(cfg, sc, *model, data, 1, false); }).find("density"),
            std::string::npos);
  sc = tiny_sensitivity();
  cfg.train.optim.momentum = 0;
  EXPECT_NE(error_of([&] { run_sensitivity(cfg, sc, *model, data, 1, false); }).find("momentum"),
            std::string::npos);
}
