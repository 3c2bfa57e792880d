// engine/cuda/glue.h — what the glue's .cpp files share (glue-internal: includes the CUDA runtime).
// One stream for everything the engine enqueues (kernels, device-to-device copies, memsets), so
// program order is stream order: a buffer returned to the caching allocator right after the call
// that reads it is only reused by work enqueued later on the same stream.
#pragma once
#include <algorithm>
#include <cstdint>

#include "engine/cuda/cuda_check.h"
#include "engine/cuda/cuda_ops.h"

namespace senet::cuda::detail {

cudaStream_t stream();
void* device_alloc(size_t bytes);
void device_free(void* p);
CudaOps make_ops_table();

// Temporary device memory (workspaces) of n elements (at least one), from the caching allocator.
template <class T>
class Scratch {
 public:
  explicit Scratch(int64_t n)
      : p_(static_cast<T*>(device_alloc(size_t(std::max<int64_t>(n, 1)) * sizeof(T)))) {}
  ~Scratch() { device_free(p_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return p_; }
  operator T*() const { return p_; }

 private:
  T* p_;
};

}  // namespace senet::cuda::detail
