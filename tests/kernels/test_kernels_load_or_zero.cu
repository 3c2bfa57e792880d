// tests/kernels/test_kernels_load_or_zero.cu — kernels/load_or_zero.cuh on its own: the gathers'
// predicated load (inline PTX under nvcc, `in ? *p : 0` under emulation). Each thread loads its
// element or, when not `in`, gets +0.0f without touching memory: its pointer is then null, which
// a load that was not predicated off would fault on (test_kernels_gpu) or the emulation would
// crash on. Every bit of the loaded values must pass: −0.0, ±inf, a NaN payload, a denormal.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/load_or_zero.cuh"
#include "tests/kernels/cuda_test.h"

using namespace senet;
using namespace senet::cudatest;

namespace load_or_zero_tests {  // named: the test binaries are unity builds (tests/CMakeLists.txt)

__global__ void load_or_zero_kernel(const float* __restrict__ x, const int* __restrict__ in,
                                    float* __restrict__ y, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  const bool take = in[i] != 0;
  y[i] = detail::load_or_zero(take ? x + i : nullptr, take);
}

uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

}  // namespace load_or_zero_tests

using namespace load_or_zero_tests;

TEST(LoadOrZero, LoadsEveryBitWhenInAndZeroWithoutTouchingMemoryWhenNot) {
  uint32_t nan_payload = 0x7fc01234u;
  float nan;
  std::memcpy(&nan, &nan_payload, sizeof nan);
  const std::vector<float> special = {-0.0f, 1.0f, -3.5f, INFINITY, -INFINITY, nan, 0x1p-140f};
  std::vector<float> x;
  std::vector<int> in;
  for (int i = 0; i < 300; ++i) {  // more than one block, a partial last warp
    x.push_back(i < int(special.size()) ? special[size_t(i)] : float(i) - 150.5f);
    in.push_back(i % 3 != 1);
  }
  for (size_t i = 0; i < special.size(); ++i) in.push_back(0), x.push_back(special[i]);
  DeviceBuffer<float> dx(x), dy(x.size());
  DeviceBuffer<int> din(in);
  const int n = int(x.size());
  CUDA_OK(launch(load_or_zero_kernel, dim3(unsigned((n + 127) / 128)), dim3(128), 0, nullptr,
                 dx.get(), din.get(), dy.get(), n));
  const std::vector<float> y = dy.download();
  int taken = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t want = in[size_t(i)] ? bits_of(x[size_t(i)]) : 0u;  // +0.0f, not −0.0f
    ASSERT_EQ(bits_of(y[size_t(i)]), want) << "element " << i << " in=" << in[size_t(i)];
    taken += in[size_t(i)];
  }
  EXPECT_EQ(taken, 200);
}
