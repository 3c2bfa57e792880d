// engine/ops/dispatch.h — which backend runs an op. Ops are written as
//     check shapes → if (use_cuda(...)) cuda_ops()->…(raw pointers) else cpu::…(raw pointers)
//     → record backward (which dispatches the same way).
// The CUDA entry points are the CudaOps table (engine/cuda/cuda_ops.h), registered by the CUDA
// glue's senet::cuda::init(); without it a CUDA tensor is a clear error naming the op.
// require_cpu() is for an op that has no CUDA path: it turns a CUDA tensor into a clear error
// instead of handing device pointers to CPU code.
#pragma once
#include <initializer_list>

#include "engine/core/tensor.h"
#include "engine/cuda/cuda_ops.h"

namespace senet {

inline void require_cpu(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->defined())
      SENET_CHECK(t->device() == Device::CPU, op, ": tensor ", t->shape(), " is on device '",
                  device_name(t->device()),
                  "', but this op has no kernel for that device in this build");
}

// True when the op must run on the CUDA backend: some defined input is a CUDA tensor. Then every
// defined input must be on CUDA too (errors name both shapes) and a backend must be registered.
inline bool use_cuda(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first_cuda = nullptr;
  for (const Tensor* t : ts)
    if (t && t->defined() && t->is_cuda()) first_cuda = t;
  if (!first_cuda) return false;
  for (const Tensor* t : ts)
    if (t && t->defined())
      SENET_CHECK(t->is_cuda(), op, ": device mismatch: tensor ", t->shape(), " on ", t->device(),
                  " vs tensor ", first_cuda->shape(), " on cuda");
  SENET_CHECK(cuda_ops() != nullptr, op,
              ": CUDA tensors, but no CUDA backend is registered in this "
              "process (senet::cuda::init() from a binary that links senet_cuda_emu/_gpu)");
  return true;
}

// The registered table (use after use_cuda() returned true, or on tensors known to be on CUDA).
inline const CudaOps& cuda() {
  const CudaOps* o = cuda_ops();
  SENET_CHECK(o != nullptr, "no CUDA backend is registered in this process");
  return *o;
}

// Pass bits of an activation on the device: (n+31)/32 uint32 words (kernels/kernel_params.h).
inline Tensor cuda_pass_bits(int64_t n) {
  return Tensor::empty({(n + 31) / 32}, DType::I32, Device::CUDA);
}
inline uint32_t* bits_ptr(const Tensor& bits) {
  return bits.defined() ? reinterpret_cast<uint32_t*>(bits.data<int32_t>()) : nullptr;
}

// Optional pointers (undefined tensor → nullptr).
template <class T>
inline T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The upstream gradient of a scalar loss as the kernels take it: a device scalar, or (CPU tensor)
// a host value.
struct LossGrad {
  const float* device = nullptr;
  float scale = 1.f;
};
inline LossGrad loss_grad(const Tensor& dL) {
  if (dL.is_cuda()) return {dL.data<float>(), 1.f};
  return {nullptr, dL.item()};
}

}  // namespace senet
