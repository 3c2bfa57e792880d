// engine/core/storage.cpp — device memory through registered backends; CPU is built in.
#include "engine/core/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace senet {
thread_local StorageLog* t_storage_log = nullptr;
namespace {
DeviceBackend g_backends[2];

// glibc serves blocks over 128 KiB (adaptively up to 32 MiB) with fresh mmaps and returns them on
// free, so every training step page-faulted and zeroed its activations again (1–3 % of a step in
// profiles). Keep blocks up to 32 MiB (glibc's ceiling) in the heap and the heap's top untrimmed:
// a step then reuses the memory the previous step freed. The peak RSS is unchanged.
const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();
}  // namespace

void register_device_backend(Device d, const DeviceBackend& backend) {
  g_backends[int(d)] = backend;
}
bool device_available(Device d) { return d == Device::CPU || g_backends[int(d)].alloc != nullptr; }
const DeviceBackend& device_backend(Device d) {
  SENET_CHECK(device_available(d), "device '", device_name(d),
              "' is not available: this build or process has no backend for it");
  return g_backends[int(d)];
}

static uint64_t next_storage_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Storage::Storage(size_t n, Device dev) : bytes(n), device(dev), id(next_storage_id()) {
  if (dev == Device::CPU) {
    size_t rounded = (n + 63) / 64 * 64;
    ptr = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!ptr)
      fail("out of host memory: could not allocate ", n, " bytes (", double(n) / (1 << 20),
           " MiB); reduce the batch size or model width");
  } else {
    ptr = device_backend(dev).alloc(n);
  }
}

Storage::~Storage() {
  if (device == Device::CPU)
    std::free(ptr);
  else if (ptr)
    device_backend(device).free(ptr);
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                bool dst_is_new) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
  Device other = dst_dev == Device::CPU ? src_dev : dst_dev;
  device_backend(other).copy(dst, dst_dev, src, src_dev, bytes, dst_is_new);
}

}  // namespace senet
