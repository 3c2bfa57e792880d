// models/model.h — what every model offers the SENet pipeline: forward, its ReLU sites in network
// order, and a summary (per-site C×H×W and ReLUs, parameters, MACs).
// ModelConfig describes a model completely (it is saved in checkpoints): architecture, width,
// input shape, classes, and the ReLU-site convention:
//   stem_site   ResNet: the stem ReLU is a maskable site in the budget (SNL/DeepReDuce omit it:
//               then it stays a full ReLU outside the count, reported as "fixed").
//   final_site  WRN: the final BN-ReLU is a site (SNL omits it, same treatment).
// width_factors (ResNet only; empty: a plain model) makes the model width-switchable (dynamic
// channel reduction, models/width_switch.h): set_width(s) runs it on the first ⌊s·C⌋ channels.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/core/enum_names.h"
#include "engine/nn/layers.h"
#include "models/relu_site.h"

namespace senet::models {

enum class Arch { ResNet18, ResNet34, WRN };  // WRN: WRN-depth-k

struct ModelConfig {
  Arch arch = Arch::ResNet18;
  int num_classes = 10;
  int in_channels = 3;
  int image_size = 32;
  float width = 1.0f;  // ResNet: multiplies the base widths 64/128/256/512
  int wrn_depth = 22;  // WRN-d-k: d = 6n + 4
  int wrn_k = 8;
  bool stem_site = true;
  bool final_site = true;
  uint64_t seed = 0;                 // weight initialisation
  std::vector<float> width_factors;  // e.g. {0.5, 1}: one BN set per factor; must include 1
};

class Model : public nn::Module {
 public:
  explicit Model(const ModelConfig& cfg) : config(cfg) {}
  virtual Tensor forward(const Tensor& x) = 0;
  ModelConfig config;

  // Every ReLU site in network order (including sites outside the budget; see site->counted).
  const std::vector<ReluSite*>& sites() const { return sites_; }
  std::vector<ReluSite*> counted_sites() const;
  int64_t relu_count() const;     // ReLUs the counted sites evaluate now (masks applied)
  int64_t relu_capacity() const;  // Σ size of the counted sites
  int64_t fixed_relus() const;    // ReLUs of sites outside the budget
  int64_t macs() const {
    return macs_;
  }                             // multiply-adds of the linear layers, one image, at width()
  void set_capture(bool on);    // post-activation capture at every site
  std::string summary() const;  // per-site table + totals, as text

  // Dynamic channel reduction: the factors this model runs at ({1} for a plain model) and the
  // current one. set_width(s) switches every layer, BN set, site mask and relu_count()/macs() to
  // factor s; a factor not in the list is an error (a plain or WRN model has only 1).
  std::vector<float> width_factors() const;
  float width() const { return width_; }
  virtual void set_width(float s);

 protected:
  std::shared_ptr<ReluSite> add_site(const std::string& name, int C, int H, int W, bool counted);
  int64_t macs_ = 0;
  float width_ = 1.f;

 private:
  std::vector<ReluSite*> sites_;
};

std::shared_ptr<Model> make_model(const ModelConfig& cfg);

}  // namespace senet::models

namespace senet {
template <>
struct EnumNames<models::Arch> {
  static constexpr std::pair<models::Arch, std::string_view> table[] = {
      {models::Arch::ResNet18, "resnet18"},
      {models::Arch::ResNet34, "resnet34"},
      {models::Arch::WRN, "wrn"}};
};
namespace models {
inline std::ostream& operator<<(std::ostream& os, Arch a) { return os << enum_name(a); }
}  // namespace models
}  // namespace senet
