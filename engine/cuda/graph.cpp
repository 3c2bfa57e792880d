// engine/cuda/graph.cpp — see graph.h. The recording: the caching allocator tags blocks with the
// graph's pool, the storage log notes what the code reads and writes, and the engine's stream is
// captured in Relaxed mode (the allocator may still cudaMalloc a block the cache lacks; every
// synchronisation remains refused). A failure anywhere ends the capture, drops what was recorded
// and releases the pool before the error reaches the caller.
#include "engine/cuda/graph.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "engine/core/storage.h"
#include "engine/cuda/glue.h"

namespace senet::cuda {

namespace detail {
namespace {
thread_local const char* t_recording = nullptr;  // the recording thread's graph name
std::atomic<uint64_t> g_next_pool{1};
// One graph at a time: a block one graph's pool holds may be another graph's input, and a
// graph's destruction would hand it back to everyone while the other still replays.
std::mutex g_live_mutex;
std::string g_live;  // the live graph's name, empty: none
}  // namespace
const char* recording_graph() { return t_recording; }
}  // namespace detail

struct Graph::Impl {
  std::string name;
  uint64_t pool = 0;
  cudaGraphExec_t exec = nullptr;
  size_t nodes = 0;
  std::vector<std::shared_ptr<Storage>> kept;     // alive at the recording's end: held till ~Graph
  std::vector<std::shared_ptr<Storage>> written;  // ... and written by it: versions advance
};

namespace {
// Undoes the recording state whatever happens: stream capture ended, allocator and write log
// detached.
struct RecordingScope {
  StorageLog log;
  bool capturing = false;
  uint64_t pool;
  RecordingScope(const std::string& name, uint64_t p) : pool(p) {
    detail::t_recording = name.c_str();
    detail::allocator_set_recording(pool);
    t_storage_log = &log;
  }
  // Ends the capture; the graph, or null with the capture's error in *err.
  cudaGraph_t end(cudaError_t* err) {
    cudaGraph_t g = nullptr;
    *err = cudaStreamEndCapture(detail::stream(), &g);
    capturing = false;
    return g;
  }
  ~RecordingScope() {
    if (capturing) {
      cudaGraph_t g = nullptr;
      if (cudaStreamEndCapture(detail::stream(), &g) == cudaSuccess && g) cudaGraphDestroy(g);
      (void)cudaGetLastError();
    }
    t_storage_log = nullptr;
    detail::allocator_set_recording(0);
    detail::t_recording = nullptr;
  }
};
}  // namespace

Graph::Graph(std::string name, const std::function<void()>& record) : impl_(new Impl) {
  impl_->name = std::move(name);
  impl_->pool = detail::g_next_pool.fetch_add(1);
  const std::string& n = impl_->name;
  {
    std::lock_guard<std::mutex> lock(detail::g_live_mutex);
    if (!detail::g_live.empty())
      fail("graph '", n, "': graph '", detail::g_live,
           "' exists: one graph at a time (destroy it first)");
    detail::g_live = n;
  }
  auto give_up = [&] {  // nothing was replayed: no wait before releasing the blocks
    detail::allocator_release_pool(impl_->pool);
    std::lock_guard<std::mutex> lock(detail::g_live_mutex);
    detail::g_live.clear();
  };
  cudaGraph_t g = nullptr;
  try {
    RecordingScope scope(n, impl_->pool);
    SENET_CUDA_CHECK(cudaStreamBeginCapture(detail::stream(), cudaStreamCaptureModeRelaxed));
    scope.capturing = true;
    record();
    cudaError_t e = cudaSuccess;
    g = scope.end(&e);
    if (e != cudaSuccess)
      fail("the capture ended with ", cudaGetErrorString(e), " (", cudaGetErrorName(e),
           "): the recorded code made a call a capture cannot record");
    for (auto& [key, entry] : scope.log.entries)
      if (std::shared_ptr<Storage> s = entry.storage.lock()) {
        impl_->kept.push_back(s);
        if (entry.written) impl_->written.push_back(s);
      }
    SENET_CUDA_CHECK(cudaGraphGetNodes(g, nullptr, &impl_->nodes));
    SENET_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, g, 0));
    SENET_CUDA_CHECK(cudaGraphDestroy(g));
    g = nullptr;
  } catch (...) {  // any exception: release everything; an engine error gets the graph's name
    if (g) cudaGraphDestroy(g);
    (void)cudaGetLastError();
    give_up();
    try {
      throw;
    } catch (const Error& err) {
      fail("graph '", n, "': recording failed: ", err.what());
    }
  }
}

Graph::~Graph() {
  if (!impl_) return;
  // Its replays must be done before its blocks go back to everyone (a destructor does not throw).
  if (cudaStreamSynchronize(detail::stream()) != cudaSuccess) (void)cudaGetLastError();
  if (impl_->exec) cudaGraphExecDestroy(impl_->exec);
  impl_->kept.clear();  // their blocks go back to the pool first, then with it to everyone
  impl_->written.clear();
  detail::allocator_release_pool(impl_->pool);
  std::lock_guard<std::mutex> lock(detail::g_live_mutex);
  detail::g_live.clear();
}

void Graph::replay() {
  SENET_CUDA_CHECK(cudaGraphLaunch(impl_->exec, detail::stream()));
  for (const auto& s : impl_->written) s->version.fetch_add(1, std::memory_order_relaxed);
}

size_t Graph::nodes() const { return impl_->nodes; }
const std::string& Graph::name() const { return impl_->name; }

}  // namespace senet::cuda
