// engine/core/storage.h — a reference-counted byte buffer on one device.
// CPU memory is 64-byte aligned. CUDA memory comes from the DeviceBackend the CUDA glue registers
// (engine/cuda/); in a build or process without it, using a CUDA tensor is a clear error.
// Tensors share a Storage; views (reshape, batch slices) are an offset into it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/core/shape.h"

namespace senet {

// What a non-CPU device must provide to the core. Registered once by the device's glue code.
struct DeviceBackend {
  void* (*alloc)(size_t bytes) = nullptr;
  void (*free)(void* p) = nullptr;
  // Copy `bytes` between any two devices (dst_dev/src_dev say which side each pointer is on).
  // dst_is_new: dst is a whole block just allocated for this copy and not used since (lets an
  // upload start before earlier work on the device's stream has finished: engine/cuda/upload.cpp).
  void (*copy)(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
               bool dst_is_new) = nullptr;
  void (*memset_zero)(void* p, size_t bytes) = nullptr;
  void (*add_inplace)(float* dst, const float* src, int64_t n) = nullptr;  // dst += src (autograd)
  void (*fill)(float* dst, float value, int64_t n) = nullptr;
  void (*synchronize)() = nullptr;
};
void register_device_backend(Device d, const DeviceBackend& backend);
const DeviceBackend& device_backend(Device d);  // throws when the device has no backend
bool device_available(Device d);

struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  // For caches of values derived from this memory (BN folded into conv weights,
  // engine/ops/conv_bn_fold_cache.h): `id` is never reused in the process; `version` grows each time
  // a writable pointer to the data is handed out (Tensor::data, Tensor::raw), which every write,
  // on any device, must obtain first. Unchanged id and version: the bytes are unchanged.
  const uint64_t id;
  std::atomic<uint64_t> version{0};
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// Device graphs (engine/cuda/graph.h) replay device work without the host code that asked for
// the pointers. While a graph is recorded, every device storage the recording thread hands out —
// for writing (Tensor::data, Tensor::raw) or reading (Tensor::read, Tensor::raw_read) — is noted
// in that thread's log. The graph keeps the storages still alive when the recording ends (their
// blocks cannot go back to the allocator while it replays) and advances the versions of those
// written at each replay (a replay writes them again).
struct StorageLog {
  struct Entry {
    std::weak_ptr<Storage> storage;
    bool written = false;
  };
  std::unordered_map<const Storage*, Entry> entries;
  void note(const std::shared_ptr<Storage>& s, bool write) {
    Entry& e = entries[s.get()];
    if (e.storage.lock() != s) e = Entry{s, false};  // new, or a new storage at a freed address
    e.written = e.written || write;
  }
};
// The recording thread's log (null: this thread records no graph).
extern thread_local StorageLog* t_storage_log;
inline void note_storage_use(const std::shared_ptr<Storage>& s, bool write) {
  if (s->device != Device::CPU)
    if (StorageLog* log = t_storage_log) log->note(s, write);
}

// Copy bytes between devices (host↔host is memcpy; anything with CUDA goes through its backend).
// dst_is_new: as DeviceBackend::copy (Tensor::from_vector and Tensor::to set it).
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes,
                bool dst_is_new = false);

}  // namespace senet
