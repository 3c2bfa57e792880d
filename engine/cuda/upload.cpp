// engine/cuda/upload.cpp — host → device copies that never make the host wait: a pinned staging
// ring and a copy stream.
// Why: cudaMemcpyAsync from pageable memory is not asynchronous — the driver stages the data
// through its own pinned buffer and may synchronise with the host first (CUDA Runtime API,
// "API synchronization behavior"); from page-locked memory it returns at once, and on a stream of
// its own the copy engine runs it while kernels run. So every upload (the batch, the labels, model
// weights) goes through here:
//   1. staging: a ring of kSlots pinned buffers; slot i is refilled once its previous copy has
//      finished (event done[i]: queried, and waited for only when the copy engine is kSlots uploads
//      behind); the host copies the source into it, so the caller's memory is free on return.
//   2. before the copy: dst's earlier users must be done. A block the caching allocator just handed
//      out for this copy (Tensor::from_vector, Tensor::to: `dst_is_new`) had, as users, only the
//      work enqueued before its last free; the copy stream waits for the earliest kept marker (an
//      event recorded on the compute stream, tagged with the free count at that moment) recorded
//      after that free — not for everything enqueued since, so the upload may overlap kernels
//      already queued. A block never freed has no users: no wait. Any other destination (a live
//      tensor overwritten in place) waits for everything enqueued so far.
//   3. after the copy: the compute stream waits for done[i], so whatever reads dst comes after.
// Uploads above kMaxStaged bytes go straight from pageable memory on the compute stream (rare: no
// batch is that large; they would pin that much host memory for good).
#include <cstring>
#include <deque>
#include <mutex>

#include "engine/cuda/glue.h"

namespace senet::cuda::detail {
namespace {

constexpr int kSlots = 4;
constexpr size_t kMaxStaged = size_t(256) << 20;
constexpr size_t kMarkers = 8;

struct Slot {
  void* host = nullptr;  // cudaMallocHost
  size_t capacity = 0;
  cudaEvent_t done = nullptr;  // recorded on the copy stream after this slot's last copy
  bool used = false;
};

struct Marker {
  uint64_t frees;  // free_count() when recorded
  cudaEvent_t event;
};

struct Uploader {
  std::mutex mu;
  cudaStream_t copy = nullptr;
  Slot slots[kSlots];
  int next = 0;
  std::deque<Marker> markers;  // oldest first, at most kMarkers

  void init() {
    SENET_CUDA_CHECK(cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking));
    for (Slot& s : slots)
      SENET_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
  }

  // An event on the compute stream after every user of dst so far (null: dst has none).
  cudaEvent_t users_done(const void* dst, bool dst_is_new) {
    const uint64_t f = dst_is_new ? last_free_of(dst) : ~uint64_t(0);
    if (f == 0) return nullptr;
    for (const Marker& m : markers)
      if (m.frees >= f) return m.event;  // recorded after dst's last free
    // No kept marker is late enough: record one now (reusing the oldest event when full).
    cudaEvent_t e = nullptr;
    if (markers.size() == kMarkers) {
      e = markers.front().event;
      markers.pop_front();
    } else {
      SENET_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    }
    // The count first: every free it includes happened before the record, so the marker covers
    // their blocks' users even if another thread frees something in between.
    const uint64_t frees = free_count();
    SENET_CUDA_CHECK(cudaEventRecord(e, stream()));
    markers.push_back({frees, e});
    return e;
  }

  Slot& take_slot(size_t bytes) {
    Slot& s = slots[next];
    next = (next + 1) % kSlots;
    if (s.used && cudaEventQuery(s.done) != cudaSuccess) {
      (void)cudaGetLastError();  // cudaErrorNotReady: the copy engine is behind; wait for it
      SENET_CUDA_CHECK(cudaEventSynchronize(s.done));
    }
    if (s.capacity < bytes) {
      if (s.host) SENET_CUDA_CHECK(cudaFreeHost(s.host));
      size_t cap = size_t(1) << 20;
      while (cap < bytes) cap <<= 1;
      s.host = nullptr;
      SENET_CUDA_CHECK(cudaMallocHost(&s.host, cap));
      s.capacity = cap;
    }
    return s;
  }

  void upload(void* dst, const void* src, size_t bytes, bool dst_is_new) {
    if (bytes == 0) return;
    std::lock_guard<std::mutex> lock(mu);
    if (bytes > kMaxStaged) {
      SENET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
      return;
    }
    Slot& s = take_slot(bytes);
    std::memcpy(s.host, src, bytes);
    if (cudaEvent_t before = users_done(dst, dst_is_new))
      SENET_CUDA_CHECK(cudaStreamWaitEvent(copy, before, 0));
    SENET_CUDA_CHECK(cudaMemcpyAsync(dst, s.host, bytes, cudaMemcpyHostToDevice, copy));
    SENET_CUDA_CHECK(cudaEventRecord(s.done, copy));
    s.used = true;
    SENET_CUDA_CHECK(cudaStreamWaitEvent(stream(), s.done, 0));
  }
};

Uploader& uploader() {
  static Uploader* u = new Uploader;  // never destroyed: uploads may come during static teardown
  return *u;
}

}  // namespace

void init_upload() { uploader().init(); }
void upload(void* dst, const void* src, size_t bytes, bool dst_is_new) {
  uploader().upload(dst, src, bytes, dst_is_new);
}
cudaStream_t copy_stream() { return uploader().copy; }

}  // namespace senet::cuda::detail
