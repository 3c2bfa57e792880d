// models/relu_site.cpp — see relu_site.h.
#include "models/relu_site.h"

#include <algorithm>
#include <cmath>

#include "engine/core/rng.h"
#include "engine/ops/activation.h"
#include "engine/ops/alpha_relu.h"
#include "engine/ops/elementwise.h"

namespace senet::models {

ReluSite::ReluSite(std::string name, int c, int h, int w, bool is_counted)
    : nn::MaskedReLU(c, h, w),
      site_name(std::move(name)),
      counted(is_counted),
      active_channels(c) {}

int64_t ReluSite::relu_count() const {
  if (act() == Act::ReLU) return active_size();
  SENET_CHECK(active_channels == C || mode == SiteMode::Masked, "site ", site_name,
              ": learned and α sites run at full width only");
  if (mode == SiteMode::Learned) return learned_keep;
  if (mode == SiteMode::Alpha) {
    int64_t alive = 0;
    for (float a : alpha.to_vector()) alive += a > alpha_threshold;
    return alive;
  }
  int64_t kept = 0;
  for (uint8_t v : active_mask().to_vector_u8()) kept += v != 0;
  return channel_wise() ? kept * H * W : kept;
}

void ReluSite::set_mask(const Tensor& m) {
  nn::MaskedReLU::set_mask(m, "site " + site_name);
  mode = SiteMode::Masked;
}

// Exact top-k of |s| (ties: lower index) as a u8 mask — the same rule as senet/masks.h's topk_mask.
static std::vector<uint8_t> topk_abs(const std::vector<float>& s, int64_t k) {
  std::vector<int64_t> idx(s.size());
  for (size_t i = 0; i < s.size(); ++i) idx[i] = int64_t(i);
  std::nth_element(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    float fa = std::abs(s[size_t(a)]), fb = std::abs(s[size_t(b)]);
    return fa != fb ? fa > fb : a < b;
  });
  std::vector<uint8_t> m(s.size(), 0);
  for (int64_t i = 0; i < k; ++i) m[size_t(idx[size_t(i)])] = 1;
  return m;
}

Tensor ReluSite::forward(const Tensor& z) {
  if (mode == SiteMode::Alpha) return alpha_relu(z, alpha);
  if (mode != SiteMode::Learned)
    return act() == Act::MaskedReLU ? masked_relu(z, act_mask()) : relu(z);
  std::vector<float> s = score.to_vector();
  std::vector<uint8_t> m = topk_abs(s, learned_keep);
  mask.copy_(Tensor::from_vector_u8(m, mask.shape(), mask.device()));
  std::vector<float> hard(m.begin(), m.end()), sign(s.size());
  for (size_t i = 0; i < s.size(); ++i) sign[i] = s[i] < 0 ? -1.f : 1.f;
  Shape shape = score.shape();
  Tensor alpha = add(Tensor::from_vector(hard, shape, z.device()),
                     mul(Tensor::from_vector(sign, shape, z.device()), sub(score, score.detach())));
  return alpha_relu(z, alpha);
}

void ReluSite::set_learned(int64_t keep, uint64_t seed) {
  SENET_CHECK(!channel_wise(), "site ", site_name,
              ": the learned (straight-through) mask is pixel-wise only");
  SENET_CHECK(keep >= 0 && keep <= size(), "site ", site_name, ": cannot keep ", keep, " of ",
              size());
  std::vector<uint8_t> m = mask.to_vector_u8();
  std::vector<float> s(m.size());
  for (size_t i = 0; i < s.size(); ++i) s[i] = float(m[i]) + 0.01f * rand_normal(seed, 77, i);
  bool registered = score.defined();
  score = Tensor::from_vector(s, {C, H, W}, device());
  if (!registered) {
    register_parameter("score", &score);
  } else {
    score.set_requires_grad(true);
  }
  learned_keep = keep;
  mode = SiteMode::Learned;
}

void ReluSite::freeze_learned() {
  SENET_CHECK(mode == SiteMode::Learned, "site ", site_name, ": not in learned mode");
  mask = Tensor::from_vector_u8(topk_abs(score.to_vector(), learned_keep), {C, H, W}, device());
  mode = SiteMode::Masked;
}

void ReluSite::set_alpha(float threshold) {
  SENET_CHECK(counted, "site ", site_name, ": not in the ReLU budget, so it has no α (SNL)");
  SENET_CHECK(!channel_wise(), "site ", site_name, ": SNL's α is pixel-wise only");
  bool registered = alpha.defined();
  alpha = Tensor::full({C, H, W}, 1.f, device());
  if (!registered) {
    register_parameter("alpha", &alpha);
  } else {
    alpha.set_requires_grad(true);
  }
  alpha_threshold = threshold;
  mode = SiteMode::Alpha;
}

void ReluSite::binarize_alpha() {
  SENET_CHECK(mode == SiteMode::Alpha, "site ", site_name, ": not in alpha mode");
  std::vector<float> a = alpha.to_vector();
  std::vector<uint8_t> m(a.size());
  for (size_t i = 0; i < a.size(); ++i) m[i] = a[i] > alpha_threshold;
  mask = Tensor::from_vector_u8(m, {C, H, W}, device());
  mode = SiteMode::Masked;
}

}  // namespace senet::models
