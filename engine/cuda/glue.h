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

// The caching allocator's frees so far, and the value that count took when block p was last freed
// (0: never freed — a fresh cudaMalloc). Every earlier user of a recycled block was enqueued
// before its last free.
uint64_t free_count();
uint64_t last_free_of(const void* p);

// Graph pools of the caching allocator (engine/cuda/graph.cpp): blocks allocated or freed while
// `pool` records are kept for that graph until allocator_release_pool(pool).
void allocator_set_recording(uint64_t pool);  // 0: no recording
void allocator_release_pool(uint64_t pool);
// The name of the graph being recorded, or null (engine/cuda/graph.cpp). Host↔device copies
// refuse to run inside a recording.
const char* recording_graph();

// Host → device copy of `bytes` into `dst` without a host wait: pinned staging on the copy stream,
// ordered after dst's earlier users and before everything enqueued on stream() afterwards
// (engine/cuda/upload.cpp). dst_is_new: dst is a block just allocated for this copy, unused since
// (its earlier users are those of its last free); else everything enqueued so far may use it.
// init_upload() once, after stream() exists.
void init_upload();
void upload(void* dst, const void* src, size_t bytes, bool dst_is_new);
cudaStream_t copy_stream();

// Device → host copies into a page-locked mirror, polled without a wait (engine/cuda/readback.cpp;
// the CudaOps::readback_* entries).
void* readback_create(size_t bytes);
void readback_enqueue(void* readback, const void* src, size_t bytes);
const void* readback_poll(void* readback);
void readback_destroy(void* readback);

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
