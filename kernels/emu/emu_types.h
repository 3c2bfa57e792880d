// kernels/emu/emu_types.h — CUDA's types for the CPU emulation: dim3, uint3, the vector types
// (float4, int4, ...) with make_*, cudaError_t and the runtime's enums and structs.
// Rule: same names, layouts, alignments and error numbers as cuda_runtime.h (CUDA 12/13), so a .cu
// file compiles unchanged in both modes. Only what kernels and tests here use; add by need.
#pragma once
#include <cstddef>
#include <cstdint>

struct uint3 {
  unsigned x, y, z;
};
inline constexpr uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

#define SENET_EMU_VEC2(T, N, A) \
  struct alignas(A) N {         \
    T x, y;                     \
  };                            \
  inline constexpr N make_##N(T x, T y) { return {x, y}; }
#define SENET_EMU_VEC3(T, N) \
  struct N {                 \
    T x, y, z;               \
  };                         \
  inline constexpr N make_##N(T x, T y, T z) { return {x, y, z}; }
#define SENET_EMU_VEC4(T, N, A) \
  struct alignas(A) N {         \
    T x, y, z, w;               \
  };                            \
  inline constexpr N make_##N(T x, T y, T z, T w) { return {x, y, z, w}; }
SENET_EMU_VEC2(float, float2, 8)
SENET_EMU_VEC3(float, float3)
SENET_EMU_VEC4(float, float4, 16)
SENET_EMU_VEC2(int, int2, 8)
SENET_EMU_VEC3(int, int3)
SENET_EMU_VEC4(int, int4, 16)
SENET_EMU_VEC2(unsigned, uint2, 8)
SENET_EMU_VEC4(unsigned, uint4, 16)
SENET_EMU_VEC2(double, double2, 16)
SENET_EMU_VEC4(unsigned char, uchar4, 4)
SENET_EMU_VEC4(signed char, char4, 4)
#undef SENET_EMU_VEC2
#undef SENET_EMU_VEC3
#undef SENET_EMU_VEC4

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidSymbol = 13,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  // Stream capture (kernels/emu/graph.cpp): what CUDA returns for a call a capture cannot record.
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureMerge = 902,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureUnjoined = 904,
  cudaErrorStreamCaptureIsolation = 905,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorCapturedEvent = 907,
  cudaErrorUnknown = 999,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

struct CUstream_st;  // opaque, as in CUDA; defined in runtime.cpp
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;
constexpr unsigned cudaStreamDefault = 0x0, cudaStreamNonBlocking = 0x1;
constexpr unsigned cudaEventDefault = 0x0, cudaEventBlockingSync = 0x1,
                   cudaEventDisableTiming = 0x2;
constexpr unsigned cudaMemAttachGlobal = 0x1;

// CUDA graphs (kernels/emu/graph.cpp): a stream capture records work into a graph; an instantiated
// graph (exec) replays it with one launch.
struct CUgraph_st;
struct CUgraphExec_st;
struct CUgraphNode_st;
using cudaGraph_t = CUgraph_st*;
using cudaGraphExec_t = CUgraphExec_st*;
using cudaGraphNode_t = CUgraphNode_st*;
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

struct cudaDeviceProp {  // the fields portable code reads; the emulator fills them in
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  size_t sharedMemPerMultiprocessor;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int multiProcessorCount;
  int maxThreadsPerMultiProcessor;
  int major;
  int minor;
  int l2CacheSize;
};
