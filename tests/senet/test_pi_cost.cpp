// tests/senet/test_pi_cost.cpp — the PI cost estimate: its arithmetic on a hand-computed 2-site case,
// the named protocols' constants, ReLUs per site of a masked model (fixed sites included) next to
// the all-ReLU model, the table and JSON outputs.
#include <gtest/gtest.h>

#include "senet/masks.h"
#include "senet/pi_cost.h"

using namespace senet;

TEST(PiCost, TwoSitesByHand) {
  // Site a keeps 40 of 100 ReLUs; site b is fixed (outside the budget): all 50 evaluated.
  std::vector<SiteRelus> sites{{"a", 100, 40, true}, {"b", 50, 50, false}};
  PiProtocol p{"custom", "test", 1000.0, 10.0, 2e-6};
  PiCost c = estimate_pi_cost(sites, 12345, p);
  EXPECT_EQ(c.relus, 90);
  EXPECT_EQ(c.macs, 12345);
  EXPECT_DOUBLE_EQ(c.online_bytes, 90000.0);   // 90 · 1000 B
  EXPECT_DOUBLE_EQ(c.offline_bytes, 900.0);    // 90 · 10 B
  EXPECT_DOUBLE_EQ(c.online_seconds, 180e-6);  // 90 · 2 µs
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_DOUBLE_EQ(c.sites[0].online_bytes, 40000.0);
  EXPECT_DOUBLE_EQ(c.sites[1].online_seconds, 100e-6);
  auto j = to_json(c);
  EXPECT_EQ(j["relus"].get<int64_t>(), 90);
  EXPECT_DOUBLE_EQ(j["online_bytes"].get<double>(), 90000.0);
  EXPECT_EQ(j["sites"][1]["counted"].get<bool>(), false);
}

TEST(PiCost, NamedProtocolsAndTheirConstants) {
  const PiProtocol& d = find_pi_protocol("delphi");
  EXPECT_DOUBLE_EQ(d.online_bytes_per_relu, 41 * 16);       // ℓ = 41 labels of 16 B
  EXPECT_DOUBLE_EQ(d.offline_bytes_per_relu, 5 * 41 * 32);  // ≈ 5ℓ AND gates · 2 ciphertexts
  EXPECT_DOUBLE_EQ(d.online_seconds_per_relu, 20e-6);
  // 10,000 ReLUs under DELPHI: 6.56 MB online, 0.2 s.
  PiCost c = estimate_pi_cost({{"s", 20000, 10000, true}}, 0, d);
  EXPECT_DOUBLE_EQ(c.online_bytes, 6.56e6);
  EXPECT_NEAR(c.online_seconds, 0.2, 1e-12);
  const PiProtocol& o = find_pi_protocol("cryptflow2");
  EXPECT_DOUBLE_EQ(o.online_bytes_per_relu, 128 * 32 / 8 + 2 * (128 + 2 * 32) / 8);
  // The measured SPU constants: 144 B per ReLU (SEMI2K), 98.5 B (CHEETAH), time = bytes at 1 Gbit/s.
  const PiProtocol& semi = find_pi_protocol("spu-semi2k");
  PiCost cs = estimate_pi_cost({{"s", 69632, 2000, true}}, 0, semi);
  EXPECT_DOUBLE_EQ(cs.online_bytes, 288000.0);  // docs/results_pi.md: the student's 0.288 MB
  EXPECT_DOUBLE_EQ(cs.offline_bytes, 0.0);
  EXPECT_NEAR(cs.online_seconds, 288000.0 * 8 / 1e9, 1e-15);
  EXPECT_DOUBLE_EQ(find_pi_protocol("spu-cheetah").online_bytes_per_relu, 98.5);
  try {
    find_pi_protocol("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("delphi"), std::string::npos) << e.what();
  }
}

TEST(PiCost, MaskedModelAgainstItsAllReluModel) {
  models::ModelConfig mc;
  mc.width = 0.0625f;
  mc.in_channels = 1;
  mc.image_size = 16;
  mc.num_classes = 4;
  mc.stem_site = false;  // the stem ReLU is fixed: evaluated in both models
  auto m = models::make_model(mc);
  std::vector<int64_t> counts;
  for (auto* s : m->counted_sites()) counts.push_back(s->size() / 4);
  set_random_masks(*m, counts, Granularity::Pixel, 7);
  const PiProtocol& p = find_pi_protocol("delphi");
  PiCost mine = estimate_pi_cost(site_relus(*m), m->macs(), p);
  PiCost all = estimate_pi_cost(site_relus(*m, true), m->macs(), p);
  EXPECT_EQ(mine.relus, m->relu_count() + m->fixed_relus());
  EXPECT_EQ(all.relus, m->relu_capacity() + m->fixed_relus());
  EXPECT_EQ(mine.macs, all.macs);
  EXPECT_GT(mine.macs, 0);
  ASSERT_EQ(mine.sites.size(), m->sites().size());
  EXPECT_FALSE(mine.sites[0].relus.counted);
  EXPECT_EQ(mine.sites[0].relus.relus, m->sites()[0]->size());
  std::string text = format_pi_cost(mine, all, p);
  EXPECT_NE(text.find("DELPHI"), std::string::npos);
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2f×", double(all.relus) / double(mine.relus));
  EXPECT_NE(text.find(ratio), std::string::npos) << text;
}
