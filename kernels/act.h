// kernels/act.h — the activation that ends a BatchNorm(-add) block, one enum for the kernels and
// the engine (engine/ops/activation.h, the CPU backend's BnAct and ConvInputMap, CudaBnAct).
//   None: a = z;   ReLU: a = max(z, 0);   MaskedReLU: a = m ? max(z, 0) : z (needs a mask m)
// Lowest layer (kernels/ knows no engine type, the engine may include kernels/), and no include:
// any host, emulated or nvcc-compiled file can use it.
#pragma once

namespace senet {

enum class Act : int { None = 0, ReLU = 1, MaskedReLU = 2 };

}  // namespace senet
