// kernels/emu/capture.h — inside the emulator: streams and events as objects, and the hooks through
// which every runtime call consults stream capture (kernels/emu/graph.cpp).
// Rule: a call that enqueues work on a stream asks capture_submit() first and, when the stream is
// capturing, hands its work over as a DeviceOp instead of running it; a call that would make the
// host wait, allocate, or use the legacy stream asks capture_allows() and fails with its error.
// A refused call invalidates the capture it offended, as on a GPU (cudaStreamEndCapture then
// returns cudaErrorStreamCaptureInvalidated).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>

#include "kernels/emu/emu_types.h"

namespace emu::detail {
struct Capture;  // one capture sequence (graph.cpp)
}  // namespace emu::detail

struct CUstream_st {
  unsigned flags = 0;
  emu::detail::Capture* capture = nullptr;  // the capture this stream records into, or null
  uint64_t last_node = 0;                   // capture: nodes recorded when it last recorded one
  uint64_t joined_at = 0, rejoined_at = 0;  // capture, forked streams: join point, last join back
};
struct CUevent_st {
  std::chrono::steady_clock::time_point when;
  bool recorded = false;
  uint64_t capture_id = 0;        // last recorded in the capture with this id (0: none)
  cudaStream_t stream = nullptr;  // ... in that stream
  uint64_t node = 0;              // ... after that many of the capture's nodes
  int not_ready_queries = 0;      // cudaEventQuery answers NotReady this many more times
};

namespace emu::detail {

// Device work recorded into a graph, run by every cudaGraphLaunch of it. Returns the launch's error.
using DeviceOp = std::function<cudaError_t()>;

// Before enqueueing work on stream s: cudaSuccess with *record = true when s is capturing (the
// caller then passes its work to capture_record), false when the work runs now; or the error of a
// refused call: s is the legacy stream (nullptr) while a capture is active
// (cudaErrorStreamCaptureImplicit), or s's capture was invalidated.
cudaError_t capture_submit(cudaStream_t s, bool* record);
void capture_record(cudaStream_t s, DeviceOp op);

// What a call other than enqueueing work may do during a capture.
enum class HostCall {
  Allocate,     // cudaMalloc, cudaFree, cudaMallocHost, cudaFreeHost: refused in Global/ThreadLocal
  SyncCopy,     // cudaMemcpy, cudaMemset: legacy-stream work, refused (Implicit) like its launches
  DeviceSync,   // cudaDeviceSynchronize: refused while any capture is active
  StreamSync,   // cudaStreamSynchronize / cudaStreamQuery(s): refused when s is capturing
  PageableCopy  // a cudaMemcpyAsync of pageable host memory into a capture: refused (the graph
                // would read or write it at replay, after the call has returned)
};
cudaError_t capture_allows(HostCall call, cudaStream_t s = nullptr);

// cudaEventRecord / cudaStreamWaitEvent during captures: the record marks the event as captured;
// a wait on a captured event joins the waiting stream to the capture (a fork) or, by the origin
// stream, joins a forked stream back; a capturing stream may not wait on an uncaptured event
// (cudaErrorStreamCaptureIsolation).
void capture_event_record(cudaEvent_t e, cudaStream_t s);
cudaError_t capture_stream_wait(cudaStream_t s, cudaEvent_t e);
// cudaEventSynchronize / cudaEventQuery on an event last recorded in a capture: cudaErrorCapturedEvent.
cudaError_t capture_event_wait(cudaEvent_t e);

}  // namespace emu::detail
