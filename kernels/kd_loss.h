// kernels/kd_loss.h — knowledge-distillation loss at temperature T (see kd_loss.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// forward: ps = softmax(zs/T), pt = softmax(zt/T) (N×K each, saved for the backward);
//          row_kl[n] = Σ_k pt (log pt − log ps);  loss[0] = T²·(1/N) Σ_n row_kl[n]
struct kd_forward_params {
  const float* zs = nullptr;  // student logits N×K
  const float* zt = nullptr;  // teacher logits N×K
  int64_t N = 0, K = 0;
  float T = 1.f;
  float* ps = nullptr;
  float* pt = nullptr;
  float* row_kl = nullptr;  // N workspace / out
  float* loss = nullptr;    // 1 out
};
cudaError_t kd_forward_launch(kd_forward_params p, cudaStream_t stream);

// backward: dzs = g·(T/N)·(ps − pt) with g = scale · (*grad_loss, or 1 when null).
struct kd_backward_params {
  const float* ps = nullptr;
  const float* pt = nullptr;
  int64_t N = 0, K = 0;
  float T = 1.f;
  const float* grad_loss = nullptr;  // device scalar, may be null
  float scale = 1.f;
  float* dzs = nullptr;  // N×K out (overwritten)
};
cudaError_t kd_backward_launch(kd_backward_params p, cudaStream_t stream);

}  // namespace senet
