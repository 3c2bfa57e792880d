// engine/cuda/readback.cpp — device → host copies that never make the host wait: a page-locked
// mirror of a small device buffer, refreshed by a copy enqueued on the stream (CudaOps::readback_*).
// Why: a copy into pageable memory returns only once it has landed (CUDA Runtime API, "API
// synchronization behavior"), so the host stalls until the device has drained everything queued
// before it. Into cudaMallocHost memory cudaMemcpyAsync returns at once; an event recorded after
// it says when the bytes are there, and cudaEventQuery asks without waiting. The caller polls
// before it enqueues the next copy into the same mirror, so a mirror it reads is never being
// written (one mirror, one copy in flight at most).
#include "engine/cuda/glue.h"

namespace senet::cuda::detail {
namespace {

struct Readback {
  void* host = nullptr;  // cudaMallocHost, `bytes` long
  size_t bytes = 0;
  cudaEvent_t landed = nullptr;  // recorded after the last enqueued copy
  bool pending = false;          // a copy was enqueued and poll has not seen it land
};

}  // namespace

void* readback_create(size_t bytes) {
  auto* r = new Readback;
  r->bytes = std::max<size_t>(bytes, 1);
  SENET_CUDA_CHECK(cudaMallocHost(&r->host, r->bytes));
  SENET_CUDA_CHECK(cudaEventCreateWithFlags(&r->landed, cudaEventDisableTiming));
  return r;
}

void readback_enqueue(void* handle, const void* src, size_t bytes) {
  auto* r = static_cast<Readback*>(handle);
  SENET_CHECK(bytes <= r->bytes, "readback_enqueue: ", bytes, " bytes into a mirror of ", r->bytes);
  SENET_CHECK(recording_graph() == nullptr, "readback_enqueue: inside the recording of graph '",
              recording_graph(), "' (enqueue it after the replay)");
  SENET_CUDA_CHECK(cudaMemcpyAsync(r->host, src, bytes, cudaMemcpyDeviceToHost, stream()));
  SENET_CUDA_CHECK(cudaEventRecord(r->landed, stream()));
  r->pending = true;
}

const void* readback_poll(void* handle) {
  auto* r = static_cast<Readback*>(handle);
  if (!r->pending) return nullptr;
  const cudaError_t e = cudaEventQuery(r->landed);
  if (e == cudaErrorNotReady) {
    (void)cudaGetLastError();  // not an error: the copy is still queued
    return nullptr;
  }
  SENET_CUDA_CHECK(e);
  r->pending = false;
  return r->host;
}

void readback_destroy(void* handle) {
  auto* r = static_cast<Readback*>(handle);
  if (!r) return;
  // The mirror may still be a pending copy's destination: let it land before freeing it.
  if (r->pending) (void)cudaEventSynchronize(r->landed);
  (void)cudaEventDestroy(r->landed);
  (void)cudaFreeHost(r->host);
  delete r;
}

}  // namespace senet::cuda::detail
