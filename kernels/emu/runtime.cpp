// kernels/emu/runtime.cpp — the CUDA runtime shim (see emu_runtime.h): memory, errors, streams,
// events, device queries. Stream capture lives in graph.cpp; every call here that enqueues work,
// allocates or waits asks it first (capture.h).
// Rule: allocations are recorded, so copies and sets can check that device-side pointers lie in a
// cudaMalloc'd range (a host pointer passed as device memory fails here as it would on a GPU).
#include <unistd.h>
#include <atomic>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "kernels/emu/capture.h"
#include "kernels/emu/worker.h"

namespace emu::detail {
namespace {
thread_local cudaError_t g_last_error = cudaSuccess;

struct Allocations {
  std::mutex m;
  std::map<const char*, size_t> device, host;  // base -> bytes
};
Allocations& allocations() {
  static Allocations* a = new Allocations;  // outlives static destructors that free memory
  return *a;
}

bool in_range(const std::map<const char*, size_t>& map, const void* p, size_t bytes) {
  auto c = static_cast<const char*>(p);
  auto it = map.upper_bound(c);
  if (it == map.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

bool in_device_range(const void* p, size_t bytes) {
  if (bytes == 0) return true;
  auto& a = allocations();
  std::lock_guard lock(a.m);
  return in_range(a.device, p, bytes);
}

// Page-locked host memory (cudaMallocHost): the only host memory a GPU copies asynchronously.
bool in_pinned_range(const void* p, size_t bytes) {
  if (bytes == 0) return true;
  auto& a = allocations();
  std::lock_guard lock(a.m);
  return in_range(a.host, p, bytes);
}

cudaError_t fail(cudaError_t e) {
  set_last_error(e);
  return e;
}

cudaError_t allocate(void** p, size_t bytes, bool device) {
  if (!p) return fail(cudaErrorInvalidValue);
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
#if SENET_EMU_ASAN
  // ASan: the exact size, so that a read or write past the end is a heap-buffer-overflow report
  // (aligned_alloc needs a multiple of the alignment; a GPU would not fault in that slack).
  void* m = nullptr;
  if (posix_memalign(&m, 256, bytes) != 0) m = nullptr;
#else
  void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
#endif
  if (!m) return fail(cudaErrorMemoryAllocation);
  std::memset(m, 0xff, bytes);  // poison: an uninitialised float reads as NaN
  auto& a = allocations();
  std::lock_guard lock(a.m);
  (device ? a.device : a.host)[static_cast<const char*>(m)] = bytes;
  *p = m;
  return cudaSuccess;
}

cudaError_t release(void* p, bool device) {
  if (!p) return cudaSuccess;
  auto& a = allocations();
  {
    std::lock_guard lock(a.m);
    auto& map = device ? a.device : a.host;
    if (map.erase(static_cast<const char*>(p)) == 0) return fail(cudaErrorInvalidValue);
  }
  std::free(p);
  return cudaSuccess;
}
}  // namespace

void set_last_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
}
}  // namespace emu::detail

using emu::detail::fail;
using emu::detail::in_device_range;
using emu::detail::in_pinned_range;

using emu::detail::capture_allows;
using emu::detail::HostCall;

cudaError_t cudaGetLastError() {
  cudaError_t e = emu::detail::g_last_error;
  emu::detail::g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return emu::detail::g_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define SENET_EMU_NAME(x) \
  case x: return #x
    SENET_EMU_NAME(cudaSuccess);
    SENET_EMU_NAME(cudaErrorInvalidValue);
    SENET_EMU_NAME(cudaErrorMemoryAllocation);
    SENET_EMU_NAME(cudaErrorInitializationError);
    SENET_EMU_NAME(cudaErrorInvalidConfiguration);
    SENET_EMU_NAME(cudaErrorInvalidSymbol);
    SENET_EMU_NAME(cudaErrorInvalidDevicePointer);
    SENET_EMU_NAME(cudaErrorInvalidMemcpyDirection);
    SENET_EMU_NAME(cudaErrorInvalidDeviceFunction);
    SENET_EMU_NAME(cudaErrorNoDevice);
    SENET_EMU_NAME(cudaErrorInvalidDevice);
    SENET_EMU_NAME(cudaErrorInvalidResourceHandle);
    SENET_EMU_NAME(cudaErrorNotReady);
    SENET_EMU_NAME(cudaErrorLaunchOutOfResources);
    SENET_EMU_NAME(cudaErrorLaunchFailure);
    SENET_EMU_NAME(cudaErrorIllegalState);
    SENET_EMU_NAME(cudaErrorStreamCaptureUnsupported);
    SENET_EMU_NAME(cudaErrorStreamCaptureInvalidated);
    SENET_EMU_NAME(cudaErrorStreamCaptureMerge);
    SENET_EMU_NAME(cudaErrorStreamCaptureUnmatched);
    SENET_EMU_NAME(cudaErrorStreamCaptureUnjoined);
    SENET_EMU_NAME(cudaErrorStreamCaptureIsolation);
    SENET_EMU_NAME(cudaErrorStreamCaptureImplicit);
    SENET_EMU_NAME(cudaErrorCapturedEvent);
    SENET_EMU_NAME(cudaErrorUnknown);
#undef SENET_EMU_NAME
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureIsolation:
      return "dependency created on uncaptured work in another stream";
    case cudaErrorStreamCaptureUnjoined:
      return "capture sequence contains a fork that was not joined to the primary stream";
    case cudaErrorCapturedEvent:
      return "operation not permitted on an event last recorded in a capturing stream";
    default: return cudaGetErrorName(e);
  }
}

