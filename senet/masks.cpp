// senet/masks.cpp — see masks.h.
#include "senet/masks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/rng.h"
#include "engine/io/atomic_file.h"
#include "senet/json_reader.h"

namespace senet {

using json = nlohmann::json;

std::vector<uint8_t> random_mask(int64_t n, int64_t k, uint64_t seed, uint64_t stream) {
  SENET_CHECK(0 <= k && k <= n, "random_mask: cannot keep ", k, " of ", n, " positions");
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  for (int64_t i = 0; i < k; ++i) {  // partial Fisher–Yates: the first k are a uniform sample
    int64_t j = i + int64_t(rand_below(seed, stream, uint64_t(i), uint32_t(n - i)));
    std::swap(idx[size_t(i)], idx[size_t(j)]);
  }
  std::vector<uint8_t> m(size_t(n), 0);
  for (int64_t i = 0; i < k; ++i) m[size_t(idx[size_t(i)])] = 1;
  return m;
}

std::vector<uint8_t> topk_mask(const std::vector<double>& scores, int64_t k) {
  int64_t n = int64_t(scores.size());
  SENET_CHECK(0 <= k && k <= n, "topk_mask: cannot keep ", k, " of ", n, " positions");
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t(0));
  auto better = [&](int64_t a, int64_t b) {
    double sa = scores[size_t(a)], sb = scores[size_t(b)];
    if (std::isnan(sa)) sa = -INFINITY;
    if (std::isnan(sb)) sb = -INFINITY;
    return sa != sb ? sa > sb : a < b;  // larger score first; ties: lower index first
  };
  std::nth_element(idx.begin(), idx.begin() + k, idx.end(), better);
  std::vector<uint8_t> m(size_t(n), 0);
  for (int64_t i = 0; i < k; ++i) m[size_t(idx[size_t(i)])] = 1;
  return m;
}

int64_t channels_for_budget(int64_t r, int64_t hw, int64_t channels) {
  return std::clamp<int64_t>(std::llround(double(r) / double(hw)), 0, channels);
}

std::vector<uint8_t> hw_pattern_mask(int64_t C, int64_t H, int64_t W, int64_t k, uint64_t seed,
                                     uint64_t stream) {
  const int64_t hw = H * W;
  SENET_CHECK(C > 0 && hw > 0 && 0 <= k && k <= C * hw, "hw_pattern_mask: cannot keep ", k, " of ",
              C, "×", H, "×", W, " positions");
  const int64_t q = k / C, extra = k % C;
  // random_mask's partial Fisher–Yates makes the first q draws of a (q+1)-run the q-run's: nested.
  const std::vector<uint8_t> base = random_mask(hw, q, seed, stream);
  const std::vector<uint8_t> more = q < hw ? random_mask(hw, q + 1, seed, stream) : base;
  const std::vector<uint8_t> plus = random_mask(C, extra, seed, stream | (uint64_t(1) << 40));
  std::vector<uint8_t> m(size_t(C * hw));
  for (int64_t c = 0; c < C; ++c) {
    const std::vector<uint8_t>& p = plus[size_t(c)] ? more : base;
    std::copy(p.begin(), p.end(), m.begin() + c * hw);
  }
  return m;
}

void set_hw_pattern_masks(models::Model& m, const std::vector<int64_t>& counts, uint64_t seed) {
  auto sites = m.counted_sites();
  SENET_CHECK(counts.size() == sites.size(), "set_hw_pattern_masks: ", counts.size(),
              " counts for ", sites.size(), " sites");
  for (size_t l = 0; l < sites.size(); ++l) {
    auto* s = sites[l];
    s->set_mask(Tensor::from_vector_u8(hw_pattern_mask(s->C, s->H, s->W, counts[l], seed, 1000 + l),
                                       {s->C, s->H, s->W}));
  }
}

void set_random_masks(models::Model& m, const std::vector<int64_t>& counts, Granularity g,
                      uint64_t seed) {
  auto sites = m.counted_sites();
  SENET_CHECK(counts.size() == sites.size(), "set_random_masks: ", counts.size(), " counts for ",
              sites.size(), " sites");
  for (size_t l = 0; l < sites.size(); ++l) {
    auto* s = sites[l];
    if (g == Granularity::Pixel) {
      s->set_mask(Tensor::from_vector_u8(random_mask(s->size(), counts[l], seed, 1000 + l),
                                         {s->C, s->H, s->W}));
    } else {
      int64_t kc = channels_for_budget(counts[l], int64_t(s->H) * s->W, s->C);
      s->set_mask(Tensor::from_vector_u8(random_mask(s->C, kc, seed, 1000 + l), {s->C}));
    }
  }
}

