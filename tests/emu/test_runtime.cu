// tests/emu/test_runtime.cu — the runtime API: allocation poisoning, copies, sets, errors,
// streams, events, device queries, __constant__ symbols.
// Rule: behaviour a GPU shares is tested in both builds; emulation-only checks (poison, pointer
// range checks) skip on a GPU with the reason.
#include <algorithm>
#include <cmath>

#include "tests/emu/emu_test.h"

namespace {
__global__ void add_one(const float* __restrict__ x, float* __restrict__ y, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = x[i] + 1.0f;
}

TEST(EmuRuntime, CudaMallocIsPoisonedSoUninitialisedReadsAreNaN) {
  SKIP_ON_GPU("a GPU does not poison cudaMalloc");
  DeviceBuffer<float> x(64), y(64);  // x never written
  CUDA_OK(senet::launch(add_one, dim3(2), dim3(32), 0, nullptr, x.get(), y.get(), 64));
  for (float v : y.download()) EXPECT_TRUE(std::isnan(v));
  std::vector<unsigned> raw(4);
  CUDA_OK(cudaMemcpy(raw.data(), x.get(), 16, cudaMemcpyDeviceToHost));
  for (unsigned r : raw) EXPECT_EQ(r, 0xffffffffu);
}

TEST(EmuRuntime, CopiesAndSets) {
  const auto h = iota_floats(100);
  DeviceBuffer<float> a(h), b(100);
  CUDA_OK(cudaMemcpy(b.get(), a.get(), 100 * sizeof(float), cudaMemcpyDeviceToDevice));
  EXPECT_EQ(b.download(), h);
  CUDA_OK(cudaMemset(b.get(), 0, 50 * sizeof(float)));
  auto r = b.download();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(r[i], i < 50 ? 0.0f : h[i]);
  cudaStream_t s;
  CUDA_OK(cudaStreamCreate(&s));
  CUDA_OK(cudaMemsetAsync(a.get(), 0, 100 * sizeof(float), s));
  CUDA_OK(cudaMemcpyAsync(r.data(), a.get(), 100 * sizeof(float), cudaMemcpyDeviceToHost, s));
  CUDA_OK(cudaStreamSynchronize(s));
  CUDA_OK(cudaStreamDestroy(s));
  EXPECT_EQ(r, std::vector<float>(100, 0.0f));
}

TEST(EmuRuntime, ErrorsAreReportedAndCleared) {
  DeviceBuffer<float> a(4);
  float h[4] = {};
  EXPECT_EQ(cudaMemcpy(h, a.get(), sizeof h, cudaMemcpyKind(7)), cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration");
  EXPECT_STRNE(cudaGetErrorString(cudaErrorInvalidValue), "");
}

TEST(EmuRuntime, HostPointerUsedAsDevicePointerIsRejected) {
  SKIP_ON_GPU("the emulator checks device pointer ranges; a GPU's checks differ");
  DeviceBuffer<float> a(4);
  float h[4] = {};
  EXPECT_EQ(cudaMemcpy(h, h + 1, 4, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(h, a.get(), 5 * sizeof(float), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);  // past the end of the allocation
  EXPECT_EQ(cudaMemset(h, 0, sizeof h), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(h), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
  cudaGetLastError();
}

TEST(EmuRuntime, StreamsAndEventsAreSynchronous) {
  const auto h = iota_floats(256);
  DeviceBuffer<float> x(h), y(256);
  cudaStream_t s;
  cudaEvent_t start, stop;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  CUDA_OK(cudaEventRecord(start, s));
  CUDA_OK(senet::launch(add_one, dim3(4), dim3(64), 0, s, x.get(), y.get(), 256));
  CUDA_OK(cudaEventRecord(stop, s));
  CUDA_OK(cudaStreamWaitEvent(s, stop, 0));
  CUDA_OK(cudaEventSynchronize(stop));
  float ms = -1;
  CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
  EXPECT_GE(ms, 0.0f);
  CUDA_OK(cudaDeviceSynchronize());
  const auto r = y.download();
  for (int i = 0; i < 256; ++i) ASSERT_EQ(r[i], h[i] + 1.0f);
  CUDA_OK(cudaEventDestroy(start));
  CUDA_OK(cudaEventDestroy(stop));
  CUDA_OK(cudaStreamDestroy(s));
}

// emu::host_waits() models what makes a GPU's host wait: downloads into pageable memory,
// synchronous uploads and synchronisations, and uploads from pageable memory (the driver may
// synchronise first); an asynchronous copy either way to or from cudaMallocHost memory is not one.
// emu::allocator_calls() counts cudaMalloc/cudaFree and their page-locked twins.
TEST(EmuRuntime, HostWaitsCountPageableCopiesNotPinnedOnes) {
#if SENET_CUDA_EMULATION
  auto h = iota_floats(64);
  const int64_t a = emu::allocator_calls();
  DeviceBuffer<float> d(64);
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(&pinned, 64 * sizeof(float)));
  EXPECT_GE(emu::allocator_calls() - a, 2) << "cudaMalloc and cudaMallocHost";
  std::copy(h.begin(), h.end(), pinned);
  int64_t w = emu::host_waits();
  const size_t bytes = 64 * sizeof(float);
  CUDA_OK(cudaMemcpyAsync(d.get(), pinned, bytes, cudaMemcpyHostToDevice, nullptr));
  EXPECT_EQ(emu::host_waits() - w, 0) << "pinned upload";
  CUDA_OK(cudaMemcpyAsync(d.get(), h.data(), bytes, cudaMemcpyHostToDevice, nullptr));
  EXPECT_EQ(emu::host_waits() - w, 1) << "pageable upload";
  CUDA_OK(cudaMemcpyAsync(pinned, d.get(), bytes, cudaMemcpyDeviceToHost, nullptr));
  EXPECT_EQ(emu::host_waits() - w, 1) << "pinned download (asynchronous)";
  CUDA_OK(cudaMemcpyAsync(h.data(), d.get(), bytes, cudaMemcpyDeviceToHost, nullptr));
  EXPECT_EQ(emu::host_waits() - w, 2) << "pageable download";
  CUDA_OK(cudaMemcpy(d.get(), pinned, bytes, cudaMemcpyHostToDevice));
  EXPECT_EQ(emu::host_waits() - w, 3) << "synchronous upload";
  CUDA_OK(cudaStreamSynchronize(nullptr));
  EXPECT_EQ(emu::host_waits() - w, 4) << "stream sync";
  for (int i = 0; i < 64; ++i) ASSERT_EQ(pinned[i], h[size_t(i)]);
  const int64_t f = emu::allocator_calls();
  CUDA_OK(cudaFreeHost(pinned));
  EXPECT_EQ(emu::allocator_calls() - f, 1) << "cudaFreeHost";
#else
  GTEST_SKIP() << "emu::host_waits() exists only under emulation";
#endif
}

// emu::set_event_query_lag: a device that runs behind, for code that polls. An event recorded
// with lag n answers cudaEventQuery NotReady n times, then Success; cudaEventSynchronize (a host
// wait) makes it ready at once.
TEST(EmuRuntime, EventQueryLagModelsADeviceThatRunsBehind) {
#if SENET_CUDA_EMULATION
  cudaEvent_t e = nullptr;
  CUDA_OK(cudaEventCreate(&e));
  emu::set_event_query_lag(2);
  CUDA_OK(cudaEventRecord(e, nullptr));
  EXPECT_EQ(cudaEventQuery(e), cudaErrorNotReady);
  EXPECT_EQ(cudaEventQuery(e), cudaErrorNotReady);
  EXPECT_EQ(cudaEventQuery(e), cudaSuccess);
  CUDA_OK(cudaEventRecord(e, nullptr));
  EXPECT_EQ(cudaEventQuery(e), cudaErrorNotReady);
  const int64_t w = emu::host_waits();
  CUDA_OK(cudaEventSynchronize(e));
  EXPECT_EQ(emu::host_waits() - w, 1);
  EXPECT_EQ(cudaEventQuery(e), cudaSuccess);
  emu::set_event_query_lag(0);
  CUDA_OK(cudaEventRecord(e, nullptr));
  EXPECT_EQ(cudaEventQuery(e), cudaSuccess);
  CUDA_OK(cudaEventDestroy(e));
#else
  GTEST_SKIP() << "emu::set_event_query_lag exists only under emulation";
#endif
}

TEST(EmuRuntime, DeviceQueries) {
  int n = 0, dev = -1;
  CUDA_OK(cudaGetDeviceCount(&n));
  EXPECT_GE(n, 1);
  CUDA_OK(cudaSetDevice(0));
  CUDA_OK(cudaGetDevice(&dev));
  EXPECT_EQ(dev, 0);
  cudaDeviceProp p;
  CUDA_OK(cudaGetDeviceProperties(&p, 0));
  EXPECT_EQ(p.warpSize, 32);
  EXPECT_GE(p.maxThreadsPerBlock, 1024);
  EXPECT_GE(p.sharedMemPerBlock, 48u * 1024);
  EXPECT_GE(p.multiProcessorCount, 1);
  if (emu::is_emulated()) {
    EXPECT_EQ(n, 1);
    EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
    cudaGetLastError();
  }
}

__constant__ float g_coeffs[4];

__global__ void apply_coeffs(float* y) { y[threadIdx.x] = g_coeffs[threadIdx.x] * 2.0f; }

TEST(EmuRuntime, ConstantMemorySymbol) {
  const float c[4] = {1, 2, 3, 4};
  CUDA_OK(cudaMemcpyToSymbol(g_coeffs, c, sizeof c));
  DeviceBuffer<float> y(4);
  CUDA_OK(senet::launch(apply_coeffs, dim3(1), dim3(4), 0, nullptr, y.get()));
  EXPECT_EQ(y.download(), (std::vector<float>{2, 4, 6, 8}));
}
}  // namespace
