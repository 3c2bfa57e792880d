// models/model.cpp — site bookkeeping, summary and the model factory.
#include "models/model.h"

#include <cstdio>

#include "models/resnet.h"
#include "models/wide_resnet.h"
#include "models/width_switch.h"

namespace senet::models {

std::shared_ptr<ReluSite> Model::add_site(const std::string& name, int C, int H, int W,
                                          bool counted) {
  auto site = std::make_shared<ReluSite>(name, C, H, W, counted);
  sites_.push_back(site.get());
  return site;
}

std::vector<ReluSite*> Model::counted_sites() const {
  std::vector<ReluSite*> out;
  for (auto* s : sites_)
    if (s->counted) out.push_back(s);
  return out;
}

int64_t Model::relu_count() const {
  int64_t n = 0;
  for (auto* s : sites_)
    if (s->counted) n += s->relu_count();
  return n;
}

int64_t Model::relu_capacity() const {
  int64_t n = 0;
  for (auto* s : sites_)
    if (s->counted) n += s->size();
  return n;
}

int64_t Model::fixed_relus() const {
  int64_t n = 0;
  for (auto* s : sites_)
    if (!s->counted) n += s->size();
  return n;
}

void Model::set_capture(bool on) {
  for (auto* s : sites_) {
    s->capture = on;
    s->captured = Tensor();
  }
}

std::vector<float> Model::width_factors() const {
  return config.width_factors.empty() ? std::vector<float>{1.f} : config.width_factors;
}

void Model::set_width(float s) {
  SENET_CHECK(
      s == 1.f, "model ", enum_name(config.arch), ": width factor ", s,
      " needs a width-switchable model (model.width_factors, ResNet only); this one runs at "
      "1 only");
}

std::string Model::summary() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-4s %-22s %-16s %10s %10s %7s\n", "#", "site", "C×H×W", "size",
                "ReLUs", "keep%");
  out += line;
  int i = 0;
  for (auto* s : sites_) {
    std::string shape =
        std::to_string(s->C) + "×" + std::to_string(s->H) + "×" + std::to_string(s->W);
    int64_t r = s->relu_count();
    std::snprintf(line, sizeof line, "%-4d %-22s %-16s %10lld %10lld %6.2f%%%s\n", i++,
                  s->site_name.c_str(), shape.c_str(), (long long)s->size(), (long long)r,
                  100.0 * double(r) / double(s->size()),
                  s->counted ? "" : "  (fixed: not in budget)");
    out += line;
  }
  std::snprintf(line, sizeof line,
                "ReLUs: %lld counted (of %lld in counted sites) + %lld fixed = %lld evaluated\n",
                (long long)relu_count(), (long long)relu_capacity(), (long long)fixed_relus(),
                (long long)(relu_count() + fixed_relus()));
  out += line;
  std::snprintf(line, sizeof line, "parameters: %lld   MACs per image: %lld (%.3f G)\n",
                (long long)num_parameters(), (long long)macs_, double(macs_) * 1e-9);
  out += line;
  return out;
}

std::shared_ptr<Model> make_model(const ModelConfig& cfg) {
  SENET_CHECK(cfg.num_classes >= 2, "model.num_classes must be ≥ 2, got ", cfg.num_classes);
  SENET_CHECK(cfg.in_channels >= 1, "model.in_channels must be ≥ 1, got ", cfg.in_channels);
  SENET_CHECK(cfg.image_size >= 8 && cfg.image_size % 8 == 0,
              "model.image_size must be a multiple of 8 and ≥ 8, got ", cfg.image_size);
  SENET_CHECK(cfg.width > 0, "model.width must be positive, got ", cfg.width);
  check_width_factors(cfg.width_factors, "model.width_factors");
  SENET_CHECK(cfg.width_factors.empty() || cfg.arch != Arch::WRN,
              "model.width_factors: width switching is implemented for ResNet only, not wrn");
  if (cfg.arch == Arch::WRN) return std::make_shared<WideResNet>(cfg);
  return std::make_shared<ResNet>(cfg);
}

}  // namespace senet::models
