// engine/core/cuda_registry.cpp — where the CUDA glue registers its operation table and where a
// binary installs the glue's initializer (engine/cuda/cuda_ops.h). No CUDA code here.
#include "engine/cuda/cuda_ops.h"

#include <atomic>
#include <mutex>

#include "engine/core/storage.h"

namespace senet {
namespace {
CudaOps g_ops;
bool g_registered = false;
void (*g_initializer)() = nullptr;
std::mutex g_init_mutex;
std::atomic<bool> g_allow_tf32{false};
std::atomic<bool> g_fold_bn_backward{false};
std::atomic<bool> g_tf32_wgmma{false};
}  // namespace

const CudaOps* cuda_ops() { return g_registered ? &g_ops : nullptr; }

void register_cuda_ops(const CudaOps& ops) {
  g_ops = ops;
  g_registered = true;
}

void set_cuda_initializer(void (*init)()) { g_initializer = init; }

void set_cuda_allow_tf32(bool on) { g_allow_tf32.store(on, std::memory_order_relaxed); }
bool cuda_allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
void set_cuda_fold_bn_backward(bool on) { g_fold_bn_backward.store(on, std::memory_order_relaxed); }
bool cuda_fold_bn_backward() { return g_fold_bn_backward.load(std::memory_order_relaxed); }
void set_cuda_tf32_wgmma(bool on) { g_tf32_wgmma.store(on, std::memory_order_relaxed); }
bool cuda_tf32_wgmma() { return g_tf32_wgmma.load(std::memory_order_relaxed); }

bool init_cuda_backend() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (!device_available(Device::CUDA) && g_initializer) g_initializer();
  return device_available(Device::CUDA);
}

}  // namespace senet
