// engine/cuda/backend.cpp — the CUDA DeviceBackend: caching allocator over cudaMalloc, copies,
// memset/fill/add kernels on the backend's stream, and senet::cuda::init().
// Compiled twice (engine/CMakeLists.txt): senet_cuda_emu against the emulated runtime and kernels,
// senet_cuda_gpu against the real ones (kernels/emu/host_runtime.h picks the runtime).
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/core/storage.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/device_comm.h"
#include "engine/cuda/glue.h"
#include "engine/dist/comm.h"
#include "kernels/elementwise.h"

namespace senet::cuda {
namespace {

// Size classes: below 1 MiB the next power of two (at least 256 B, the emulator's and cudaMalloc's
// alignment); from 1 MiB on, the next multiple of 1/8 of the enclosing power of two (≤ 12.5 % waste).
size_t size_class(size_t bytes) {
  if (bytes <= 256) return 256;
  size_t p = 256;
  while (p < bytes) p <<= 1;
  if (p <= (size_t(1) << 20)) return p;
  const size_t step = p / 16;  // p/2 < bytes ≤ p: steps of (p/2)/8
  return (bytes + step - 1) / step * step;
}

// Graph pools (engine/cuda/graph.h): a graph replays device work into the blocks its recording
// used, so from the recording on those blocks are the graph's: every block allocated or freed while
// a graph is recorded is tagged with the graph's pool, and a tagged block, once free, waits in the
// pool's own free lists (used again only by recordings into that pool) until the graph releases it.
class CachingAllocator {
 public:
  void* alloc(size_t bytes) {
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t rec = recording_here();
    std::vector<void*>* list = &free_[cls];
    if (rec && !pool_free_[rec][cls].empty()) list = &pool_free_[rec][cls];
    void* p = nullptr;
    if (!list->empty()) {
      p = list->back();
      list->pop_back();
      stats_.bytes_cached -= cls;
      ++stats_.cache_hits;
    } else {
      cudaError_t e = cudaMalloc(&p, cls);
      // Give the cached blocks back to the device and try once more — not while a graph records
      // (handing them back waits for the device, which a capture refuses).
      if (e != cudaSuccess && !recording_) {
        (void)cudaGetLastError();
        release_locked();
        e = cudaMalloc(&p, cls);
      }
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        fail("out of CUDA device memory: cudaMalloc(", cls,
             " bytes) failed: ", cudaGetErrorString(e), " (",
             double(stats_.bytes_in_use) / double(1 << 20),
             " MiB in use by tensors); reduce the batch size or model width");
      }
      ++stats_.device_allocs;
    }
    live_[p] = cls;
    if (rec) pool_of_[p] = rec;
    stats_.bytes_in_use += cls;
    return p;
  }

  // Recording into pool `pool` (> 0) starts on the calling thread; 0 ends it. Only that
  // thread's allocations and frees belong to the recording.
  void set_recording(uint64_t pool) {
    std::lock_guard<std::mutex> lock(mu_);
    recording_ = pool;
    recorder_ = std::this_thread::get_id();
  }
  // The graph of `pool` is gone (and its replays done: the caller synchronised): its blocks become
  // ordinary, the free ones go back to the common lists.
  void release_pool(uint64_t pool) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [cls, list] : pool_free_[pool])
      for (void* p : list) free_[cls].push_back(p);
    pool_free_.erase(pool);
    for (auto it = pool_of_.begin(); it != pool_of_.end();)
      it = it->second == pool ? pool_of_.erase(it) : std::next(it);
  }

  uint64_t free_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return frees_;
  }
  // The value free_count() took when block p was last freed (0: never freed, or released to the
  // device since — after a device synchronisation, so it has no pending users either).
  uint64_t last_free_of(const void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_free_.find(p);
    return it == last_free_.end() ? 0 : it->second;
  }

  void free(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) fail("CUDA allocator: free of a pointer it did not allocate");
    const size_t cls = it->second;
    live_.erase(it);
    last_free_[p] = ++frees_;
    stats_.bytes_in_use -= cls;
    stats_.bytes_cached += cls;
    uint64_t pool = 0;
    if (auto t = pool_of_.find(p); t != pool_of_.end()) pool = t->second;
    if (const uint64_t rec = recording_here(); !pool && rec)
      pool = pool_of_[p] = rec;  // a block the recording used
    (pool ? pool_free_[pool][cls] : free_[cls]).push_back(p);
  }

  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    release_locked();
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  void release_locked() {
    // Blocks may still be read by enqueued work: wait for the stream before handing them back.
    (void)cudaDeviceSynchronize();
    for (auto& [cls, list] : free_)
      for (void* p : list) (void)cudaFree(p);  // at exit the runtime may already be unloading
    for (auto& [cls, list] : free_)
      for (void* p : list) {
        last_free_.erase(p);
        stats_.bytes_cached -= cls;  // the graph pools' free blocks stay cached
      }
    free_.clear();
  }
  uint64_t recording_here() const {
    return recording_ && std::this_thread::get_id() == recorder_ ? recording_ : 0;
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;
  std::unordered_map<const void*, uint64_t> last_free_;  // block → frees_ at its last free
  uint64_t recording_ = 0;                               // the pool being recorded into (0: none)
  std::thread::id recorder_;                             // ... by this thread
  std::unordered_map<const void*, uint64_t> pool_of_;    // block → its graph pool
  std::unordered_map<uint64_t, std::unordered_map<size_t, std::vector<void*>>> pool_free_;
  uint64_t frees_ = 0;
  AllocatorStats stats_;
};

