// tests/emu/test_indexing.cu — built-in indices over 3-D grids and blocks, per-thread kernel
// parameters, vector types, and launch-configuration errors.
// Rule: every CUDA thread writes one slot computed from its indices; the host recomputes them.
#include "tests/emu/emu_test.h"

namespace {
__global__ void write_indices(int4* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[block * per_block + thread] = make_int4(int(block), int(thread), int(threadIdx.z),
                                              int(blockIdx.z * 100 + blockIdx.y * 10 + blockIdx.x));
}

TEST(EmuIndexing, ThreeDimensionalGridAndBlock) {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const unsigned blocks = 12, threads = 24;
  DeviceBuffer<int4> out(blocks * threads);
  CUDA_OK(senet::launch(write_indices, grid, block, 0, nullptr, out.get()));
  const auto h = out.download();
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t) {
      const int4 v = h[b * threads + t];
      ASSERT_EQ(v.x, int(b));
      ASSERT_EQ(v.y, int(t));
      ASSERT_EQ(v.z, int(t / 12));
      ASSERT_EQ(v.w, int(b / 6 * 100 + b / 3 % 2 * 10 + b % 3));
    }
}

// Each thread advances its own copy of `out` and `n`: copies must not leak between threads.
__global__ void modify_own_parameters(float* out, int n, float scale) {
  out += blockIdx.x * blockDim.x + threadIdx.x;
  n -= int(threadIdx.x);
  scale *= 2.0f;
  *out = float(n) * scale;
}

TEST(EmuIndexing, KernelModifiesItsOwnParameters) {
  DeviceBuffer<float> out(2 * 64);
  CUDA_OK(
      senet::launch(modify_own_parameters, dim3(2), dim3(64), 0, nullptr, out.get(), 1000, 0.5));
  const auto h = out.download();
  for (int i = 0; i < 128; ++i) ASSERT_EQ(h[i], float(1000 - i % 64)) << i;
}

__global__ void scale_float4(const float4* __restrict__ in, float4* __restrict__ out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  const float4 v = in[i];
  out[i] = make_float4(v.x * 2.0f, v.y * 3.0f, v.z + 1.0f, -v.w);
}

TEST(EmuIndexing, Float4LoadsAndStores) {
  static_assert(sizeof(float4) == 16 && alignof(float4) == 16);
  static_assert(sizeof(int4) == 16 && alignof(int4) == 16);
  static_assert(sizeof(float2) == 8 && alignof(float2) == 8);
  const int n = 100;
  std::vector<float4> h(n);
  for (int i = 0; i < n; ++i)
    h[i] = make_float4(float(i), float(i + 1), float(i + 2), float(i + 3));
  DeviceBuffer<float4> in(h), out(n);
  CUDA_OK(senet::launch(scale_float4, dim3(4), dim3(32), 0, nullptr, in.get(), out.get(), n));
  const auto r = out.download();
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(r[i].x, 2.0f * float(i));
    ASSERT_EQ(r[i].y, 3.0f * float(i + 1));
    ASSERT_EQ(r[i].z, float(i + 3));
    ASSERT_EQ(r[i].w, -float(i + 3));
  }
}

__global__ void noop(int*) {}

TEST(EmuIndexing, InvalidLaunchConfigurations) {
  DeviceBuffer<int> d(1);
  EXPECT_EQ(senet::launch(noop, dim3(1), dim3(1025), 0, nullptr, d.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // the launch helper already took the error
  EXPECT_EQ(senet::launch(noop, dim3(1), dim3(32, 32, 2), 0, nullptr, d.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(senet::launch(noop, dim3(1), dim3(1, 1, 65), 0, nullptr, d.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(senet::launch(noop, dim3(0), dim3(32), 0, nullptr, d.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(senet::launch(noop, dim3(1, 65536), dim3(32), 0, nullptr, d.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(senet::launch(noop, dim3(2, 3, 4), dim3(32, 32), 0, nullptr, d.get()), cudaSuccess);
}

TEST(EmuIndexing, DynamicSharedMemoryLimit) {
  SKIP_ON_GPU("the error code for too much shared memory varies by driver");
  DeviceBuffer<int> d(1);
  EXPECT_EQ(senet::launch(noop, dim3(1), dim3(32), 64 * 1024, nullptr, d.get()),
            cudaErrorInvalidValue);
  CUDA_OK(cudaFuncSetAttribute(noop, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  EXPECT_EQ(senet::launch(noop, dim3(1), dim3(32), 64 * 1024, nullptr, d.get()), cudaSuccess);
}
}  // namespace
