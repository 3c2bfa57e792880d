// engine/cpu/pram.h — PRAM (post-ReLU activation mismatch), docs/method.md §Stage 3, on the CPU backend.
// Activations A: B×C×H×W (HW = H·W). Per sample b:
//   q_b(hw) = (1/C) Σ_c A²_{b,c,hw}          (a spatial attention map)
//   n_b = ‖q_b‖₂ over HW,   q̂_b = q_b / max(n_b, ε),   ε = 1e-12
//   L = (1/(B·HW)) Σ_b Σ_hw (q̂^S_b − q̂^T_b)²
// Backward (student only), with upstream scalar g:
//   ∂L/∂q̂^S = g · 2(q̂^S − q̂^T)/(B·HW) =: u
//   ∂L/∂q   = (u − q̂ (q̂·u)) / n_b   when n_b ≥ ε   (∂q̂/∂q = (I − q̂q̂ᵀ)/‖q‖),   u/ε when clamped
//   ∂L/∂A   = ∂L/∂q · 2A/C
#pragma once
#include <cstdint>

namespace senet::cpu {

constexpr float kPramEps = 1e-12f;

// qhat: B×HW normalised maps; norm: B values n_b = ‖q_b‖₂ (unclamped).
void pram_attention(const float* A, float* qhat, float* norm, int64_t B, int64_t C, int64_t HW);
// (1/(B·HW)) Σ (qs − qt)²
double pram_distance(const float* qs, const float* qt, int64_t B, int64_t HW);
// dA (B×C×HW) for the student activations A_S, given its qs, norm_s, the teacher's qt and g
// (arguments in the order of the CUDA twin, engine/cuda/cuda_ops.h: inputs, sizes, g, output).
void pram_backward(const float* As, const float* qs, const float* norm_s, const float* qt,
                   int64_t B, int64_t C, int64_t HW, float g, float* dA);

}  // namespace senet::cpu
