// senet/allocation.h — how many ReLUs each site keeps for a global budget R (docs/method.md §Allocation).
// Proportional to sensitivity η with water-filling saturation at each site's size N_l:
//   repeat { r_l = R_free · η_l / Σ_free η;  sites with r_l > N_l are fixed at N_l and removed }
// then round down and hand the leftover units to unsaturated sites with the largest fractional
// parts (ties: lower site index), so that Σ r_l = R exactly.
// Uniform allocation (the ablation): the same keep fraction R / ΣN everywhere, rounded the same way.
// R < 0 or R > ΣN_l is an error; so is a negative η or a mismatch of η and sizes.
#pragma once
#include <cstdint>
#include <vector>

namespace senet {

std::vector<int64_t> allocate_relus(const std::vector<double>& eta,
                                    const std::vector<int64_t>& sizes, int64_t budget);
std::vector<int64_t> allocate_uniform(const std::vector<int64_t>& sizes, int64_t budget);

}  // namespace senet
