// engine/ops/async_readback.h — reading a small device tensor on the host without waiting for the
// device: enqueue() copies it into page-locked host memory behind everything enqueued so far;
// poll() hands back that copy once it has landed (null while it has not, and after it was handed
// back once). No autograd. For senet/step_metrics.h's one-step-late finite check: each step
// enqueues its row, the next step polls it — a device→host copy on the GPU's copy engine that no
// step ever waits for (emu::host_waits() does not count it; a pageable copy it would).
// CUDA tensors only (engine/cuda/readback.cpp); on the CPU a reader needs no such thing.
//   AsyncReadback r(max_elements);
//   r.enqueue(t);                      t: F32 (a tensor or a row slice) on CUDA, ≤ max_elements
//   if (const float* h = r.poll()) …   h[0 .. t.numel()) as t was when enqueued
#pragma once
#include <cstdint>

#include "engine/core/tensor.h"

namespace senet {

class AsyncReadback {
 public:
  explicit AsyncReadback(int64_t max_elements);
  ~AsyncReadback();
  AsyncReadback(const AsyncReadback&) = delete;
  AsyncReadback& operator=(const AsyncReadback&) = delete;

  // Fails if a copy is still pending (poll it first): its mirror would be overwritten.
  void enqueue(const Tensor& t);
  const float* poll();
  bool pending() const { return pending_; }

 private:
  void* handle_ = nullptr;
  int64_t max_elements_ = 0;
  bool pending_ = false;
};

}  // namespace senet