std::vector<int64_t> kept_indices(const models::ReluSite& s) {
  std::vector<uint8_t> m = s.mask.to_vector_u8();
  std::vector<int64_t> out;
  int64_t hw = int64_t(s.H) * s.W;
  if (s.act() == Act::ReLU) {  // an all-ReLU site keeps everything
    out.resize(size_t(s.size()));
    std::iota(out.begin(), out.end(), int64_t(0));
    return out;
  }
  if (s.channel_wise()) {
    for (int64_t c = 0; c < s.C; ++c)
      if (m[size_t(c)])
        for (int64_t i = 0; i < hw; ++i) out.push_back(c * hw + i);
  } else {
    for (int64_t i = 0; i < int64_t(m.size()); ++i)
      if (m[size_t(i)]) out.push_back(i);
  }
  return out;
}

json export_masks(const models::Model& m, Granularity g) {
  json sites = json::array();
  int64_t total = 0;
  for (auto* s : m.counted_sites()) {
    auto idx = kept_indices(*s);
    total += int64_t(idx.size());
    json site{{"name", s->site_name},
              {"shape", {s->C, s->H, s->W}},
              {"size", s->size()},
              {"kept", idx.size()},
              {"indices", idx}};
    if (s->channel_wise()) {
      std::vector<int64_t> ch;
      auto mv = s->mask.to_vector_u8();
      for (int64_t c = 0; c < s->C; ++c)
        if (mv[size_t(c)]) ch.push_back(c);
      site["channels"] = ch;
    }
    sites.push_back(site);
  }
  std::vector<json> fixed;
  for (auto* s : m.sites())
    if (!s->counted) fixed.push_back({{"name", s->site_name}, {"size", s->size()}});
  return json{{"format", "senet-masks-1"},
              {"granularity", enum_name(g)},
              {"index_order", "flat index into C×H×W (c·H·W + h·W + w), ascending"},
              {"total_kept", total},
              {"sites", sites},
              {"fixed_full_relu_sites", fixed}};
}

void write_mask_export(const std::string& path, const models::Model& m, Granularity g) {
  io::write_file_atomic(path, export_masks(m, g).dump() + "\n");
}

std::vector<std::vector<uint8_t>> read_mask_export(const std::string& path,
                                                   const models::Model& m) {
  return parse_mask_export(io::read_file(path), path, m);
}

std::vector<std::vector<uint8_t>> parse_mask_export(const std::string& text,
                                                    const std::string& path,
                                                    const models::Model& m) {
  json j = json::parse(text, nullptr, false);
  const std::string doc = "mask export '" + path + "'";
  SENET_CHECK(!j.is_discarded() && j.is_object(), doc, " is not a JSON object");
  const JsonReader root(j, doc);
  if (root.at("format").text() != "senet-masks-1")
    root.at("format").fail_expected("\"senet-masks-1\"");
  const JsonReader sites = root.at("sites");
  auto counted = m.counted_sites();
  SENET_CHECK(sites.size() == counted.size(), doc, " has ", sites.size(), " sites, the model has ",
              counted.size());
  std::vector<std::vector<uint8_t>> out;
  for (size_t l = 0; l < counted.size(); ++l) {
    const JsonReader e = sites[l];
    auto* s = counted[l];
    const std::string name = e.at("name").text();
    if (name != s->site_name) e.at("name").fail_expected("site '" + s->site_name + "'");
    const JsonReader indices = e.at("indices");
    const int64_t n = int64_t(indices.size());
    if (e.at("kept").integer(at_least(0)) != n)
      e.at("kept").fail_expected("the number of indices, " + std::to_string(n));
    const NumberRule in_site =
        in_range(0, double(s->size() - 1), "in [0, " + std::to_string(s->size()) + ")");
    std::vector<uint8_t> mask(size_t(s->size()), 0);
    int64_t prev = -1;
    for (size_t k = 0; k < size_t(n); ++k) {
      int64_t i = indices[k].integer(in_site);
      if (i <= prev)
        indices[k].fail_expected("indices in strictly ascending order (after " +
                                 std::to_string(prev) + ")");
      mask[size_t(i)] = 1;
      prev = i;
    }
    out.push_back(std::move(mask));
  }
  return out;
}

}  // namespace senet
