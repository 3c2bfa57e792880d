// kernels/emu/graph.cpp — stream capture and CUDA graphs for the CPU emulation.
// What a GPU does: cudaStreamBeginCapture(s) puts s in capture mode; the kernels, copies and sets
// then enqueued on s are not run but recorded as the nodes of a graph, with the dependencies the
// streams imply. cudaStreamEndCapture returns the graph, cudaGraphInstantiate makes an executable
// graph, and each cudaGraphLaunch replays all of it with one call — what the engine's training
// step wants (hundreds of launches, one host call). A capture may fork: a stream that waits on an
// event recorded in a capturing stream joins the capture, and must be joined back (the origin
// stream waits on an event recorded after the fork's last work) before the capture ends.
// The emulation: streams already run in order, so a graph is its nodes in capture order — a
// topological order of the real graph — and a replay runs them one after the other. The value of
// this file is in what it refuses, with the GPU's error codes (capture.h lists them): code that
// synchronises, allocates or reaches outside its capture fails here as it would on the device,
// and the failure invalidates the capture.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/emu/capture.h"
#include "kernels/emu/worker.h"

struct CUgraphNode_st {
  emu::detail::DeviceOp run;
};
struct CUgraph_st {
  std::vector<std::shared_ptr<CUgraphNode_st>> nodes;
};
struct CUgraphExec_st {
  std::vector<std::shared_ptr<CUgraphNode_st>> nodes;  // shared with the graph: nodes are immutable
};

namespace emu::detail {

struct Capture {
  uint64_t id = 0;  // events name their capture by id: they may outlive it
  cudaStream_t origin = nullptr;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  bool invalidated = false;
  std::unique_ptr<CUgraph_st> graph = std::make_unique<CUgraph_st>();
  std::vector<cudaStream_t> forks;  // streams joined to the capture by an event wait
};

namespace {
std::mutex g_mutex;
std::vector<std::unique_ptr<Capture>> g_captures;  // active captures (one per origin stream)
std::atomic<int64_t> g_graph_launches{0};
uint64_t g_next_id = 1;

Capture* find_locked(uint64_t id) {
  for (auto& c : g_captures)
    if (c->id == id) return c.get();
  return nullptr;
}

// A capture whose mode forbids potentially unsafe calls (Global, ThreadLocal: one host thread
// here, so the two agree), or null. An invalidated capture counts until it is ended.
Capture* strict_capture_locked() {
  for (auto& c : g_captures)
    if (c->mode != cudaStreamCaptureModeRelaxed) return c.get();
  return nullptr;
}
// An active capture with a blocking stream, or null: the legacy stream synchronises with every
// blocking stream, so its work (and the synchronous copies, which run on it) would depend on a
// capturing one, in any mode, and stays unusable until that capture is ended, even invalidated.
// (A non-blocking stream does not synchronise with the legacy stream.)
Capture* active_capture_locked() {
  auto blocking = [](cudaStream_t s) { return !(s->flags & cudaStreamNonBlocking); };
  for (auto& c : g_captures) {
    if (blocking(c->origin) || std::any_of(c->forks.begin(), c->forks.end(), blocking))
      return c.get();
  }
  return nullptr;
}
cudaError_t refuse_locked(Capture* c, cudaError_t e) {
  if (c) c->invalidated = true;
  return e;
}
}  // namespace

cudaError_t capture_submit(cudaStream_t s, bool* record) {
  std::lock_guard lock(g_mutex);
  *record = false;
  if (!s) {  // the legacy stream synchronises with every blocking stream, a capturing one too
    Capture* c = active_capture_locked();
    return c ? refuse_locked(c, cudaErrorStreamCaptureImplicit) : cudaSuccess;
  }
  if (!s->capture) return cudaSuccess;
  if (s->capture->invalidated) return cudaErrorStreamCaptureInvalidated;
  *record = true;
  return cudaSuccess;
}

void capture_record(cudaStream_t s, DeviceOp op) {
  std::lock_guard lock(g_mutex);
  auto& nodes = s->capture->graph->nodes;
  nodes.push_back(std::make_shared<CUgraphNode_st>(CUgraphNode_st{std::move(op)}));
  s->last_node = nodes.size();
}

cudaError_t capture_allows(HostCall call, cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  switch (call) {
    case HostCall::Allocate: {
      Capture* c = strict_capture_locked();
      return c ? refuse_locked(c, cudaErrorStreamCaptureUnsupported) : cudaSuccess;
    }
    case HostCall::SyncCopy: {
      Capture* c = active_capture_locked();
      return c ? refuse_locked(c, cudaErrorStreamCaptureImplicit) : cudaSuccess;
    }
    case HostCall::DeviceSync: {
      if (g_captures.empty()) return cudaSuccess;
      for (auto& c : g_captures) c->invalidated = true;
      return cudaErrorStreamCaptureUnsupported;
    }
    case HostCall::StreamSync:
      if (s && s->capture) return refuse_locked(s->capture, cudaErrorStreamCaptureUnsupported);
      if (!s) {  // the legacy stream: waits for every blocking stream
        Capture* c = active_capture_locked();
        return c ? refuse_locked(c, cudaErrorStreamCaptureImplicit) : cudaSuccess;
      }
      return cudaSuccess;
    case HostCall::PageableCopy:
      if (s && s->capture) return refuse_locked(s->capture, cudaErrorStreamCaptureUnsupported);
      return cudaSuccess;
  }
  return cudaSuccess;
}

void capture_event_record(cudaEvent_t e, cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  const bool captured = s && s->capture && !s->capture->invalidated;
  e->capture_id = captured ? s->capture->id : 0;
  e->stream = captured ? s : nullptr;
  e->node = captured ? s->last_node : 0;
}

cudaError_t capture_stream_wait(cudaStream_t s, cudaEvent_t e) {
  std::lock_guard lock(g_mutex);
  Capture* c = find_locked(e->capture_id);
  // An uncaptured event (or one of a capture that has ended): a capturing stream may not depend on
  // work outside its capture. Never recorded: it stands for no work.
  if (!c) {
    if (s && s->capture && e->recorded)
      return refuse_locked(s->capture, cudaErrorStreamCaptureIsolation);
    return cudaSuccess;
  }
  if (!s) return refuse_locked(c, cudaErrorStreamCaptureImplicit);
  if (s->capture && s->capture != c) return refuse_locked(c, cudaErrorStreamCaptureMerge);
  if (!s->capture) {  // a fork: s joins the capture at the event's point
    s->capture = c;
    s->joined_at = s->rejoined_at = s->last_node = e->node;
    c->forks.push_back(s);
  } else if (e->stream && e->stream != s && e->stream != c->origin) {
    // A join back: by the origin, or by another stream of the capture (which must then join
    // back itself, so the origin still ends up after the fork's work).
    e->stream->rejoined_at = std::max(e->stream->rejoined_at, e->node);
  }
  return cudaSuccess;
}

cudaError_t capture_event_wait(cudaEvent_t e) {
  std::lock_guard lock(g_mutex);
  return find_locked(e->capture_id) ? cudaErrorCapturedEvent : cudaSuccess;
}

}  // namespace emu::detail

