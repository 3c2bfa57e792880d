// kernels/straight_through.h — a learned ReLU site's mask (SENet's stage 2 with
// senet.mask_learner = ste; models/relu_site.h, SiteMode::Learned): the hard top-k of its scores'
// magnitudes forward, the straight-through estimator backward (see straight_through.cu).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// forward:  mask = top-k of |s| (exactly k ones, ties toward the lower index: topk_mask_launch
//           with magnitude);  y = mask ? 1 : 0
// backward: ds = dy · sign(s),  sign(s) = s < 0 ? −1 : +1   (y's surrogate derivative)
// s, y, dy, ds: n floats; mask: n bytes. workspace: topk_mask_workspace_bytes(n), 256-aligned.
struct straight_through_params {
  const float* s = nullptr;
  int64_t n = 0;
  int64_t k = 0;            // forward: 0 ≤ k ≤ n
  uint8_t* mask = nullptr;  // forward out
  float* y = nullptr;       // forward out
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  const float* dy = nullptr;  // backward in
  float* ds = nullptr;        // backward out, may alias dy
};
cudaError_t straight_through_forward_launch(straight_through_params p, cudaStream_t stream);
cudaError_t straight_through_backward_launch(straight_through_params p, cudaStream_t stream);

}  // namespace senet
