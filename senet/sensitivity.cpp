// senet/sensitivity.cpp — sparse-momentum training of the teacher's copy and η = 1 − α per site.
// Layout: the pure pieces (schedule, random mask, regrowth shares, one layer's prune/regrow), then
// the training loop that strings them together, then JSON.
#include "senet/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numbers>
#include <numeric>
#include <set>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"
#include "engine/ops/elementwise.h"
#include "senet/data_parallel.h"
#include "senet/epoch_loop.h"
#include "senet/json_reader.h"
#include "senet/run_dir.h"

namespace senet {

using json = nlohmann::json;

// ---------------------------------------------------------------- pure pieces

double prune_rate_at(double prune_rate, int64_t t, int64_t T) {
  SENET_CHECK(T > 0, "prune_rate_at: total steps must be > 0, got ", T);
  const double x = double(std::clamp<int64_t>(t, 0, T)) / double(T);
  return prune_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * x));
}

std::vector<uint8_t> random_mask(int64_t n, double density, uint64_t seed, uint64_t stream) {
  SENET_CHECK(n >= 0, "random_mask: n must be ≥ 0, got ", n);
  SENET_CHECK(density >= 0 && density <= 1, "random_mask: density must be in [0, 1], got ",
              density);
  const int64_t k = std::llround(density * double(n));
  // Key of element i: a Philox draw; the k smallest (key, i) pairs are active.
  std::vector<std::pair<uint32_t, int64_t>> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys[size_t(i)] = {rand_u32(seed, stream, uint64_t(i)), i};
  std::nth_element(keys.begin(), keys.begin() + k, keys.end());
  std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
  for (int64_t j = 0; j < k; ++j) mask[size_t(keys[size_t(j)].second)] = 1;
  return mask;
}

std::vector<int64_t> regrowth_shares(const std::vector<double>& score,
                                     const std::vector<int64_t>& capacity, int64_t total) {
  const size_t L = score.size();
  SENET_CHECK(capacity.size() == L, "regrowth_shares: ", L, " scores but ", capacity.size(),
              " capacities");
  SENET_CHECK(total >= 0, "regrowth_shares: total must be ≥ 0, got ", total);
  int64_t room = 0;
  for (size_t l = 0; l < L; ++l) {
    SENET_CHECK(std::isfinite(score[l]) && score[l] >= 0, "regrowth_shares: score of layer ", l,
                " must be finite and ≥ 0, got ", score[l]);
    SENET_CHECK(capacity[l] >= 0, "regrowth_shares: capacity of layer ", l, " is ", capacity[l]);
    room += capacity[l];
  }
  SENET_CHECK(total <= room, "regrowth_shares: ", total, " units do not fit in ", room,
              " inactive positions");

  std::vector<int64_t> share(L, 0);
  std::vector<bool> saturated(L, false);
  for (size_t l = 0; l < L; ++l) saturated[l] = capacity[l] == 0;
  std::vector<double> x(L, 0.0);  // real shares of the unsaturated layers
  int64_t remaining = total;
  // Water-filling: split what is left among the free layers; fix those above their cap; repeat.
  for (;;) {
    double sum = 0;
    int64_t nfree = 0;
    for (size_t l = 0; l < L; ++l)
      if (!saturated[l]) sum += score[l], ++nfree;
    if (nfree == 0) break;
    for (size_t l = 0; l < L; ++l)
      if (!saturated[l])
        x[l] = double(remaining) * (sum > 0 ? score[l] / sum : 1.0 / double(nfree));
    bool fixed_any = false;
    for (size_t l = 0; l < L; ++l)
      if (!saturated[l] && x[l] > double(capacity[l])) {
        share[l] = capacity[l];
        saturated[l] = true;
        remaining -= capacity[l];
        fixed_any = true;
      }
    if (!fixed_any) break;
  }
  // Largest remainder among the free layers.
  std::vector<size_t> order;
  int64_t leftover = remaining;
  for (size_t l = 0; l < L; ++l)
    if (!saturated[l]) {
      share[l] = std::min<int64_t>(capacity[l], int64_t(std::floor(x[l])));
      leftover -= share[l];
      order.push_back(l);
    }
  SENET_CHECK(leftover >= 0, "regrowth_shares: internal rounding error (", leftover, ")");
  auto frac = [&](size_t l) { return x[l] - std::floor(x[l]); };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return frac(a) > frac(b); });
  for (size_t l : order)
    if (leftover > 0 && share[l] < capacity[l]) ++share[l], --leftover;
  for (size_t l = 0; l < L && leftover > 0; ++l) {  // floating-point slack only; room ≥ total
    const int64_t add = std::min(leftover, capacity[l] - share[l]);
    share[l] += add;
    leftover -= add;
  }
  return share;
}

