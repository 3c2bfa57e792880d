// kernels/emu/host_runtime.h — the CUDA runtime API for host-only .cpp files (compiled by g++).
// Rule: a host file does not know which library it will be linked with, so the build tells it:
// senet_kernels_cuda defines SENET_KERNELS_CUDA=1 for its users (the real cuda_runtime.h);
// otherwise this is the emulator's runtime shim, and no device-side emulation is pulled in.
#pragma once
#if defined(__CUDACC__) || SENET_KERNELS_CUDA
#include <cuda_runtime.h>
#else
#include "kernels/emu/emu_control.h"
#include "kernels/emu/emu_runtime.h"
#endif
