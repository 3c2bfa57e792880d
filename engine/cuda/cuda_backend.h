// engine/cuda/cuda_backend.h — bring up the CUDA backend: senet::cuda::init() registers the
// DeviceBackend for Device::CUDA (caching allocator, copies, fill/add kernels) and the CudaOps
// table (engine/cuda/cuda_ops.h). Host C++ only, no CUDA header: include it from any binary that
// links a glue library — senet_cuda_emu (the kernels under the CPU emulation of CUDA, always
// built) or senet_cuda_gpu (the nvcc-built kernels, when nvcc is present).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace senet::cuda {

struct DeviceInfo {
  bool emulated = false;  // true: senet_cuda_emu, the kernels run on the CPU (~100× slower)
  std::string name;       // the device's name, or "CUDA emulated on the CPU"
};

// Idempotent and thread-safe. Throws senet::Error when the GPU build finds no CUDA device
// (cudaGetDeviceCount = 0 or an error), naming the call and the CUDA error.
DeviceInfo init();

// The caching device allocator: size classes (powers of two below 1 MiB, eighths of an octave
// above), each with a free list; freed blocks are kept for reuse and returned with cudaFree only
// at exit, or by release_cached() (also tried once before reporting out-of-memory).
struct AllocatorStats {
  int64_t device_allocs = 0;  // cudaMalloc calls
  int64_t cache_hits = 0;     // allocations served from a free list
  size_t bytes_in_use = 0;    // held by live blocks (class sizes)
  size_t bytes_cached = 0;    // in the free lists
};
AllocatorStats allocator_stats();
void release_cached();
size_t allocator_size_class(size_t bytes);

}  // namespace senet::cuda
