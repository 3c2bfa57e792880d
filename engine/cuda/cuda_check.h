// engine/cuda/cuda_check.h — SENET_CUDA_CHECK(call): a failing CUDA runtime call or kernel
// launcher throws senet::Error naming file, line, the call's text and the CUDA error, e.g.
//   engine/cuda/ops_table.cpp:120: CUDA call failed: mrelu_bn_bwd(bp, t, stream()):
//   invalid argument (cudaErrorInvalidValue)
// Glue-only header (includes the CUDA runtime, real or emulated: kernels/emu/host_runtime.h).
#pragma once
#include "engine/core/error.h"
#include "kernels/emu/host_runtime.h"

#define SENET_CUDA_CHECK(call)                                                                    \
  do {                                                                                            \
    const cudaError_t senet_cuda_err_ = (call);                                                   \
    if (senet_cuda_err_ != cudaSuccess)                                                           \
      ::senet::fail(__FILE__, ":", __LINE__, ": CUDA call failed: ", #call, ": ",                 \
                    cudaGetErrorString(senet_cuda_err_), " (", cudaGetErrorName(senet_cuda_err_), \
                    ")");                                                                         \
  } while (0)
