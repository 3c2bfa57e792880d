// kernels/l1.h — L1 norm Σ|x| and its subgradient (SNL's λ·Σ|α|; see l1.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// forward: out[0] = Σ|x| (fixed-order double accumulation, reduce.h sum with reduce_op::abs);
//   partials: sum_partials_count(n) doubles (may be null when that is 1); out_double optional.
struct l1_forward_params {
  const float* x = nullptr;
  int64_t n = 0;
  float* out = nullptr;
  double* out_double = nullptr;
  double* partials = nullptr;
};
cudaError_t l1_forward_launch(l1_forward_params p, cudaStream_t stream);

// backward: dx = g·sign(x), sign(0) = 0 (NaN → 0), g = scale · (*grad_loss, or 1 when null)
struct l1_backward_params {
  const float* x = nullptr;
  const float* grad_loss = nullptr;  // device scalar, may be null
  float scale = 1.f;
  float* dx = nullptr;  // overwritten, may alias x
  int64_t n = 0;
};
cudaError_t l1_backward_launch(l1_backward_params p, cudaStream_t stream);

}  // namespace senet
