// kernels/softmax_xent.h — softmax cross-entropy over int32 labels (see softmax_xent.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// forward: probs = softmax(z) (N×K, saved for the backward); row_loss[n] = lse_n − z[n, y_n];
//          loss[0] = (1/N) Σ_n row_loss[n].
// Labels outside [0, K): the kernel records the lowest such row in *bad_row (UINT32_MAX = none)
// and gives that row a NaN loss. With check_labels the launcher waits for the stream, reads the
// flag and returns cudaErrorInvalidValue (bad row in *bad_row_out when given); without it the
// caller may read bad_row itself later (no synchronisation in the launcher).
struct softmax_xent_params {
  const float* logits = nullptr;    // N×K
  const int32_t* labels = nullptr;  // N
  int64_t N = 0, K = 0;
  float* probs = nullptr;       // N×K out
  float* row_loss = nullptr;    // N workspace / out
  float* loss = nullptr;        // 1 out
  uint32_t* bad_row = nullptr;  // 1 device word
  bool check_labels = true;
};
cudaError_t softmax_xent_forward_launch(softmax_xent_params p, cudaStream_t stream,
                                        int64_t* bad_row_out = nullptr);

// backward: dz = g·(probs − onehot(y))/N with g = scale · (*grad_loss, or 1 when null).
// (The loss's upstream gradient lives on the device: no host round trip.)
struct softmax_xent_backward_params {
  const float* probs = nullptr;
  const int32_t* labels = nullptr;
  int64_t N = 0, K = 0;
  const float* grad_loss = nullptr;  // device scalar, may be null
  float scale = 1.f;
  float* dz = nullptr;  // N×K out (overwritten)
};
cudaError_t softmax_xent_backward_launch(softmax_xent_backward_params p, cudaStream_t stream);

}  // namespace senet
