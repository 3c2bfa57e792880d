// tests/emu/test_shared.cu — static and dynamic __shared__ memory and block barriers:
// tiled reduction, stencil with halo, 2-D tile transpose, __syncthreads_count/_and/_or, barriers
// after some threads exited.
// Rule: every kernel here is correct; its result is checked exactly against a host loop.
#include <numeric>

#include "tests/emu/emu_test.h"

namespace {
constexpr int kSharedBlock = 256;

__global__ void block_sum_static(const float* __restrict__ x, float* __restrict__ sums, int n) {
  __shared__ float s[kSharedBlock];
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  s[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = s[0];
}

__global__ void block_sum_dynamic(const float* __restrict__ x, float* __restrict__ sums, int n) {
  SENET_DYNAMIC_SHARED(float, s);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  s[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = s[0];
}

std::vector<float> host_block_sums(const std::vector<float>& x, int block) {
  std::vector<float> sums((x.size() + block - 1) / block, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) sums[i / block] += x[i];
  return sums;
}

TEST(EmuShared, TiledReductionStaticAndDynamic) {
  const int n = 1000;  // small integers: every partial sum is exact in float
  const auto x = iota_floats(n);
  const auto expect = host_block_sums(x, kSharedBlock);
  DeviceBuffer<float> dx(x), sums(expect.size());
  const dim3 grid(unsigned(expect.size()));
  CUDA_OK(senet::launch(block_sum_static, grid, dim3(kSharedBlock), 0, nullptr, dx.get(),
                        sums.get(), n));
  EXPECT_EQ(sums.download(), expect);
  CUDA_OK(senet::launch(block_sum_dynamic, grid, dim3(kSharedBlock), kSharedBlock * sizeof(float),
                        nullptr, dx.get(), sums.get(), n));
  EXPECT_EQ(sums.download(), expect);
}

// y[i] = x[i-1] + 2 x[i] + x[i+1] (zero outside), tile of blockDim + 2 halo cells.
__global__ void stencil3(const float* __restrict__ x, float* __restrict__ y, int n) {
  SENET_DYNAMIC_SHARED(float, tile);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  const int t = int(threadIdx.x) + 1;
  tile[t] = i < n ? x[i] : 0.0f;
  if (threadIdx.x == 0) tile[0] = i > 0 ? x[i - 1] : 0.0f;
  if (threadIdx.x == blockDim.x - 1) tile[t + 1] = i + 1 < n ? x[i + 1] : 0.0f;
  __syncthreads();
  if (i < n) y[i] = tile[t - 1] + 2.0f * tile[t] + tile[t + 1];
}

TEST(EmuShared, StencilWithHalo) {
  const int n = 300, block = 64;
  const auto x = iota_floats(n);
  DeviceBuffer<float> dx(x), dy(n);
  CUDA_OK(senet::launch(stencil3, dim3((n + block - 1) / block), dim3(block),
                        (block + 2) * sizeof(float), nullptr, dx.get(), dy.get(), n));
  const auto y = dy.download();
  for (int i = 0; i < n; ++i) {
    const float expect = (i > 0 ? x[i - 1] : 0.0f) + 2.0f * x[i] + (i + 1 < n ? x[i + 1] : 0.0f);
    ASSERT_EQ(y[i], expect) << i;
  }
}

// 2-D blocks: out = in^T through a padded static tile.
__global__ void transpose16(const float* __restrict__ in, float* __restrict__ out, int rows,
                            int cols) {
  __shared__ float tile[16][17];
  int c = int(blockIdx.x * 16 + threadIdx.x), r = int(blockIdx.y * 16 + threadIdx.y);
  if (r < rows && c < cols) tile[threadIdx.y][threadIdx.x] = in[r * cols + c];
  __syncthreads();
  c = int(blockIdx.y * 16 + threadIdx.x);
  r = int(blockIdx.x * 16 + threadIdx.y);
  if (r < cols && c < rows) out[r * rows + c] = tile[threadIdx.x][threadIdx.y];
}

TEST(EmuShared, TwoDimensionalTileTranspose) {
  const int rows = 37, cols = 50;
  const auto x = iota_floats(rows * cols);
  DeviceBuffer<float> in(x), out(x.size());
  CUDA_OK(senet::launch(transpose16, dim3(4, 3), dim3(16, 16), 0, nullptr, in.get(), out.get(),
                        rows, cols));
  const auto y = out.download();
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) ASSERT_EQ(y[c * rows + r], x[r * cols + c]);
}

__global__ void barrier_predicates(int* out) {
  const int t = int(threadIdx.x);
  const int count = __syncthreads_count(t % 3 == 0);
  const int all_small = __syncthreads_and(t < 1000);
  const int any_big = __syncthreads_or(t > 60);
  const int none = __syncthreads_or(0);
  const int not_all = __syncthreads_and(t != 5);
  if (t == 0) {
    out[0] = count, out[1] = all_small, out[2] = any_big, out[3] = none, out[4] = not_all;
  }
}

TEST(EmuShared, SyncthreadsCountAndOr) {
  DeviceBuffer<int> out(5);
  CUDA_OK(senet::launch(barrier_predicates, dim3(1), dim3(100), 0, nullptr, out.get()));
  EXPECT_EQ(out.download(), (std::vector<int>{34, 1, 1, 0, 0}));
}

// Threads past n return before the barriers; the rest must still get through them.
__global__ void sum_after_early_exit(const int* __restrict__ x, int* __restrict__ out, int n) {
  __shared__ int s[128];
  const int t = int(threadIdx.x);
  if (t >= n) return;
  s[t] = x[t];
  __syncthreads();
  if (t == 0) {
    int total = 0;
    for (int i = 0; i < n; ++i) total += s[i];
    s[0] = total;
  }
  __syncthreads();
  out[t] = s[0];
}

TEST(EmuShared, BarrierAfterSomeThreadsExited) {
  const int n = 100;
  std::vector<int> x(n);
  std::iota(x.begin(), x.end(), 1);
  DeviceBuffer<int> dx(x), out(n);
  CUDA_OK(
      senet::launch(sum_after_early_exit, dim3(1), dim3(128), 0, nullptr, dx.get(), out.get(), n));
  EXPECT_EQ(out.download(), std::vector<int>(n, n * (n + 1) / 2));
}

// Threads wait for a flag that the last thread sets; __nanosleep lets the others run meanwhile.
__global__ void spin_wait_for_flag(int* out) {
  __shared__ int flag, value;
  if (threadIdx.x == 0) atomicExch(&flag, 0);
  __syncthreads();
  if (threadIdx.x == blockDim.x - 1) {
    value = 42;
    __threadfence_block();
    atomicExch(&flag, 1);
  } else {
    while (atomicAdd(&flag, 0) == 0) __nanosleep(100);
  }
  __threadfence_block();
  out[threadIdx.x] = value;
}

TEST(EmuShared, SpinWaitWithNanosleep) {
  DeviceBuffer<int> out(64);
  CUDA_OK(senet::launch(spin_wait_for_flag, dim3(1), dim3(64), 0, nullptr, out.get()));
  EXPECT_EQ(out.download(), std::vector<int>(64, 42));
}

__global__ void read_dynamic_shared_unwritten(float* out) {
  SENET_DYNAMIC_SHARED(float, s);
  out[threadIdx.x] = s[threadIdx.x] + 1.0f;
}

TEST(EmuShared, DynamicSharedIsPoisonedAtBlockStart) {
  SKIP_ON_GPU("a GPU does not poison shared memory");
  DeviceBuffer<float> out(32);
  CUDA_OK(senet::launch(read_dynamic_shared_unwritten, dim3(3), dim3(32), 32 * sizeof(float),
                        nullptr, out.get()));
  for (float v : out.download()) EXPECT_TRUE(std::isnan(v));
}
}  // namespace
