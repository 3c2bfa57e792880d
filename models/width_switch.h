// models/width_switch.h — dynamic channel reduction (docs/method.md §Dynamic channel reduction):
// a width-switchable model keeps its full-width weights and at width factor s uses the first ⌊s·C⌋
// channels of every layer (conv weight W[:⌊s·K⌋, :⌊s·C⌋], the stem's input channels stay those of
// the image; FC W[:, :⌊s·F⌋]), one BatchNorm parameter set (γ, β, running stats) per factor, and
// each ReLU site's mask sliced to its first ⌊s·C⌋ channels. Factors are multiples of 0.01 in (0, 1] and always include 1.
// Checkpoint names: the full-width set keeps the plain names ("bn1.weight"); factor s < 1 is the
// child "w" + 3 digits of 100·s ("bn1.w050.weight", ⌊s·C⌋ channels), so a plain checkpoint loads
// into a switchable model (the factor sets then start from the full set's first channels).
#pragma once
#include <string>
#include <vector>

namespace senet::models {

// Hundredths of a factor (0.5 → 50); rejects a factor that is not a multiple of 0.01 in (0, 1].
int width_percent(float s, const std::string& where);
// ⌊s·C⌋, computed exactly from the factor's hundredths.
inline int width_channels(int C, int percent) { return int((int64_t(C) * percent) / 100); }
// "w050" for 0.5: the child name of a factor's BN set.
std::string width_set_name(int percent);
// For a tensor inside a factor's BN set, the name of its full-width counterpart
// ("layer1.0.bn1.w050.running_mean" → "layer1.0.bn1.running_mean"); "" for any other name.
std::string full_width_name(const std::string& name);
// Checks a model's factor list (strictly increasing, multiples of 0.01 in (0, 1], containing 1);
// `where` names the list in the error ("model.width_factors").
void check_width_factors(const std::vector<float>& factors, const std::string& where);

}  // namespace senet::models
