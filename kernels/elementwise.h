// kernels/elementwise.h — element-wise kernels on raw device pointers (see elementwise.cu).
// Every launcher checks its parameters (n ≥ 0, non-null pointers when n > 0) and returns
// cudaErrorInvalidValue instead of launching; n == 0 launches nothing and returns cudaSuccess.
// Outputs may alias inputs element for element (y == a, y == b, y == x): no __restrict__.
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

// y = α·a + β·b. With β == 0, b is not read (may be null); with α == 0, a is not read.
struct axpby_params {
  const float* a = nullptr;
  const float* b = nullptr;
  float* y = nullptr;
  float alpha = 1.f, beta = 1.f;
  int64_t n = 0;
};
cudaError_t axpby_launch(axpby_params p, cudaStream_t stream);

// y = a ⊙ b
struct mul_params {
  const float* a = nullptr;
  const float* b = nullptr;
  float* y = nullptr;
  int64_t n = 0;
};
cudaError_t mul_launch(mul_params p, cudaStream_t stream);

// y = value
struct fill_params {
  float* y = nullptr;
  float value = 0.f;
  int64_t n = 0;
};
cudaError_t fill_launch(fill_params p, cudaStream_t stream);

// y = x (a kernel, so it runs on the stream like every other step; bitwise copy)
struct copy_params {
  const float* x = nullptr;
  float* y = nullptr;
  int64_t n = 0;
};
cudaError_t copy_launch(copy_params p, cudaStream_t stream);

// Convenience forms of axpby.
inline cudaError_t add_launch(const float* a, const float* b, float* y, int64_t n,
                              cudaStream_t stream) {  // y = a + b
  return axpby_launch({a, b, y, 1.f, 1.f, n}, stream);
}
inline cudaError_t scale_launch(const float* x, float s, float* y, int64_t n,
                                cudaStream_t stream) {  // y = s·x
  return axpby_launch({x, nullptr, y, s, 0.f, n}, stream);
}
inline cudaError_t add_inplace_launch(float* y, const float* x, int64_t n,
                                      cudaStream_t stream) {  // y += x (gradient accumulation)
  return axpby_launch({x, y, y, 1.f, 1.f, n}, stream);
}

}  // namespace senet
