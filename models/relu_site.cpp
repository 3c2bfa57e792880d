// models/relu_site.cpp — see relu_site.h.
#include "models/relu_site.h"

#include <algorithm>
#include <cmath>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/ops/activation.h"
#include "engine/ops/alpha_relu.h"
#include "engine/ops/straight_through.h"

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

Tensor ReluSite::forward(const Tensor& z) {
  if (mode == SiteMode::Alpha) return alpha_relu(z, alpha);
  if (mode != SiteMode::Learned)
    return act() == Act::MaskedReLU ? masked_relu(z, act_mask()) : relu(z);
  // α = top-k(|s|) forward, ∂α/∂s = sign(s) backward; the hard mask lands in `mask`.
  return alpha_relu(z, straight_through_topk(score, learned_keep, mask));
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
  {
    NoGradGuard no_grad;
    straight_through_topk(score, learned_keep, mask);  // the top-k of the current scores
  }
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
