// kernels/masked_relu.h — standalone masked ReLU / ReLU and SNL's alpha-ReLU (see masked_relu.cu).
// Pass bits: the layout of kernels/kernel_params.h (element i of the flattened tensor → bit i%32 of
// uint32 word i/32; bits past n are 0; byte-for-byte the CPU backend's uint64 bits).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"
#include "kernels/kernel_params.h"

namespace senet {

// forward: p = (mask == null) || m == 0 || x > 0;  y = p ? x : 0;  bits ← p (if bits != null)
// x, y: n = N·L elements (N images of L = C·H·W). mask (u8, 0/1): null (plain ReLU), per element
// (L bytes, mask_hw = 0), or per channel (L/mask_hw bytes, mask_hw = H·W, broadcast over H×W).
struct masked_relu_params {
  const float* x = nullptr;
  float* y = nullptr;        // may alias x
  uint32_t* bits = nullptr;  // pass_bits_words(n) words, may be null
  const uint8_t* mask = nullptr;
  int64_t n = 0;
  int64_t L = 0;        // elements per image
  int64_t mask_hw = 0;  // 0: mask has L entries; else per-channel, mask[(i mod L)/mask_hw]
};
cudaError_t masked_relu_forward_launch(masked_relu_params p, cudaStream_t stream);

// backward: dx = bit(i) ? dy : 0
struct masked_relu_backward_params {
  const float* dy = nullptr;
  const uint32_t* bits = nullptr;
  float* dx = nullptr;  // may alias dy
  int64_t n = 0;
};
cudaError_t masked_relu_backward_launch(masked_relu_backward_params p, cudaStream_t stream);

inline cudaError_t relu_forward_launch(const float* x, float* y, uint32_t* bits, int64_t n,
                                       cudaStream_t stream) {  // mask all ones
  return masked_relu_forward_launch({x, y, bits, nullptr, n, n, 0}, stream);
}

// SNL alpha-ReLU, x: N×P, α: P (= C·H·W, shared by the batch):
//   y = α·relu(x) + (1−α)·x  (= x > 0 ? x : (1−α)·x)
//   dx = dy·(x > 0 ? 1 : 1−α);  dα[p] = Σ_n dy·(relu(x) − x) = −Σ_n [x ≤ 0]·dy·x  (overwritten)
struct alpha_relu_params {
  const float* x = nullptr;
  const float* alpha = nullptr;
  float* y = nullptr;         // forward out
  const float* dy = nullptr;  // backward in
  float* dx = nullptr;        // backward out, may be null
  float* dalpha = nullptr;    // backward out, may be null
  int64_t N = 0, P = 0;
};
cudaError_t alpha_relu_forward_launch(alpha_relu_params p, cudaStream_t stream);
cudaError_t alpha_relu_backward_launch(alpha_relu_params p, cudaStream_t stream);

}  // namespace senet
