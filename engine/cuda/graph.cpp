// engine/cuda/graph.cpp — see graph.h. The recording: the caching allocator tags blocks with the
// graph's pool, the storage write log notes what the code writes, and the engine's stream is
// captured in Relaxed mode (the allocator may still cudaMalloc a block the cache lacks; every
// synchronisation remains refused). A failure anywhere ends the capture, drops what was recorded
// and releases the pool before the error reaches the caller.
#include "engine/cuda/graph.h"

#include <atomic>
#include <vector>

#include "engine/core/storage.h"
#include "engine/cuda/glue.h"

namespace senet::cuda {

namespace detail {
namespace {
std::atomic<const char*> g_recording{nullptr};
std::atomic<uint64_t> g_next_pool{1};
}  // namespace
const char* recording_graph() { return g_recording.load(std::memory_order_relaxed); }
}  // namespace detail

struct Graph::Impl {
  std::string name;
  uint64_t pool = 0;
  cudaGraphExec_t exec = nullptr;
  size_t nodes = 0;
  std::vector<std::weak_ptr<Storage>> written;
};

namespace {
// Undoes the recording state whatever happens: stream capture ended, allocator and write log
// detached.
struct RecordingScope {
  StorageWriteLog log;
  bool capturing = false;
  uint64_t pool;
  RecordingScope(const std::string& name, uint64_t p) : pool(p) {
    SENET_CHECK(!detail::recording_graph(), "graph '", name, "': graph '",
                detail::recording_graph(), "' is being recorded (one recording at a time)");
    detail::g_recording.store(name.c_str());
    detail::allocator_set_recording(pool);
    g_storage_write_log.store(&log);
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
    g_storage_write_log.store(nullptr);
    detail::allocator_set_recording(0);
    detail::g_recording.store(nullptr);
  }
};
}  // namespace

Graph::Graph(std::string name, const std::function<void()>& record) : impl_(new Impl) {
  impl_->name = std::move(name);
  impl_->pool = detail::g_next_pool.fetch_add(1);
  const std::string& n = impl_->name;
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
    impl_->written = std::move(scope.log.written);
    SENET_CUDA_CHECK(cudaGraphGetNodes(g, nullptr, &impl_->nodes));
    SENET_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, g, 0));
    SENET_CUDA_CHECK(cudaGraphDestroy(g));
    g = nullptr;
  } catch (const Error& err) {
    if (g) cudaGraphDestroy(g);
    (void)cudaGetLastError();
    detail::allocator_release_pool(impl_->pool);  // nothing replays: no wait needed
    fail("graph '", n, "': recording failed: ", err.what());
  }
}

Graph::~Graph() {
  if (!impl_) return;
  // Its replays must be done before its blocks go back to everyone (a destructor does not throw).
  if (cudaStreamSynchronize(detail::stream()) != cudaSuccess) (void)cudaGetLastError();
  if (impl_->exec) cudaGraphExecDestroy(impl_->exec);
  detail::allocator_release_pool(impl_->pool);
}

void Graph::replay() {
  SENET_CUDA_CHECK(cudaGraphLaunch(impl_->exec, detail::stream()));
  for (const auto& w : impl_->written)
    if (auto s = w.lock()) s->version.fetch_add(1, std::memory_order_relaxed);
}

size_t Graph::nodes() const { return impl_->nodes; }
const std::string& Graph::name() const { return impl_->name; }

}  // namespace senet::cuda