// Never destroyed: tensors with static storage may be freed after main returns. The cached blocks
// are released at exit (atexit); live blocks go with the process.
CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator;
  return *a;
}

cudaStream_t g_stream = nullptr;

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (dst == Device::CUDA && src == Device::CUDA) return cudaMemcpyDeviceToDevice;
  if (dst == Device::CUDA) return cudaMemcpyHostToDevice;
  if (src == Device::CUDA) return cudaMemcpyDeviceToHost;
  return cudaMemcpyHostToHost;
}

void backend_copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                  bool dst_is_new) {
  const cudaMemcpyKind kind = copy_kind(dst_dev, src_dev);
  if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToHost)
    if (const char* graph = detail::recording_graph())
      fail("graph '", graph, "': a ",
           kind == cudaMemcpyHostToDevice ? "host → device" : "device → host", " copy of ", bytes,
           " bytes while the graph is recorded: a replay runs device work only (copy the inputs in "
           "before each replay, read the outputs after it)");
  // Host memory is the caller's the moment we return. An upload goes through a pinned staging
  // buffer on the copy stream (engine/cuda/upload.cpp): no host wait. A download must wait for
  // the data (and for the kernels that write it).
  if (kind == cudaMemcpyHostToDevice) return detail::upload(dst, src, bytes, dst_is_new);
  SENET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, g_stream));
  if (kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyHostToHost)
    SENET_CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
void backend_memset_zero(void* p, size_t bytes) {
  SENET_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, g_stream));
}
void backend_add_inplace(float* dst, const float* src, int64_t n) {
  SENET_CUDA_CHECK(add_inplace_launch(dst, src, n, g_stream));
}
void backend_fill(float* dst, float value, int64_t n) {
  SENET_CUDA_CHECK(fill_launch({dst, value, n}, g_stream));
}
void backend_synchronize() { SENET_CUDA_CHECK(cudaStreamSynchronize(g_stream)); }

DeviceInfo g_info;

}  // namespace

namespace detail {
cudaStream_t stream() { return g_stream; }
void* device_alloc(size_t bytes) { return allocator().alloc(bytes); }
void device_free(void* p) { allocator().free(p); }
uint64_t free_count() { return allocator().free_count(); }
uint64_t last_free_of(const void* p) { return allocator().last_free_of(p); }
void allocator_set_recording(uint64_t pool) { allocator().set_recording(pool); }
void allocator_release_pool(uint64_t pool) { allocator().release_pool(pool); }
}  // namespace detail

AllocatorStats allocator_stats() { return allocator().stats(); }
void release_cached() { allocator().release(); }
size_t allocator_size_class(size_t bytes) { return size_class(bytes); }

DeviceInfo init() {
  static std::once_flag once;
  std::call_once(once, [] {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
      (void)cudaGetLastError();
      fail("device 'cuda': no CUDA device is available (cudaGetDeviceCount: ",
           e == cudaSuccess ? "0 devices" : cudaGetErrorString(e), "); use --device cpu");
    }
    // One GPU per rank: a data-parallel run's ranks on one machine take GPUs 0, 1, … (NCCL does
    // not run two ranks on one GPU).
#if SENET_KERNELS_CUDA
    SENET_CHECK(dist::local_rank() < count, "device 'cuda': this is rank ", dist::local_rank(),
                " on its machine, which has ", count,
                " GPU(s): a data-parallel run takes one GPU per rank (start at most that many "
                "ranks per machine)");
#endif
    SENET_CUDA_CHECK(cudaSetDevice(dist::local_rank() % count));
    cudaDeviceProp prop{};
    SENET_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    SENET_CUDA_CHECK(cudaStreamCreate(&g_stream));
    detail::init_upload();
#if SENET_KERNELS_CUDA
    g_info.emulated = false;
    g_info.name = prop.name;
#else
    g_info.emulated = true;
    g_info.name = "CUDA emulated on the CPU";
#endif
    allocator();
    std::atexit([] { allocator().release(); });

    DeviceBackend b;
    b.alloc = [](size_t bytes) { return allocator().alloc(bytes); };
    b.free = [](void* p) { allocator().free(p); };
    b.copy = backend_copy;
    b.memset_zero = backend_memset_zero;
    b.add_inplace = backend_add_inplace;
    b.fill = backend_fill;
    b.synchronize = backend_synchronize;
    CudaOps ops = detail::make_ops_table();
    ops.device_name = g_info.name.c_str();
    ops.emulated = g_info.emulated;
    register_cuda_ops(ops);
    register_device_backend(Device::CUDA, b);
    // Under a launcher (MPI started, even as one rank): the device communicator, NCCL on a GPU.
    if (std::string(dist::world().backend()) != "single")
      dist::set_device_world(detail::make_device_comm());
  });
  return g_info;  // a failed attempt threw and left the flag unset: the next call retries
}

}  // namespace senet::cuda
