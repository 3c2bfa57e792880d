// kernels/host_device.h — SENET_HD: member functions of the small structs shared by host and device
// code (*_params, Conv2dGeom) are __host__ __device__ under nvcc and plain inline functions for g++
// (emulated kernels, the engine and host-only files alike). No other include, so engine headers may
// use it without pulling in a CUDA runtime.
#pragma once

#ifndef SENET_HD
#if defined(__CUDACC__)
#define SENET_HD __host__ __device__
#else
#define SENET_HD
#endif
#endif
