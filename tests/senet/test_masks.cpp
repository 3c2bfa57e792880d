// tests/senet/test_masks.cpp — exact random and top-k masks, tie-breaking, and the index export.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include <unistd.h>

#include "engine/core/error.h"
#include "senet/masks.h"

using namespace senet;
namespace fs = std::filesystem;

static int64_t ones(const std::vector<uint8_t>& m) {
  return std::accumulate(m.begin(), m.end(), int64_t(0));
}

TEST(Masks, RandomMaskHasExactlyKAndIsSeeded) {
  for (int64_t k : {0, 1, 37, 999, 1000}) EXPECT_EQ(ones(random_mask(1000, k, 5, 1)), k);
  EXPECT_EQ(random_mask(1000, 100, 5, 1), random_mask(1000, 100, 5, 1));
  EXPECT_NE(random_mask(1000, 100, 5, 1), random_mask(1000, 100, 6, 1));
  EXPECT_THROW(random_mask(10, 11, 1, 1), Error);
}

TEST(Masks, TopKIsExactAndBreaksTiesByLowerIndex) {
  std::vector<double> s = {0.5, 2.0, 2.0, 1.0, 2.0, -1.0};
  EXPECT_EQ(topk_mask(s, 2), (std::vector<uint8_t>{0, 1, 1, 0, 0, 0}));  // index 4 loses the tie
  EXPECT_EQ(topk_mask(s, 4), (std::vector<uint8_t>{0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(ones(topk_mask(s, 0)), 0);
  EXPECT_EQ(ones(topk_mask(s, 6)), 6);
  std::vector<double> flat(5000, 3.0);  // all tied: the first k indices
  auto m = topk_mask(flat, 1234);
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(m[size_t(i)], i < 1234 ? 1 : 0);
  EXPECT_THROW(topk_mask(s, 7), Error);
}

TEST(Masks, ChannelBudgetRounding) {
  EXPECT_EQ(channels_for_budget(100, 16, 64), 6);  // 100/16 = 6.25
  EXPECT_EQ(channels_for_budget(104, 16, 64), 7);  // 6.5 rounds up
  EXPECT_EQ(channels_for_budget(100000, 16, 64), 64);
}

static models::ModelConfig tiny() {
  models::ModelConfig c;
  c.width = 0.0625f;
  c.in_channels = 1;
  c.image_size = 8;
  c.num_classes = 4;
  return c;
}

TEST(Masks, ExportReadsBackToTheDenseMasks) {
  auto m = models::make_model(tiny());
  std::vector<int64_t> counts;
  for (auto* s : m->counted_sites()) counts.push_back(s->size() / 7);
  set_random_masks(*m, counts, Granularity::Pixel, 3);
  std::string dir =
      (fs::temp_directory_path() / ("senet_masks_" + std::to_string(getpid()))).string();
  fs::create_directories(dir);
  write_mask_export(dir + "/masks.json", *m, Granularity::Pixel);
  auto dense = read_mask_export(dir + "/masks.json", *m);
  auto sites = m->counted_sites();
  ASSERT_EQ(dense.size(), sites.size());
  int64_t total = 0;
  for (size_t l = 0; l < sites.size(); ++l) {
    EXPECT_EQ(dense[l], sites[l]->mask.to_vector_u8()) << sites[l]->site_name;
    total += ones(dense[l]);
  }
  EXPECT_EQ(total, m->relu_count());

  // Channel-wise masks export expanded indices plus the channel list.
  set_random_masks(*m, counts, Granularity::Channel, 3);
  auto j = export_masks(*m, Granularity::Channel);
  EXPECT_TRUE(j["sites"][1].contains("channels"));
  EXPECT_EQ(j["total_kept"].get<int64_t>(), m->relu_count());

  // Corrupt exports: each gives an error naming the problem.
  auto write_and_read = [&](const nlohmann::json& bad) -> std::string {
    std::ofstream(dir + "/bad.json") << bad.dump();
    try {
      read_mask_export(dir + "/bad.json", *m);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  auto good = export_masks(*m, Granularity::Pixel);
  auto bad = good;
  bad["sites"][0]["name"] = "layer9.relu";
  EXPECT_NE(write_and_read(bad).find("expected site"), std::string::npos);
  bad = good;
  bad["sites"][0]["indices"].push_back(1 << 30);
  bad["sites"][0]["kept"] = bad["sites"][0]["indices"].size();
  std::string e = write_and_read(bad);
  EXPECT_NE(e.find("sites[0].indices["), std::string::npos) << e;  // the path of the bad index
  EXPECT_NE(e.find("expected an integer in [0, "), std::string::npos) << e;
  bad = good;
  bad["sites"][0]["indices"] = {3, 3};
  bad["sites"][0]["kept"] = 2;
  EXPECT_NE(write_and_read(bad).find("ascending"), std::string::npos);
  bad = good;
  bad["sites"][0]["kept"] = 12345;
  EXPECT_NE(write_and_read(bad).find("kept"), std::string::npos);
  bad = good;
  bad["sites"].erase(0);
  EXPECT_NE(write_and_read(bad).find("sites"), std::string::npos);
}
