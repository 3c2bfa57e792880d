// tests/support/gpu_test_main.cu — main() of every GPU twin: a test binary built by nvcc from the
// same sources as an emulated test binary (tests/kernels/gpu → test_kernels, tests/emu/gpu →
// test_emu). The twin's CMakeLists names its emulated sibling in SENET_EMULATED_TWIN.
// Rule: no usable CUDA device → print why and exit 77, which CTest (SKIP_RETURN_CODE) reports as
// skipped. With a device, the environment below first checks that the device runs this binary's
// code (it holds machine code only for CMAKE_CUDA_ARCHITECTURES): a probe kernel's attributes
// load and its output is exact; if not, every test would fail one by one with the same launch
// error, so the run stops there with the reason.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#ifndef SENET_EMULATED_TWIN
#error "define SENET_EMULATED_TWIN: the name of the emulated test binary this GPU twin mirrors"
#endif

namespace {
__global__ void twin_probe(int* out) { out[threadIdx.x] = 3 * int(threadIdx.x) + 1; }

class DeviceRunsThisBinary : public ::testing::Environment {
 public:
  void SetUp() override {
    cudaFuncAttributes attr{};
    ASSERT_EQ(cudaFuncGetAttributes(&attr, twin_probe), cudaSuccess)
        << "this binary has no code for the device (built for CMAKE_CUDA_ARCHITECTURES): "
        << cudaGetErrorString(cudaGetLastError());
    int* d = nullptr;
    ASSERT_EQ(cudaMalloc(&d, 32 * sizeof(int)), cudaSuccess);
    twin_probe<<<1, 32>>>(d);
    const cudaError_t launched = cudaGetLastError();
    std::vector<int> h(32, -1);
    const cudaError_t copied =
        cudaMemcpy(h.data(), d, h.size() * sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(d);
    ASSERT_EQ(launched, cudaSuccess) << "probe launch: " << cudaGetErrorString(launched);
    ASSERT_EQ(copied, cudaSuccess) << "probe read-back: " << cudaGetErrorString(copied);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(h[size_t(i)], 3 * i + 1) << "probe lane " << i;
  }
};
}  // namespace

int main(int argc, char** argv) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    std::printf("SKIP: no CUDA device (%s); the emulated twin %s covers these tests\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "device count 0", SENET_EMULATED_TWIN);
    return 77;
  }
  testing::InitGoogleTest(&argc, argv);
  testing::AddGlobalTestEnvironment(new DeviceRunsThisBinary);  // gtest owns and deletes it
  return RUN_ALL_TESTS();
}
