// engine/ops/async_readback.cpp — see async_readback.h.
#include "engine/ops/async_readback.h"

#include "engine/ops/dispatch.h"

namespace senet {

AsyncReadback::AsyncReadback(int64_t max_elements) : max_elements_(max_elements) {
  SENET_CHECK(max_elements > 0, "AsyncReadback: ", max_elements, " elements");
  SENET_CHECK(cuda_ops() != nullptr, "AsyncReadback: no CUDA backend in this process");
  handle_ = cuda().readback_create(size_t(max_elements) * sizeof(float));
}

AsyncReadback::~AsyncReadback() {
  if (handle_) cuda().readback_destroy(handle_);
}

void AsyncReadback::enqueue(const Tensor& t) {
  check_dtype("AsyncReadback", t, DType::F32, "tensor");
  SENET_CHECK(t.is_cuda() && t.numel() <= max_elements_, "AsyncReadback: a CUDA tensor of at most ",
              max_elements_, " elements, got ", t.shape(), " on ", device_name(t.device()));
  SENET_CHECK(!pending_, "AsyncReadback: the previous copy was not polled yet");
  cuda().readback_enqueue(handle_, t.read<float>(), size_t(t.numel()) * sizeof(float));
  pending_ = true;
}

const float* AsyncReadback::poll() {
  if (!pending_) return nullptr;
  const void* h = cuda().readback_poll(handle_);
  if (!h) return nullptr;
  pending_ = false;
  return static_cast<const float*>(h);
}

}  // namespace senet
