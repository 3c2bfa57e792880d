// models/relu_site.h — one ReLU layer of a model as SENet and its baselines see it: a named site of
// C×H×W ReLUs (an nn::MaskedReLU, the engine's plain partial-ReLU layer) plus what the method needs:
//   `counted`  the site convention: a site outside the budget (e.g. the stem ReLU under SNL's
//              convention) stays a full ReLU;
//   modes      ReLU = all-ReLU (teacher); Masked = y = m ? max(x,0) : x;
//              Learned (SENet's straight-through option): a real score s per position; the forward
//              keeps the top-r of |s| as a hard mask m and computes alpha_relu(z, α) with
//              α = m + sign(s)⊙(s − stop_grad(s)): the value is m, the gradient reaches s straight
//              through (∂α/∂s = sign(s) = ∂|s|/∂s) — one op, engine/ops/straight_through.h, whose
//              top-k runs on the device on CUDA. Learned sites run unfused.
//              Alpha (the SNL baseline): a real α per position (parameter "alpha" [C,H,W], init 1),
//              y = α ⊙ relu(z) + (1−α) ⊙ z = alpha_relu(z, α), trained with the weights; the site
//              counts the positions with α > alpha_threshold, and binarize_alpha() turns that test
//              into its mask (Masked mode). Alpha sites run unfused.
//   capture    the post-activation output kept for the mask search and PRAM;
//   width      dynamic channel reduction's active channels (models/width_switch.h).
#pragma once
#include <string>

#include "engine/nn/layers.h"

namespace senet::models {

enum class SiteMode { ReLU, Masked, Learned, Alpha };

class ReluSite : public nn::MaskedReLU {
 public:
  ReluSite(std::string site_name, int C, int H, int W, bool counted = true);
  std::string site_name;
  bool counted;  // part of the ReLU budget (site convention)
  // Dotted name of the conv weight that produces this site's input (docs/method.md, stage 1: the
  // site's sensitivity is 1 − that conv's density after sparse training).
  std::string feeding_conv;
  SiteMode mode = SiteMode::ReLU;
  // mask (u8, [C,H,W] or [C]; all ones until a mask is set), C, H, W, size(), channel_wise():
  // nn::MaskedReLU's.
  // Dynamic channel reduction (models/width_switch.h): at width factor s the site sees only its
  // first ⌊s·C⌋ channels; act_mask(), forward() and relu_count() then use the mask's first
  // active_channels rows. Set by Model::set_width; C (all of the site) otherwise.
  int active_channels;

  int64_t active_size() const { return int64_t(active_channels) * H * W; }
  // ReLUs this site evaluates: active_size() in ReLU mode; kept positions among the active
  // channels (× H·W if channel-wise) if masked.
  int64_t relu_count() const;
  void set_mask(const Tensor& m);  // u8 [C,H,W] or [C], values 0/1; switches to Masked mode
  // The activation the fused ops should apply, and its mask argument.
  Act act() const { return mode != SiteMode::ReLU && counted ? Act::MaskedReLU : Act::ReLU; }
  Tensor act_mask() const { return act() == Act::MaskedReLU ? active_mask() : Tensor(); }
  Tensor active_mask() const {
    return active_channels == C ? mask : mask.slice(0, active_channels);
  }
  // What a model passes to a fused op for this site (Act::None when the site runs unfused), and
  // what it does with the fused op's output: the site's own activation if unfused, then observe().
  bool unfused() const { return mode == SiteMode::Learned || mode == SiteMode::Alpha; }
  Act fused_act() const { return unfused() ? Act::None : act(); }
  Tensor fused_mask() const { return unfused() ? Tensor() : act_mask(); }
  Tensor output(const Tensor& z) { return observe(unfused() ? forward(z) : z); }
  Tensor forward(const Tensor& z);  // unfused activation

  // Learned mode: scores start at the current mask plus small noise (so the first top-r is the
  // current mask), `keep` positions are kept. Pixel-wise masks only.
  void set_learned(int64_t keep, uint64_t seed);
  void freeze_learned();  // back to Masked with the current top-r mask
  Tensor score;           // parameter "score" [C,H,W] (Learned mode only)
  int64_t learned_keep = 0;

  // Alpha mode (SNL): α = 1 everywhere (a ReLU), positions with α > threshold count as ReLUs.
  // Pixel-wise only; a site outside the budget stays a full ReLU.
  void set_alpha(float threshold);
  void binarize_alpha();  // mask = [α > alpha_threshold], back to Masked mode
  Tensor alpha;           // parameter "alpha" [C,H,W] (Alpha mode only)
  float alpha_threshold = 0.01f;

  // Capture of post-activation outputs (mask search, PRAM): when on, models pass each site's output
  // through observe(), which keeps it (with its graph) until the next forward.
  bool capture = false;
  Tensor captured;
  const Tensor& observe(const Tensor& a) {
    if (capture) captured = a;
    return a;
  }
};

}  // namespace senet::models
