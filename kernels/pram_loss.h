// kernels/pram_loss.h — PRAM, post-ReLU activation mismatch (docs/method.md §Stage 3; see pram_loss.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

constexpr float kPramEpsilon = 1e-12f;  // = engine/cpu/pram.h kPramEps

// forward: q_b = (1/C) Σ_c A_b,c², q̂_b = q_b / max(‖q_b‖₂, ε) for student and teacher;
//   loss[0] = (1/(B·HW)) Σ_b Σ_hw (q̂^S − q̂^T)².  qs/qt/norm_s are kept for the backward.
struct pram_forward_params {
  const float* a_s = nullptr;  // student activations B×C×HW
  const float* a_t = nullptr;  // teacher activations B×C×HW
  int64_t B = 0, C = 0, HW = 0;
  float* qs = nullptr;        // B×HW out
  float* qt = nullptr;        // B×HW out
  float* norm_s = nullptr;    // B out (‖q_b‖, unclamped)
  float* norm_t = nullptr;    // B out
  float* row_dist = nullptr;  // B workspace: Σ_hw (q̂^S − q̂^T)² per sample
  float* loss = nullptr;      // 1 out
};
cudaError_t pram_forward_launch(pram_forward_params p, cudaStream_t stream);

// backward (student only), g = scale · (*grad_loss, or 1 when null):
//   u = 2g(q̂^S − q̂^T)/(B·HW);  dq = (u − q̂(q̂·u))/n_b  (n_b ≥ ε)  or u/ε (clamped);  dA = dq·2A/C
struct pram_backward_params {
  const float* a_s = nullptr;
  const float* qs = nullptr;
  const float* norm_s = nullptr;
  const float* qt = nullptr;
  int64_t B = 0, C = 0, HW = 0;
  const float* grad_loss = nullptr;  // device scalar, may be null
  float scale = 1.f;
  float* dq = nullptr;  // B×HW workspace
  float* da = nullptr;  // B×C×HW out (overwritten)
};
cudaError_t pram_backward_launch(pram_backward_params p, cudaStream_t stream);

}  // namespace senet
