// senet/masks.h — building, choosing and exporting ReLU masks.
//   random_mask:  exactly k ones at seeded random positions (partial Fisher–Yates on Philox draws)
//   topk_mask:    exactly k ones at the k largest scores; ties go to the lower index, so the mask
//                 is a deterministic function of the scores (docs/method.md §Stage 2)
//   Granularity:  pixel-wise masks are [C,H,W]; channel-wise masks are [C] and keep
//                 k_c = round(r / (H·W)) channels (the resulting count differs from r: reported).
// Export (masks.json): per site the kept positions as ascending flat indices into C×H×W, so a PI
// runtime can gather them, evaluate one batched ReLU per site and scatter back.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/tensor.h"
#include "models/model.h"
#include "senet/config_choices.h"

namespace senet {

std::vector<uint8_t> random_mask(int64_t n, int64_t k, uint64_t seed, uint64_t stream);
std::vector<uint8_t> topk_mask(const std::vector<double>& scores, int64_t k);

// Channels kept for a pixel budget r at a site of H·W pixels per channel.
int64_t channels_for_budget(int64_t r, int64_t hw, int64_t channels);

// Random initial masks at the given per-site counts (counted sites, in order).
void set_random_masks(models::Model& m, const std::vector<int64_t>& counts, Granularity g,
                      uint64_t seed);

// An H×W pattern repeated over the channels, exactly k ones in all: a random set of ⌊k/C⌋
// positions shared by every channel, plus one more position (the same for all of them) in k mod C
// random channels. (The initial mask of the authors' lineage: stage 2 starts from it.)
std::vector<uint8_t> hw_pattern_mask(int64_t C, int64_t H, int64_t W, int64_t k, uint64_t seed,
                                     uint64_t stream);
void set_hw_pattern_masks(models::Model& m, const std::vector<int64_t>& counts, uint64_t seed);

// Kept flat indices of a site's mask (expanded to C×H×W for channel-wise masks).
std::vector<int64_t> kept_indices(const models::ReluSite& s);

nlohmann::json export_masks(const models::Model& m, Granularity g);
void write_mask_export(const std::string& path, const models::Model& m, Granularity g);
// Reads an export and returns one dense u8 [C,H,W] mask per counted site of `m` (validated: site
// names and shapes match, indices in range, strictly ascending, count field consistent).
std::vector<std::vector<uint8_t>> read_mask_export(const std::string& path, const models::Model& m);
// The same for an export's text already in memory (read_mask_export = read_file + this;
// tests/fuzz/fuzz_masks.cpp). `path` is only used in error messages.
std::vector<std::vector<uint8_t>> parse_mask_export(const std::string& text,
                                                    const std::string& path,
                                                    const models::Model& m);

}  // namespace senet