int64_t emu::graph_launches() { return emu::detail::g_graph_launches.load(); }

using emu::detail::Capture;
using emu::detail::g_captures;
using emu::detail::g_mutex;

namespace {
cudaError_t fail(cudaError_t e) {
  emu::detail::set_last_error(e);
  return e;
}
}  // namespace

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  if (!s) return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot be captured
  std::lock_guard lock(g_mutex);
  if (s->capture) return fail(cudaErrorIllegalState);
  auto c = std::make_unique<Capture>();
  c->id = emu::detail::g_next_id++;
  c->origin = s;
  c->mode = mode;
  s->capture = c.get();
  s->last_node = 0;
  g_captures.push_back(std::move(c));
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph) {
  if (!s || !graph) return fail(cudaErrorInvalidValue);
  std::lock_guard lock(g_mutex);
  *graph = nullptr;
  Capture* c = s->capture;
  if (!c) return fail(cudaErrorIllegalState);
  if (c->origin != s) {  // only the stream that began a capture ends it
    c->invalidated = true;
    return fail(cudaErrorStreamCaptureUnmatched);
  }
  bool unjoined = false;
  for (cudaStream_t f : c->forks) {
    unjoined |= f->last_node > f->rejoined_at;  // work after the last join back
    f->capture = nullptr;
  }
  s->capture = nullptr;
  auto it = std::find_if(g_captures.begin(), g_captures.end(),
                         [&](const std::unique_ptr<Capture>& p) { return p.get() == c; });
  std::unique_ptr<Capture> owned = std::move(*it);
  g_captures.erase(it);
  if (owned->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
  if (unjoined) return fail(cudaErrorStreamCaptureUnjoined);
  *graph = owned->graph.release();
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status) {
  if (!status) return fail(cudaErrorInvalidValue);
  std::lock_guard lock(g_mutex);
  if (!s) {  // asking about the legacy stream while a capture is active is refused (the capture
             // is not invalidated: CUDA documents this one case)
    if (emu::detail::active_capture_locked()) return fail(cudaErrorStreamCaptureImplicit);
    *status = cudaStreamCaptureStatusNone;
    return cudaSuccess;
  }
  *status = !s->capture               ? cudaStreamCaptureStatusNone
            : s->capture->invalidated ? cudaStreamCaptureStatusInvalidated
                                      : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  if (!exec) return fail(cudaErrorInvalidValue);
  bool record = false;
  if (cudaError_t e = emu::detail::capture_submit(s, &record); e != cudaSuccess) return fail(e);
  auto nodes = exec->nodes;  // a graph launched into a capture: its nodes become one node there
  auto replay = [nodes]() -> cudaError_t {
    for (const auto& n : nodes)
      if (cudaError_t e = n->run(); e != cudaSuccess) return e;
    return cudaSuccess;
  };
  if (record) {
    emu::detail::capture_record(s, replay);
    return cudaSuccess;
  }
  emu::detail::g_graph_launches.fetch_add(1, std::memory_order_relaxed);
  // The replayed launches report through the last error: keep an error pending from before.
  const cudaError_t pending = cudaGetLastError();
  const cudaError_t e = replay();
  if (pending != cudaSuccess && e == cudaSuccess) emu::detail::set_last_error(pending);
  return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* count) {
  if (!graph || !count) return fail(cudaErrorInvalidValue);
  if (!nodes) {
    *count = graph->nodes.size();
    return cudaSuccess;
  }
  const size_t n = std::min(*count, graph->nodes.size());
  for (size_t i = 0; i < n; ++i) nodes[i] = graph->nodes[i].get();
  *count = n;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
