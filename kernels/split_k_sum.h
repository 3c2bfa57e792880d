// kernels/split_k_sum.h — the second kernel of every split-K conv whose output is NCHW-like
// (fprop v6, v8, v9 and the prologue conv: y; dgrad v7, v8, v9: dx; kernels/split_k_plan.h for the
// split itself):
//   out[i] = Σ_z workspace[z·n + i] in order z = 0 … splits−1, then + bias[(i / hw) mod channels]
//   (bias may be null), then + residual[i] (may be null).
// One thread per element, coalesced. The fixed order makes every split conv deterministic, and the
// same association for every caller: a split prologue conv equals fprop v6 (v8, v9) of its
// activation, + r.
#pragma once
#include <cstdint>

#include "kernels/kernel_params.h"

namespace senet {

struct split_k_sum_params {
  const float* workspace = nullptr;  // splits × n floats
  int splits = 1;
  int64_t n = 0;                    // elements of out
  const float* bias = nullptr;      // per channel, or null
  int64_t hw = 1, channels = 1;     // out's H·W and channel count (for the bias index)
  const float* residual = nullptr;  // n floats, or null
  float* out = nullptr;
};

cudaError_t split_k_sum(const split_k_sum_params& p, cudaStream_t stream);

}  // namespace senet
