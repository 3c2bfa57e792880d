// senet/sensitivity.h — SENet stage 1: ReLU sensitivity from sparse-momentum training
// (docs/method.md §Stage 1; Dettmers & Zettlemoyer's sparse momentum for the prune/regrow rule).
// A copy of the teacher is trained with every conv weight (each 4-D parameter) behind a binary mask;
// BN, biases and FC stay dense. Every layer starts at density d (exactly round(d·n_l) random
// positions, Philox-seeded). After each optimizer step w ← w ⊙ mask. Every `prune_every` steps t
// (not at t = 0, not after the last step T):
//   rate_t = prune_rate · (1 + cos(π·t/T)) / 2                       (cosine decay to 0)
//   p_l    = round(rate_t · nnz_l)     smallest-|w| active weights of layer l are pruned
//   P      = Σ p_l is regrown. Layer l gets g_l ∝ mean |momentum_l| over its active weights (taken
//            before this prune), by largest remainder, capped at its inactive count (the excess
//            goes to the other layers); within the layer at the inactive positions of largest
//            |momentum| (ties: lower index; a just-pruned weight may come back), weights set to 0.
// Gradients are dense, so the momentum of inactive weights keeps accumulating (a regrown weight
// keeps its momentum: its next step moves it off 0). Σ nnz_l never changes: the global density
// stays exactly Σ round(d·n_l) / Σ n_l.
// Result per site l: α_l = final density of the conv feeding it (ReluSite::feeding_conv),
// sensitivity η_l = 1 − α_l (a layer that prunes easily needs many ReLUs).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "senet/config.h"
#include "senet/trainer.h"

namespace senet {

struct SensitivityConfig {
  double density = 0.1;  // global conv-weight density d, in (0, 1]
  int epochs = 1;
  int prune_every = 100;    // optimizer steps between prune/regrow events
  double prune_rate = 0.5;  // initial fraction of each layer's active weights pruned, in [0, 1]
  // optimizer, learning rate, schedule and batch size come from RunConfig.train
};

struct SiteSensitivity {
  std::string site;  // ReluSite::site_name
  std::string conv;  // the feeding conv weight's dotted name
  int64_t size = 0;  // ReLUs of the site (C·H·W)
  double alpha = 0;  // final density of `conv`
  double eta = 0;    // 1 − alpha
};

struct SensitivityResult {
  std::vector<SiteSensitivity> sites;                         // every site, network order
  std::vector<std::pair<std::string, double>> layer_density;  // every conv weight, parameter order
  double global_density = 0;
  // Final 0/1 mask of each layer_density entry (in memory only, not in the JSON).
  std::vector<std::vector<uint8_t>> masks;
};

// Sparse-trains `model` (a copy of the teacher, weights loaded) in place on data.train.
// Deterministic for (seed, thread count). The optimizer must keep a momentum (SGD with
// momentum > 0: "momentum_buffer"; Adam: its first moment "exp_avg"). With `dir`, one line per
// epoch goes to dir/metrics.jsonl (senet/run_dir.h; the stage keeps no checkpoint: the pipeline
// caches its result, sensitivity.json, and an interrupted stage 1 starts again).
SensitivityResult run_sensitivity(const RunConfig& cfg, const SensitivityConfig& sc,
                                  models::Model& model, const DataBundle& data, uint64_t seed,
                                  bool progress, const std::string& dir = "");

nlohmann::json to_json(const SensitivityResult& r);
// Strict: errors name the file and the key ("sens.json: sites[3].eta: expected a number in [0,1]").
SensitivityResult sensitivity_from_json(const nlohmann::json& j,
                                        const std::string& file_for_errors);

// η of the model's counted sites, in site order (the allocator's input). A site missing from the
// result, or with a different size, is an error naming it.
std::vector<double> counted_eta(const SensitivityResult& r, const models::Model& model);

// --- the pieces, as pure functions (unit-tested on hand-made numbers)

// rate_t = prune_rate · (1 + cos(π·t/T)) / 2, t clamped to [0, T].
double prune_rate_at(double prune_rate, int64_t t, int64_t T);

// Exactly round(density·n) ones at positions chosen by Philox(seed, stream): the k elements with
// the smallest random key (ties: lower index).
std::vector<uint8_t> random_mask(int64_t n, double density, uint64_t seed, uint64_t stream);

// Splits `total` units among layers ∝ score_l (all scores 0: equally), each capped at capacity_l
// (water-filling: a layer over its cap is fixed there and the rest re-split among the others),
// rounded by largest remainder (ties: lower index) so that Σ share = total exactly.
std::vector<int64_t> regrowth_shares(const std::vector<double>& score,
                                     const std::vector<int64_t>& capacity, int64_t total);

// One layer, n weights: zero and deactivate the `prune` active weights of smallest |w| (ties: lower
// index), then activate the `grow` inactive positions (just-pruned ones included) of largest
// |momentum| (ties: lower index), with weight 0. Errors if prune > nnz or grow > n − nnz + prune.
void prune_regrow_layer(float* w, uint8_t* mask, const float* momentum, int64_t n, int64_t prune,
                        int64_t grow);

}  // namespace senet
