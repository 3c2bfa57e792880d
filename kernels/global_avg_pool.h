// kernels/global_avg_pool.h — global average pooling over H×W (see global_avg_pool.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// forward:  y[nc] = (1/HW) Σ_hw x[nc, hw]      x: NC×HW (= N×C×H×W), y: NC (= N×C)
// backward: dx[nc, hw] = dy[nc] / HW           (overwrites dx)
struct global_avg_pool_params {
  const float* x = nullptr;  // forward input  / backward dy (NC)
  float* y = nullptr;        // forward output / backward dx (NC×HW)
  int64_t NC = 0;
  int64_t HW = 0;
};
cudaError_t global_avg_pool_forward_launch(global_avg_pool_params p, cudaStream_t stream);
cudaError_t global_avg_pool_backward_launch(global_avg_pool_params p, cudaStream_t stream);

}  // namespace senet
