// engine/cpu/linear.h — fully connected layer on the CPU backend (PyTorch weight layout O×F).
//   forward:  y[N×O] = x[N×F] · wᵀ + b          (sgemm, then a row-broadcast bias add)
//   backward: dx[N×F] = dy · w                  dw[O×F] = dyᵀ · x        db[O] = Σ_n dy[n,:]
#pragma once
#include <cstdint>

namespace senet::cpu {

// b may be null (no bias).
void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t N, int64_t F,
                    int64_t O);
// Any of dx, dw, db may be null (that gradient is not needed). Outputs are overwritten.
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                     float* db, int64_t N, int64_t F, int64_t O);

}  // namespace senet::cpu
