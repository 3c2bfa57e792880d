// kernels/bn_stats.h — per-channel batch statistics of y (N×K×P×Q) as per-tile partials
// (count, mean, M2), to be merged by kernels/bn_finalize.h. The fused conv kernel
// (kernels/conv_bn_mrelu_fwd.h) writes the same partials from its epilogue instead.
#pragma once
#include "kernels/kernel_params.h"

namespace senet {

struct bn_stats_params {
  int N = 0, K = 0, PQ = 0;  // y: N×K×PQ; per channel M = N·PQ values
  SENET_HD int64_t M() const { return int64_t(N) * PQ; }
  SENET_HD int64_t size() const { return int64_t(N) * K * PQ; }
};

// Partials of a channel's values: tile t of channel k at [t·K + k] of each array
// (num_partials × K floats each): count, mean and M2 = Σ(v − mean)² over the tile.
struct bn_partials {
  float* count = nullptr;
  float* mean = nullptr;
  float* m2 = nullptr;
};

inline constexpr int kBnStatsTile = 1024;  // (n, p, q) values per tile (one block per tile)
inline int64_t bn_stats_num_partials(const bn_stats_params& p) {
  return (p.M() + kBnStatsTile - 1) / kBnStatsTile;
}

// Writes bn_stats_num_partials(p) × K partials.
cudaError_t bn_stats_partials(bn_stats_params p, const float* y, bn_partials out,
                              cudaStream_t stream);

}  // namespace senet