namespace emu {
namespace {
std::atomic<int64_t> g_host_waits{0};
std::atomic<int64_t> g_allocator_calls{0};
std::atomic<int> g_event_lag{0};
}  // namespace
int64_t host_waits() { return g_host_waits.load(std::memory_order_relaxed); }
int64_t allocator_calls() { return g_allocator_calls.load(std::memory_order_relaxed); }
void set_event_query_lag(int queries) { g_event_lag.store(queries < 0 ? 0 : queries); }
int event_query_lag() { return g_event_lag.load(); }
}  // namespace emu

namespace {
void count_host_wait() { emu::g_host_waits.fetch_add(1, std::memory_order_relaxed); }
void count_allocator_call() { emu::g_allocator_calls.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

// Allocation may synchronise the device (freeing does, on the GPU: that is why the engine caches
// its blocks): refused during a Global/ThreadLocal capture, and counted (emu::allocator_calls).
cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (cudaError_t e = capture_allows(HostCall::Allocate); e != cudaSuccess) return fail(e);
  count_allocator_call();
  return emu::detail::allocate(p, bytes, true);
}
cudaError_t cudaMallocManaged(void** p, size_t bytes, unsigned) {
  if (cudaError_t e = capture_allows(HostCall::Allocate); e != cudaSuccess) return fail(e);
  count_allocator_call();
  return emu::detail::allocate(p, bytes, true);
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
  if (cudaError_t e = capture_allows(HostCall::Allocate); e != cudaSuccess) return fail(e);
  count_allocator_call();
  return emu::detail::allocate(p, bytes, false);
}
cudaError_t cudaFree(void* p) {
  if (cudaError_t e = capture_allows(HostCall::Allocate); e != cudaSuccess) return fail(e);
  if (p) count_allocator_call();
  return emu::detail::release(p, true);
}
cudaError_t cudaFreeHost(void* p) {
  if (cudaError_t e = capture_allows(HostCall::Allocate); e != cudaSuccess) return fail(e);
  if (p) count_allocator_call();
  return emu::detail::release(p, false);
}

namespace {
// The pointer checks of a copy or a set: its device side must lie in a cudaMalloc'd block.
cudaError_t copy_args_ok(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes && (!dst || !src)) return fail(cudaErrorInvalidValue);
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_dev && !in_device_range(dst, bytes)) || (src_dev && !in_device_range(src, bytes)))
    return fail(cudaErrorInvalidValue);
  return cudaSuccess;
}
// A copy or a set run now (or at a graph replay: checked again, its memory may have been freed).
cudaError_t copy_checked(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = copy_args_ok(dst, src, bytes, kind); e != cudaSuccess) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t set_checked(void* p, int value, size_t bytes) {
  if (!in_device_range(p, bytes)) return fail(cudaErrorInvalidValue);
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
// A copy into host memory makes the host wait for the device (not counted at a graph replay:
// the host does not wait for a graph launch) — unless it is an asynchronous copy into page-locked
// memory (cudaMallocHost), which returns at once (engine/cuda/readback.cpp polls an event).
void count_download_wait(void* dst, size_t bytes, cudaMemcpyKind kind, bool async) {
  if (async && bytes && in_pinned_range(dst, bytes)) return;
  if (kind == cudaMemcpyDeviceToHost || (kind == cudaMemcpyDefault && !in_device_range(dst, bytes)))
    count_host_wait();
}
}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (unsigned(kind) > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
  if (cudaError_t e = capture_allows(HostCall::SyncCopy); e != cudaSuccess) return fail(e);
  count_download_wait(dst, bytes, kind, false);
  // A synchronous upload returns once the device has the data: the host waits for it too.
  if (kind == cudaMemcpyHostToDevice && bytes) count_host_wait();
  return copy_checked(dst, src, bytes, kind);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (unsigned(kind) > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
  bool record = false;
  if (cudaError_t e = emu::detail::capture_submit(stream, &record); e != cudaSuccess)
    return fail(e);
  if (record) {  // checked now, copied at each replay; the host side must be pinned
    const bool pageable =
        (kind == cudaMemcpyHostToDevice && bytes && !in_pinned_range(src, bytes)) ||
        (kind == cudaMemcpyDeviceToHost && bytes && !in_pinned_range(dst, bytes)) ||
        kind == cudaMemcpyHostToHost ||
        (kind == cudaMemcpyDefault &&
         !(in_device_range(dst, bytes) && in_device_range(src, bytes)));
    if (pageable) return fail(capture_allows(HostCall::PageableCopy, stream));
    if (kind == cudaMemcpyDefault) kind = cudaMemcpyDeviceToDevice;  // both sides on the device
    if (cudaError_t e = copy_args_ok(dst, src, bytes, kind); e != cudaSuccess) return e;
    emu::detail::capture_record(stream, [=] { return copy_checked(dst, src, bytes, kind); });
    return cudaSuccess;
  }
  // An upload from pageable memory is not asynchronous on a GPU: the driver stages it through its
  // own pinned buffer and, per the CUDA documentation, may synchronise with the host first. Only
  // a source in cudaMallocHost memory makes a truly asynchronous upload.
  if (kind == cudaMemcpyHostToDevice && bytes && src && !in_pinned_range(src, bytes))
    count_host_wait();
  // Not through cudaMemcpy: that one runs on the legacy stream, which a capture elsewhere refuses.
  count_download_wait(dst, bytes, kind, true);
  return copy_checked(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (cudaError_t e = capture_allows(HostCall::SyncCopy); e != cudaSuccess) return fail(e);
  return set_checked(p, value, bytes);
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream) {
  bool record = false;
  if (cudaError_t e = emu::detail::capture_submit(stream, &record); e != cudaSuccess)
    return fail(e);
  if (!record) return set_checked(p, value, bytes);
  if (!in_device_range(p, bytes)) return fail(cudaErrorInvalidValue);
  emu::detail::capture_record(stream, [=] { return set_checked(p, value, bytes); });
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  if (free_bytes) *free_bytes = size_t(sysconf(_SC_AVPHYS_PAGES)) * page;
  if (total_bytes) *total_bytes = size_t(sysconf(_SC_PHYS_PAGES)) * page;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  if (!s) return fail(cudaErrorInvalidValue);
  *s = new CUstream_st;
  (*s)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  if (s && s->capture) return fail(cudaErrorIllegalState);  // end its capture first
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (cudaError_t e = capture_allows(HostCall::StreamSync, s); e != cudaSuccess) return fail(e);
  count_host_wait();
  return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t s) {
  if (cudaError_t e = capture_allows(HostCall::StreamSync, s); e != cudaSuccess) return fail(e);
  return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned) {
  if (!e) return fail(cudaErrorInvalidResourceHandle);
  if (cudaError_t err = emu::detail::capture_stream_wait(s, e); err != cudaSuccess)
    return fail(err);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  if (!e) return fail(cudaErrorInvalidValue);
  *e = new CUevent_st;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (!e) return fail(cudaErrorInvalidResourceHandle);
  bool record = false;
  if (cudaError_t err = emu::detail::capture_submit(s, &record); err != cudaSuccess)
    return fail(err);
  emu::detail::capture_event_record(e, s);
  if (record) return cudaSuccess;  // a point in the graph: no time, nothing completed
  e->when = std::chrono::steady_clock::now();
  e->recorded = true;
  e->not_ready_queries = emu::event_query_lag();  // a device that is behind (tests)
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (!e) return fail(cudaErrorInvalidResourceHandle);
  if (cudaError_t err = emu::detail::capture_event_wait(e); err != cudaSuccess) return fail(err);
  count_host_wait();
  e->not_ready_queries = 0;  // waited for: done
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) {
  if (!e) return fail(cudaErrorInvalidResourceHandle);
  if (cudaError_t err = emu::detail::capture_event_wait(e); err != cudaSuccess) return fail(err);
  if (e->not_ready_queries > 0) {  // not an error: sticky-free, like the GPU's NotReady
    --e->not_ready_queries;
    return cudaErrorNotReady;
  }
  return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end) return fail(cudaErrorInvalidValue);
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* n) {
  if (!n) return fail(cudaErrorInvalidValue);
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "senet CUDA emulation on CPU (%d worker threads)",
                emu::threads());
  cudaMemGetInfo(nullptr, &p->totalGlobalMem);
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->multiProcessorCount = emu::threads();
  p->maxThreadsPerMultiProcessor = 2048;
  p->major = 8;
  p->minor = 0;
  p->l2CacheSize = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  if (cudaError_t e = capture_allows(HostCall::DeviceSync); e != cudaSuccess) return fail(e);
  count_host_wait();
  return cudaSuccess;
}
cudaError_t cudaDeviceReset() { return cudaSuccess; }
