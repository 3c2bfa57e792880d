// tests/emu/test_atomics_math.cu — atomics on global and shared memory (int and float), and the
// math intrinsics kernels use.
// Rule: atomic sums use values whose float sums are exact in any order; math is compared to the
// host's libm with a tolerance (intrinsics are never bit-identical to a GPU's).
#include <cmath>

#include "tests/emu/emu_test.h"

namespace {
__global__ void count_global(int* counter, float* fsum, unsigned long long* big) {
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicAdd(big, 3ull);
}

TEST(EmuAtomics, GlobalIntFloatAcrossBlocks) {
  DeviceBuffer<int> counter(1);
  DeviceBuffer<float> fsum(1);
  DeviceBuffer<unsigned long long> big(1);
  counter.zero(), fsum.zero(), big.zero();
  CUDA_OK(senet::launch(count_global, dim3(64), dim3(256), 0, nullptr, counter.get(), fsum.get(),
                        big.get()));
  EXPECT_EQ(counter.download()[0], 64 * 256);
  EXPECT_EQ(fsum.download()[0], 64 * 256 * 0.5f);
  EXPECT_EQ(big.download()[0], 3ull * 64 * 256);
}

// Per-block histogram of x mod 8 in shared memory, then merged into global.
__global__ void histogram8(const int* __restrict__ x, int n, int* __restrict__ hist,
                           float* __restrict__ weight) {
  __shared__ int local[8];
  __shared__ float local_w;
  if (threadIdx.x < 8) local[threadIdx.x] = 0;
  if (threadIdx.x == 0) local_w = 0.0f;
  __syncthreads();
  for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += int(gridDim.x * blockDim.x)) {
    atomicAdd(&local[x[i] % 8], 1);
    atomicAdd(&local_w, 0.25f);
  }
  __syncthreads();
  if (threadIdx.x < 8) atomicAdd(&hist[threadIdx.x], local[threadIdx.x]);
  if (threadIdx.x == 0) atomicAdd(weight, local_w);
}

TEST(EmuAtomics, SharedMemoryHistogram) {
  const int n = 5000;
  std::vector<int> x(n);
  std::vector<int> expect(8, 0);
  for (int i = 0; i < n; ++i) x[i] = (i * 7 + 3) % 101, ++expect[x[i] % 8];
  DeviceBuffer<int> dx(x), hist(8);
  DeviceBuffer<float> weight(1);
  hist.zero(), weight.zero();
  CUDA_OK(senet::launch(histogram8, dim3(6), dim3(128), 0, nullptr, dx.get(), n, hist.get(),
                        weight.get()));
  EXPECT_EQ(hist.download(), expect);
  EXPECT_EQ(weight.download()[0], n * 0.25f);
}

__global__ void other_atomics(int* v) {
  const int t = int(threadIdx.x);
  atomicMax(&v[0], t * 3 % 97);
  atomicMin(&v[1], 50 - t);
  atomicCAS(&v[2], 0, t + 1);  // only the first succeeds
  atomicOr(&v[3], 1 << (t % 31));
  atomicSub(&v[4], 2);
}

TEST(EmuAtomics, MaxMinCasOrSub) {
  DeviceBuffer<int> v(std::vector<int>{-1, 1000, 0, 0, 0});
  CUDA_OK(senet::launch(other_atomics, dim3(1), dim3(64), 0, nullptr, v.get()));
  const auto h = v.download();
  EXPECT_EQ(h[0], 96);
  EXPECT_EQ(h[1], 50 - 63);
  EXPECT_GE(h[2], 1);
  EXPECT_LE(h[2], 64);
  EXPECT_EQ(unsigned(h[3]), 0x7fffffffu);
  EXPECT_EQ(h[4], -128);
}

constexpr int kMath = 14;
__global__ void math_functions(const float* __restrict__ x, float* __restrict__ out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  const float v = x[i];
  float* o = out + i * kMath;
  o[0] = expf(v);
  o[1] = __expf(v);
  o[2] = rsqrtf(v + 3.0f);
  o[3] = fmaxf(v, 0.5f);
  o[4] = fminf(v, 0.5f);
  o[5] = __fdividef(v, 3.0f);
  o[6] = tanhf(v);
  o[7] = __logf(v + 3.0f);
  o[8] = __saturatef(v);
  o[9] = float(__float2int_rn(v * 10.0f));
  o[10] = fmaf(v, 2.0f, 1.0f);
  o[11] = sqrtf(v + 3.0f);
  o[12] = float(__popc(__float_as_uint(v)));
  o[13] = float(max(int(v * 4.0f), -3)) + __int_as_float(__float_as_int(v));
}

TEST(EmuMath, IntrinsicsMatchLibm) {
  std::vector<float> x;
  for (int i = -20; i <= 20; ++i) x.push_back(float(i) * 0.13f);
  const int n = int(x.size());
  DeviceBuffer<float> dx(x), out(size_t(n) * kMath);
  CUDA_OK(senet::launch(math_functions, dim3(2), dim3(32), 0, nullptr, dx.get(), out.get(), n));
  const auto h = out.download();
  for (int i = 0; i < n; ++i) {
    const double v = x[i];
    const double expect[kMath] = {std::exp(v),
                                  std::exp(v),
                                  1.0 / std::sqrt(v + 3.0),
                                  std::max(v, 0.5),
                                  std::min(v, 0.5),
                                  v / 3.0,
                                  std::tanh(v),
                                  std::log(v + 3.0),
                                  std::clamp(v, 0.0, 1.0),
                                  std::nearbyint(float(v) * 10.0f),
                                  v * 2.0 + 1.0,
                                  std::sqrt(v + 3.0),
                                  double(__builtin_popcount(std::bit_cast<unsigned>(x[i]))),
                                  double(std::max(int(x[i] * 4.0f), -3)) + v};
    for (int k = 0; k < kMath; ++k)  // 2 ulp-ish: __expf and friends are approximations on a GPU
      EXPECT_NEAR(h[i * kMath + k], expect[k], 2e-6 * std::max(1.0, std::fabs(expect[k])))
          << "function " << k << " at x=" << v;
  }
}
}  // namespace
