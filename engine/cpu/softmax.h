// engine/cpu/softmax.h — row-wise softmax over logits z (N×K) and the two losses built on it.
// Numerically stable: with m = max_k z_k/T and lse = m + log Σ_k exp(z_k/T − m),
//   log p_k = z_k/T − lse,   p_k = exp(log p_k)                      (never exp of a large number)
// Cross-entropy (labels y_n ∈ [0,K), checked by the caller):
//   L = −(1/N) Σ_n log p_{n,y_n}                 ∂L/∂z = (p − onehot(y)) / N
// Knowledge distillation at temperature T (student s, teacher t, p = softmax(z/T)):
//   L = T² · (1/N) Σ_n Σ_k p^t (log p^t − log p^s)      ∂L/∂z_s = (T/N)(p^s − p^t)
// Sums are accumulated in double; rows run in parallel, merged in row order (reproducible).
// The KD pair takes its arguments in the order of its CUDA twins (engine/cuda/cuda_ops.h): inputs,
// sizes, parameters, outputs.
#pragma once
#include <cstdint>

namespace senet::cpu {

// p and/or logp may be null.
void softmax_rows(const float* z, float inv_T, float* p, float* logp, int64_t N, int64_t K);

// Returns the mean CE; writes p = softmax(z) (N×K) for the backward.
double cross_entropy_forward(const float* z, const int32_t* labels, float* p, int64_t N, int64_t K);
// dz = g · (p − onehot(y)) / N
void cross_entropy_backward(const float* p, const int32_t* labels, float g, float* dz, int64_t N,
                            int64_t K);

// Returns the KD loss; writes p_s, p_t (N×K) for the backward.
double kd_forward(const float* zs, const float* zt, int64_t N, int64_t K, float T, float* ps,
                  float* pt);
// dz_s = g · (T/N) · (p_s − p_t)
void kd_backward(const float* ps, const float* pt, int64_t N, int64_t K, float T, float g,
                 float* dzs);

}  // namespace senet::cpu