void prune_regrow_layer(float* w, uint8_t* mask, const float* momentum, int64_t n, int64_t prune,
                        int64_t grow) {
  std::vector<int64_t> active, inactive;
  for (int64_t i = 0; i < n; ++i) (mask[i] ? active : inactive).push_back(i);
  const int64_t nnz = int64_t(active.size());
  SENET_CHECK(prune >= 0 && prune <= nnz, "prune_regrow_layer: cannot prune ", prune, " of ", nnz,
              " active weights");
  SENET_CHECK(grow >= 0 && grow <= n - nnz + prune, "prune_regrow_layer: cannot regrow ", grow,
              " at ", n - nnz + prune, " inactive positions");
  // Prune: the `prune` smallest (|w|, index) among the active weights.
  auto smaller_w = [&](int64_t a, int64_t b) {
    const float wa = std::fabs(w[a]), wb = std::fabs(w[b]);
    return wa < wb || (wa == wb && a < b);
  };
  std::nth_element(active.begin(), active.begin() + prune, active.end(), smaller_w);
  for (int64_t j = 0; j < prune; ++j) {
    mask[active[size_t(j)]] = 0;
    w[active[size_t(j)]] = 0.f;
    inactive.push_back(active[size_t(j)]);
  }
  // Regrow: the `grow` largest |momentum| (ties: lower index) among the inactive positions.
  auto larger_m = [&](int64_t a, int64_t b) {
    const float ma = std::fabs(momentum[a]), mb = std::fabs(momentum[b]);
    return ma > mb || (ma == mb && a < b);
  };
  std::nth_element(inactive.begin(), inactive.begin() + grow, inactive.end(), larger_m);
  for (int64_t j = 0; j < grow; ++j) {
    mask[inactive[size_t(j)]] = 1;
    w[inactive[size_t(j)]] = 0.f;
  }
}

// ---------------------------------------------------------------- training

namespace {

// A masked conv weight: the live parameter and its 0/1 mask (host memory), also kept as 0/1
// floats on the weight's device, made again after each prune/regrow event.
struct MaskedConv {
  std::string name;
  Tensor weight;
  std::vector<uint8_t> mask;
  Tensor mask_values;  // undefined: not made yet, or stale
  int64_t nnz() const { return std::accumulate(mask.begin(), mask.end(), int64_t(0)); }
  double density() const { return mask.empty() ? 0.0 : double(nnz()) / double(mask.size()); }
};

// Runs f(float*) on a tensor's values: in place on the CPU, through a host copy on other devices.
template <class F>
void edit_on_host(Tensor& t, F f) {
  if (t.device() == Device::CPU) {
    f(t.data<float>());
    return;
  }
  std::vector<float> v = t.to_vector();
  f(v.data());
  t.copy_(Tensor::from_vector(v, t.shape(), t.device()));
}

// w ← w ⊙ mask for every masked conv, after every step: one in-place multiply per conv on every
// device, so that the steps between prune/regrow events have no host round trip (and a step
// replayed as a CUDA graph is followed by device work only: senet/epoch_loop.h). A masked
// negative weight becomes −0, on the CPU as on CUDA.
void apply_masks(std::vector<MaskedConv>& convs) {
  NoGradGuard no_grad;
  for (MaskedConv& c : convs) {
    if (!c.mask_values.defined())
      c.mask_values = Tensor::from_vector(std::vector<float>(c.mask.begin(), c.mask.end()),
                                          c.weight.shape(), c.weight.device());
    mul_(c.weight, c.mask_values);
  }
}

// One prune/regrow event at prune rate `rate`, reading |momentum| from the optimizer's state.
void prune_and_regrow(std::vector<MaskedConv>& convs, const Optimizer& opt,
                      const std::string& momentum_buffer, double rate) {
  NoGradGuard no_grad;
  std::map<std::string, Tensor> state;
  for (auto& [k, t] : opt.state()) state.emplace(k, t);  // copies; taken once per event
  const size_t L = convs.size();
  std::vector<std::vector<float>> momentum(L);
  std::vector<int64_t> prune(L), capacity(L);
  std::vector<double> mean_momentum(L);
  int64_t total = 0;
  for (size_t l = 0; l < L; ++l) {
    MaskedConv& c = convs[l];
    auto it = state.find(c.name + "." + momentum_buffer);
    SENET_CHECK(it != state.end(), "sensitivity: the optimizer has no '", c.name, ".",
                momentum_buffer, "' state");
    momentum[l] = it->second.to_vector();
    const int64_t nnz = c.nnz(), n = int64_t(c.mask.size());
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
      if (c.mask[size_t(i)]) sum += std::fabs(double(momentum[l][size_t(i)]));
    mean_momentum[l] = nnz > 0 ? sum / double(nnz) : 0.0;
    prune[l] = std::llround(rate * double(nnz));
    capacity[l] = n - nnz + prune[l];
    total += prune[l];
  }
  std::vector<int64_t> grow = regrowth_shares(mean_momentum, capacity, total);
  for (size_t l = 0; l < L; ++l) {
    edit_on_host(convs[l].weight, [&](float* w) {
      prune_regrow_layer(w, convs[l].mask.data(), momentum[l].data(), int64_t(convs[l].mask.size()),
                         prune[l], grow[l]);
    });
    convs[l].mask_values = Tensor();  // the mask changed
  }
}

}  // namespace

