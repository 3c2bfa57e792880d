// tests/support/gpu_test_main.cu — main() of every GPU twin: a test binary built by nvcc from the
// same sources as an emulated test binary (tests/kernels/gpu → test_kernels, tests/emu/gpu →
// test_emu). The twin's CMakeLists names its emulated sibling in SENET_EMULATED_TWIN.
// Rule: no usable CUDA device → print why and exit 77, which CTest (SKIP_RETURN_CODE) reports as
// skipped; otherwise run every test on the device.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>

#ifndef SENET_EMULATED_TWIN
#error "define SENET_EMULATED_TWIN: the name of the emulated test binary this GPU twin mirrors"
#endif

int main(int argc, char** argv) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    std::printf("SKIP: no CUDA device (%s); the emulated twin %s covers these tests\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "device count 0", SENET_EMULATED_TWIN);
    return 77;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
