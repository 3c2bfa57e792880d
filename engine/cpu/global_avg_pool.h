// engine/cpu/global_avg_pool.h — global average pooling over H×W (CPU backend, threaded over N·C).
//   forward:  y[n,c] = (1/HW) Σ_{h,w} x[n,c,h,w]            x: N×C×H×W, y: N×C
//   backward: dx[n,c,h,w] = dy[n,c] / HW                     (every position gets an equal share)
#pragma once
#include <cstdint>

namespace senet::cpu {

void global_avg_pool_forward(const float* x, float* y, int64_t NC, int64_t HW);
void global_avg_pool_backward(const float* dy, float* dx, int64_t NC, int64_t HW);

}  // namespace senet::cpu
