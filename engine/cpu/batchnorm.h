// engine/cpu/batchnorm.h — BatchNorm (per channel over N·H·W) fused with an optional residual add
// and an optional (masked) ReLU, on the CPU. y, a: N×C×HW; M = N·HW values per channel.
//   Statistics (training): μ_c = Σy/M, σ²_c = Σ(y−μ_c)²/M (biased), computed stably: each contiguous
//     segment (one image's HW values) by two passes (mean, then Σ(y−mean)²), segments merged with
//     Chan et al.'s formula  n = nₐ+n_b, δ = μ_b−μₐ, μ = μₐ + δ·n_b/n, M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n
//     (never Σy²/M − μ², which cancels catastrophically when |μ| ≫ σ).
//   Forward:  z = (y−μ_c)·s_c + β_c (+ r),  s_c = γ_c·invstd_c,  invstd_c = 1/√(σ²_c+ε);  a = act(z)
//   Backward: dz = p ? da : 0 (p: the pass bit of the activation, engine/cpu/activation.h)
//     dβ_c = Σdz,  dγ_c = Σdz·x̂  (x̂ = (y−μ_c)·invstd_c)
//     training: dy = s_c·(dz − dβ_c/M − x̂·dγ_c/M);   eval (μ, σ fixed): dy = s_c·dz;   dr = dz
#pragma once
#include <cstdint>

#include "kernels/act.h"

namespace senet::cpu {

// Count, mean and sum of squared deviations of a set of values.
struct MeanM2 {
  double n = 0, mean = 0, m2 = 0;
};
void merge(MeanM2& a, const MeanM2& b);                    // Chan's parallel formula; a ← a ∪ b
MeanM2 segment_mean_m2(const float* y, int64_t n);         // two passes over n contiguous values
MeanM2 segment_mean_m2_scalar(const float* y, int64_t n);  // the same, scalar in double (oracle)

// Per-channel mean and biased variance of y (N×C×HW). Threads split the channels; each channel's
// N segments are merged in image order, so the result does not depend on the thread count.
void bn_stats(const float* y, int64_t N, int64_t C, int64_t HW, float* mean, float* var);
// The same before rounding: acc[c] = (M, μ_c, M2_c) in double (data-parallel BN merges these
// across ranks, engine/dist/sync_bn.h). bn_stats = bn_stats_acc, then mean_var().
void bn_stats_acc(const float* y, int64_t N, int64_t C, int64_t HW, MeanM2* acc);
void mean_var(const MeanM2* acc, int64_t C, float* mean, float* var);  // μ, biased σ² = M2/n

// The per-channel affine map and activation of one fused BN(-add)-act.
struct BnAct {
  int64_t N, C, HW;
  const float* mean;    // μ_c  (batch statistics in training, running mean in eval)
  const float* invstd;  // 1/√(σ²_c+ε)
  const float* gamma;
  const float* beta;
  Act act = Act::None;
  const uint8_t* mask = nullptr;  // Act::MaskedReLU only: per-element mask (C·HW bytes)
  int64_t count = 0;  // M of the backward's dβ/M, dγ/M: 0 means N·HW; the whole batch's count
                      // when the statistics span several ranks (engine/dist/sync_bn.h)
};

// a = act((y−μ)·s + β + residual); residual may be nullptr; bits (pass bits, bit_words(N·C·HW)
// words) may be nullptr (no backward, or no activation).
void bn_act_forward(const BnAct& p, const float* y, const float* residual, float* a,
                    uint64_t* bits);

// dγ_c = Σ dz·x̂, dβ_c = Σ dz over the whole batch (bits nullptr: dz = da). Threads split channels.
void bn_act_grad_reduce(const BnAct& p, const float* da, const uint64_t* bits, const float* y,
                        float* dgamma, float* dbeta);

// One row (image n, channel c: `len` = HW values at flat offset i0 = (n·C+c)·HW; da, y and the
// outputs point at the row): dy = s·(dz − mdb − x̂·mdg) with mdb = dβ/M, mdg = dγ/M (0 in eval).
// dz_out (the residual's gradient) may be nullptr.
void bn_act_grad_row(const float* da, const uint64_t* bits, int64_t i0, const float* y, int64_t len,
                     float mean, float invstd, float s, float mdb, float mdg, float* dy,
                     float* dz_out);
void bn_act_grad_row_scalar(const float* da, const uint64_t* bits, int64_t i0, const float* y,
                            int64_t len, float mean, float invstd, float s, float mdb, float mdg,
                            float* dy, float* dz_out);

// Whole-tensor backward: dy (and dz when non-null) for every row, threads over rows.
void bn_act_backward(const BnAct& p, const float* da, const uint64_t* bits, const float* y,
                     const float* dgamma, const float* dbeta, bool training, float* dy, float* dz);

}  // namespace senet::cpu