SensitivityResult run_sensitivity(const RunConfig& cfg, const SensitivityConfig& sc,
                                  models::Model& model, const DataBundle& data, uint64_t seed,
                                  bool progress, const std::string& dir) {
  SENET_CHECK(sc.density > 0 && sc.density <= 1, "senet.density must be in (0, 1], got ",
              sc.density);
  SENET_CHECK(sc.epochs >= 1, "senet.sensitivity_epochs must be ≥ 1, got ", sc.epochs);
  SENET_CHECK(sc.prune_every >= 1, "senet.prune_every must be ≥ 1, got ", sc.prune_every);
  SENET_CHECK(sc.prune_rate >= 0 && sc.prune_rate <= 1, "senet.prune_rate must be in [0, 1], got ",
              sc.prune_rate);
  const OptimConfig& oc = cfg.train.optim;
  SENET_CHECK(oc.name == OptimizerKind::Adam || oc.momentum > 0,
              "sensitivity: regrowth follows the momentum, but train.optim.momentum is 0 "
              "(use SGD with momentum > 0, or adam)");
  const std::string momentum_buffer =
      oc.name == OptimizerKind::Adam ? "exp_avg" : "momentum_buffer";

  // Masks on every 4-D parameter (conv weights, shortcut 1×1 convs included).
  std::vector<MaskedConv> convs;
  for (auto& [name, t] : model.named_parameters())
    if (t.ndim() == 4) {
      const uint64_t stream = (uint64_t(0x53454e53) << 32) | uint64_t(convs.size());  // "SENS", l
      convs.push_back({name, t, random_mask(t.numel(), sc.density, seed, stream), Tensor()});
    }
  SENET_CHECK(!convs.empty(), "sensitivity: the model has no conv weights (4-D parameters)");
  apply_masks(convs);

  auto opt = make_optimizer(oc, model);
  auto sched = make_schedule(oc, sc.epochs);
  const Device device = model.device();
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm, seed);
  shard_loader(loader);
  const int64_t nb = loader.batches_per_epoch();
  SENET_CHECK(nb > 0, "train.batch_size (", cfg.train.batch_size,
              ") is larger than the training set (", data.train.n, " images)");
  const int64_t T = nb * sc.epochs;
  int64_t t = 0;  // optimizer steps taken
  std::unique_ptr<RunDir> run;
  if (!dir.empty()) run = std::make_unique<RunDir>(dir, "sensitivity", cfg);
  EpochLoop loop{model, *opt, sched.get(), "sensitivity", sc.epochs, progress};
  // The step is the supervised one; after_step re-applies the masks in place (device work) and,
  // every prune_every steps, prunes and regrows through the host: on CUDA the step is recorded
  // and replayed (senet/epoch_loop.h).
  loop.cuda_graph = cfg.cuda_graph;
  auto body = [&](const data::Batch& b, int64_t) { return cross_entropy_step(model, b, device); };
  auto after_step = [&](const StepOut&, int64_t) {
    apply_masks(convs);
    ++t;
    if (t % sc.prune_every == 0 && t < T)
      prune_and_regrow(convs, *opt, momentum_buffer, prune_rate_at(sc.prune_rate, t, T));
    return false;
  };
  for (int epoch = 0; epoch < sc.epochs; ++epoch) {
    EpochStats st = loop.run(loader, epoch, body, after_step);
    if (run) {
      int64_t nnz = 0, n = 0;
      for (const MaskedConv& c : convs) {
        nnz += c.nnz();
        n += int64_t(c.mask.size());
      }
      json line = st.to_json();
      line["global_density"] = double(nnz) / double(n);
      run->log(line);
    }
  }

  SensitivityResult r;
  std::map<std::string, double> density_of;
  int64_t nnz = 0, n = 0;
  for (const MaskedConv& c : convs) {
    r.layer_density.emplace_back(c.name, c.density());
    r.masks.push_back(c.mask);
    density_of[c.name] = c.density();
    nnz += c.nnz();
    n += int64_t(c.mask.size());
  }
  r.global_density = double(nnz) / double(n);
  for (const models::ReluSite* s : model.sites()) {
    auto it = density_of.find(s->feeding_conv);
    SENET_CHECK(it != density_of.end(), "sensitivity: site '", s->site_name,
                "' names feeding conv '", s->feeding_conv, "', which is not a conv weight");
    r.sites.push_back({s->site_name, s->feeding_conv, s->size(), it->second, 1.0 - it->second});
  }
  if (progress) {
    std::fprintf(stderr, "sensitivity: global density %.4f; per site η:", r.global_density);
    for (const SiteSensitivity& s : r.sites) std::fprintf(stderr, " %.3f", s.eta);
    std::fprintf(stderr, "\n");
  }
  return r;
}

