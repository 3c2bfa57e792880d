// kernels/kernel_params.h — small vocabulary shared by the host-callable kernel headers:
// SENET_HD (params member functions callable on host and device), the activation kind of the
// conv → BN → masked-ReLU family, and the layout of the 1-bit pass mask its forward writes.
// Pass bits: p = (no activation) || m == 0 || z > 0 for element i of the flattened N×K×P×Q
// tensor is bit (i mod 32) of uint32 word i/32. (On little-endian hosts this is byte-for-byte the
// CPU backend's uint64 layout, engine/cpu/activation.h.) Bits past the last element are 0.
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

// Member functions of params structs are called on both sides: __host__ __device__ under nvcc,
// plain inline functions for g++ (emulated kernels and host-only files alike).
#ifndef SENET_HD
#if defined(__CUDACC__)
#define SENET_HD __host__ __device__
#else
#define SENET_HD
#endif
#endif

namespace senet {

// a = act(z):  none: a = z;  relu: a = max(z, 0);  masked_relu: a = m ? max(z, 0) : z
enum class mrelu_act : int { none = 0, relu = 1, masked_relu = 2 };

inline int64_t pass_bits_words(int64_t n) { return (n + 31) / 32; }

}  // namespace senet
