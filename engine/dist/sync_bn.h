// engine/dist/sync_bn.h — BatchNorm over the whole batch of a data-parallel step.
// Each rank holds M_r = N_r·H·W values per channel; training-mode BN must normalise with the
// statistics of all Σ_r M_r of them, or the model a run produces would depend on how many
// processes computed it.
//   forward:  every rank's (M_r, μ_r, M2_r), in double, is gathered and merged in rank order with
//             Chan's formula (engine/cpu/batchnorm.h), so every rank gets the same μ, σ²;
//   backward: dx needs the whole batch's Σdz and Σdz·x̂ (the dβ, dγ sums): one all-reduce of 2C
//             values; the dγ, dβ returned as parameter gradients stay this rank's own, since the
//             gradient reducer (engine/dist/grad_reducer.h) averages those.
// With per-rank statistics (set_sync_batchnorm(false), PyTorch's plain BatchNorm under DDP) nothing
// crosses ranks: faster, and the result then depends on the world size.
#pragma once
#include <cstdint>

#include "engine/cpu/batchnorm.h"

namespace senet::dist {

void set_sync_batchnorm(bool on);  // default on
bool sync_batchnorm();
// True when training-mode BN must synchronise now: several ranks and sync_batchnorm().
bool bn_synchronised();

// acc: C per-channel (count, mean, M2) of this rank's values, in double and unrounded, replaced
// by those of the whole batch (merged in rank order, the same bytes on every rank); returns the
// whole batch's count Σ_r M_r. (Double, not the rounded float μ, σ²: the whole-batch mean then
// rounds to the same float as a single process's almost always, which keeps ReLU pass bits of
// values at the mean the same.)
int64_t sync_bn_statistics(cpu::MeanM2* acc, int64_t C);
// dgamma, dbeta: this rank's Σdz·x̂ and Σdz per channel, replaced by the whole batch's sums.
void sync_bn_grad_sums(float* dgamma, float* dbeta, int64_t C);

}  // namespace senet::dist