// ---------------------------------------------------------------- JSON and lookup

json to_json(const SensitivityResult& r) {
  json layers = json::array(), sites = json::array();
  for (const auto& [name, d] : r.layer_density) layers.push_back({{"conv", name}, {"density", d}});
  for (const SiteSensitivity& s : r.sites)
    sites.push_back(
        {{"site", s.site}, {"conv", s.conv}, {"size", s.size}, {"alpha", s.alpha}, {"eta", s.eta}});
  return {{"global_density", r.global_density}, {"layers", layers}, {"sites", sites}};
}

SensitivityResult sensitivity_from_json(const json& j, const std::string& file) {
  const JsonReader root(j, file);
  if (!root.is_object()) root.fail_expected("a JSON object");
  const NumberRule fraction = in_range(0, 1, "in [0, 1]");
  SensitivityResult r;
  r.global_density = root.at("global_density").number(fraction);
  const JsonReader layers = root.at("layers");
  for (size_t i = 0; i < layers.size(); ++i)
    r.layer_density.emplace_back(layers[i].at("conv").nonempty_text(),
                                 layers[i].at("density").number(fraction));
  const JsonReader sites = root.at("sites");
  std::set<std::string> seen;
  for (size_t i = 0; i < sites.size(); ++i) {
    const JsonReader e = sites[i];
    SiteSensitivity s;
    s.site = e.at("site").nonempty_text();
    SENET_CHECK(seen.insert(s.site).second, e.at("site").where(), ": '", s.site, "' appears twice");
    s.conv = e.at("conv").nonempty_text();
    s.size = e.at("size").integer(at_least(1));
    s.alpha = e.at("alpha").number(fraction);
    s.eta = e.at("eta").number(fraction);
    r.sites.push_back(std::move(s));
  }
  return r;
}

std::vector<double> counted_eta(const SensitivityResult& r, const models::Model& model) {
  std::map<std::string, const SiteSensitivity*> by_name;
  for (const SiteSensitivity& s : r.sites) by_name[s.site] = &s;
  std::vector<double> eta;
  for (const models::ReluSite* s : model.counted_sites()) {
    auto it = by_name.find(s->site_name);
    SENET_CHECK(it != by_name.end(), "sensitivity result has no site '", s->site_name,
                "' (computed for a different model?)");
    SENET_CHECK(it->second->size == s->size(), "sensitivity result: site '", s->site_name,
                "' has size ", it->second->size, " but the model's has ", s->size(),
                " (computed for a different model or input size?)");
    eta.push_back(it->second->eta);
  }
  return eta;
}

}  // namespace senet
