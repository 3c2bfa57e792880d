// kernels/kernel_params.h — small vocabulary shared by the host-callable kernel headers:
// SENET_HD (params member functions callable on host and device, kernels/host_device.h), the
// activation kind of the conv → BN → masked-ReLU family (Act, kernels/act.h), and the layout of the
// 1-bit pass mask its forward writes.
// Pass bits: p = (no activation) || m == 0 || z > 0 for element i of the flattened N×K×P×Q
// tensor is bit (i mod 32) of uint32 word i/32. (On little-endian hosts this is byte-for-byte the
// CPU backend's uint64 layout, engine/cpu/activation.h.) Bits past the last element are 0.
#pragma once
#include <cstdint>

#include "kernels/act.h"
#include "kernels/emu/host_runtime.h"
#include "kernels/host_device.h"

namespace senet {

inline int64_t pass_bits_words(int64_t n) { return (n + 31) / 32; }

}  // namespace senet
