// kernels/linear.h — fully connected layer on the GPU: bias helpers plus forward/backward built on
// sgemm (see linear.cu). Engine layout (PyTorch): x N×F, w O×F, b O, y N×O, all row-major.
// Row-major X (r×c) is column-major Xᵀ (c×r) in the same memory, so
//   y = x·wᵀ   ⇔  yᵀ(O×N) = op_T(w as F×O)·(x as F×N)    sgemm(T, N, m=O, n=N, k=F)
//   dx = dy·w  ⇔  dxᵀ(F×N) = (w as F×O)·(dy as O×N)        sgemm(N, N, m=F, n=N, k=O)
//   dw = dyᵀx  ⇔  dwᵀ(F×O) = (x as F×N)·op_T(dy as O×N)    sgemm(N, T, m=F, n=O, k=N)
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"
#include "kernels/gemm.h"

namespace senet {

// y[n,o] += b[o]
struct bias_add_params {
  float* y = nullptr;
  const float* b = nullptr;
  int64_t N = 0, O = 0;
};
cudaError_t bias_add_launch(bias_add_params p, cudaStream_t stream);

// db[o] = Σ_n dy[n,o] (+ db[o] when accumulate): column sums, deterministic (fixed order).
struct bias_grad_params {
  const float* dy = nullptr;
  float* db = nullptr;
  int64_t N = 0, O = 0;
  bool accumulate = false;
};
cudaError_t bias_grad_launch(bias_grad_params p, cudaStream_t stream);

struct linear_params {
  const float* x = nullptr;   // N×F
  const float* w = nullptr;   // O×F
  const float* b = nullptr;   // O, may be null (forward)
  float* y = nullptr;         // N×O (forward output)
  const float* dy = nullptr;  // N×O (backward input)
  float* dx = nullptr;        // N×F, may be null (backward)
  float* dw = nullptr;        // O×F, may be null
  float* db = nullptr;        // O, may be null
  int N = 0, F = 0, O = 0;
  bool accumulate = false;  // backward: add into dx/dw/db instead of overwriting
  sgemm_impl impl = sgemm_impl::automatic;
};
cudaError_t linear_forward_launch(linear_params p, cudaStream_t stream);   // y = x·wᵀ + b
cudaError_t linear_backward_launch(linear_params p, cudaStream_t stream);  // dx, dw, db

}  // namespace senet
