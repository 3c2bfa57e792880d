// engine/ops/dispatch.h — which backend runs an op. Ops are written as
//     check shapes → if (is_cuda) cuda::…(raw pointers) else cpu::…(raw pointers) → record backward.
// Until an op has a CUDA kernel wired in, require_cpu() turns a CUDA tensor into a clear error
// naming the op, instead of handing device pointers to CPU code.
#pragma once
#include <initializer_list>

#include "engine/core/tensor.h"

namespace senet {

inline void require_cpu(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t && t->defined())
      SENET_CHECK(t->device() == Device::CPU, op, ": tensor ", t->shape(),
                  " is on device '", device_name(t->device()),
                  "', but this op has no kernel for that device in this build");
}

}  // namespace senet
