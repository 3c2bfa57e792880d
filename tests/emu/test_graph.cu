// tests/emu/test_graph.cu — stream capture and CUDA graphs (kernels/emu/graph.cpp): what a capture
// records, what each replay reads (kernel arguments as captured, memory as it is then), forks and
// joins across streams, and the calls a capture refuses with the GPU's error codes.
// Rule: as every tests/emu file, these run on a GPU too (test_emu_gpu); checks of the emulator's
// own counters skip there.
#include <vector>

#include "tests/emu/emu_test.h"

namespace {
__global__ void affine(float* y, float a, float b, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = a * y[i] + b;
}
__global__ void scale_by(float* y, const float* a, int n) {  // the factor read from memory
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] *= *a;
}

// A stream that, when it goes, first ends a capture a failed assertion left running (so one failure
// does not leave the legacy stream unusable for the rest of the binary).
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { EXPECT_EQ(cudaStreamCreate(&s), cudaSuccess); }
  ~Stream() {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(s, &status) == cudaSuccess && status != cudaStreamCaptureStatusNone) {
      cudaGraph_t g = nullptr;
      if (cudaStreamEndCapture(s, &g) == cudaSuccess && g) cudaGraphDestroy(g);
    }
    (void)cudaGetLastError();
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
  }
};
struct Event {
  cudaEvent_t e = nullptr;
  Event() { EXPECT_EQ(cudaEventCreate(&e), cudaSuccess); }
  ~Event() { EXPECT_EQ(cudaEventDestroy(e), cudaSuccess); }
};

// Ends the capture of s and instantiates its graph (the graph itself is destroyed: an executable
// graph stands alone).
cudaGraphExec_t end_and_instantiate(cudaStream_t s, size_t* nodes = nullptr) {
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
  if (!g) return nullptr;
  if (nodes) {
    EXPECT_EQ(cudaGraphGetNodes(g, nullptr, nodes), cudaSuccess);
  }
  cudaGraphExec_t x = nullptr;
  EXPECT_EQ(cudaGraphInstantiate(&x, g, 0), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(g), cudaSuccess);
  return x;
}

TEST(EmuGraph, CapturedLaunchesRunOnlyAtEachGraphLaunch) {
  DeviceBuffer<float> y(iota_floats(40));
  Stream st;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_OK(cudaStreamIsCapturing(st.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  CUDA_OK(senet::launch(affine, dim3(2), dim3(32), 0, st.s, y.get(), 2.0f, 1.0f, 40));
  CUDA_OK(senet::launch(affine, dim3(2), dim3(32), 0, st.s, y.get(), 1.0f, -3.0f, 40));
  size_t nodes = 0;
  cudaGraphExec_t x = end_and_instantiate(st.s, &nodes);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(nodes, 2u);
  CUDA_OK(cudaStreamIsCapturing(st.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  EXPECT_EQ(y.download(), iota_floats(40)) << "a captured launch ran during the capture";

  for (int rep = 0; rep < 3; ++rep) CUDA_OK(cudaGraphLaunch(x, st.s));
  CUDA_OK(cudaStreamSynchronize(st.s));
  std::vector<float> want = iota_floats(40);
  for (float& v : want)
    for (int rep = 0; rep < 3; ++rep) v = 2 * v - 2;  // small integers: exact in every order
  EXPECT_EQ(y.download(), want);
  CUDA_OK(cudaGraphExecDestroy(x));
}

// What a training step's graph relies on: a value argument is frozen at capture (a learning rate
// passed by value would be), memory is read at each replay (one kept on the device is current).
TEST(EmuGraph, ArgumentsAreFixedAtCaptureMemoryIsReadAtReplay) {
  DeviceBuffer<float> y(std::vector<float>(32, 1.0f)), factor(std::vector<float>{2.0f});
  Stream st;
  float by_value = 3.0f;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, st.s, y.get(), by_value, 0.0f, 32));
  CUDA_OK(senet::launch(scale_by, dim3(1), dim3(32), 0, st.s, y.get(), factor.get(), 32));
  cudaGraphExec_t x = end_and_instantiate(st.s);
  ASSERT_NE(x, nullptr);
  by_value = 100.0f;                        // too late: the graph holds 3
  factor.upload(std::vector<float>{5.0f});  // read at the replay
  CUDA_OK(cudaGraphLaunch(x, st.s));
  CUDA_OK(cudaStreamSynchronize(st.s));
  EXPECT_EQ(y.download(), std::vector<float>(32, 15.0f));
  CUDA_OK(cudaGraphExecDestroy(x));
}

TEST(EmuGraph, CopiesAndSetsReplayWithTheContentsAtReplayTime) {
  DeviceBuffer<float> src(iota_floats(16)), dst(16), zeroed(std::vector<float>(16, 7.0f));
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(&pinned, 16 * sizeof(float)));
  for (int i = 0; i < 16; ++i) pinned[i] = -1.0f;
  Stream st;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  CUDA_OK(
      cudaMemcpyAsync(dst.get(), src.get(), 16 * sizeof(float), cudaMemcpyDeviceToDevice, st.s));
  CUDA_OK(cudaMemsetAsync(zeroed.get(), 0, 16 * sizeof(float), st.s));
  CUDA_OK(cudaMemcpyAsync(pinned, dst.get(), 16 * sizeof(float), cudaMemcpyDeviceToHost, st.s));
  size_t nodes = 0;
  cudaGraphExec_t x = end_and_instantiate(st.s, &nodes);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(nodes, 3u);
  EXPECT_EQ(pinned[0], -1.0f) << "a captured copy ran during the capture";
  src.upload(iota_floats(16, 100.0f));
  CUDA_OK(cudaGraphLaunch(x, st.s));
  CUDA_OK(cudaStreamSynchronize(st.s));
  EXPECT_EQ(dst.download(), iota_floats(16, 100.0f));
  EXPECT_EQ(std::vector<float>(pinned, pinned + 16), iota_floats(16, 100.0f));
  EXPECT_EQ(zeroed.download(), std::vector<float>(16, 0.0f));
  CUDA_OK(cudaGraphExecDestroy(x));
  CUDA_OK(cudaFreeHost(pinned));
}

// A capture may not wait for its own work: the sync is refused, the capture is invalidated, and
// the stream works as before once the capture has ended.
TEST(EmuGraph, SynchronisingACaptureIsRefusedAndInvalidatesIt) {
  DeviceBuffer<float> y(iota_floats(8));
  Stream st;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, st.s, y.get(), 2.0f, 0.0f, 8));
  EXPECT_EQ(cudaStreamSynchronize(st.s), cudaErrorStreamCaptureUnsupported);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_OK(cudaStreamIsCapturing(st.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(g, nullptr);
  (void)cudaGetLastError();
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, st.s, y.get(), 1.0f, 1.0f, 8));
  CUDA_OK(cudaStreamSynchronize(st.s));
  EXPECT_EQ(y.download(), iota_floats(8, 2.0f));  // only the launch after the capture ran
}

// Global mode: work on the legacy stream and cudaMalloc are refused while a capture is active.
TEST(EmuGraph, LegacyStreamWorkAndMallocDuringAGlobalCaptureAreRefused) {
  DeviceBuffer<float> y(iota_floats(8));
  Stream st;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(senet::launch(affine, dim3(1), dim3(32), 0, nullptr, y.get(), 2.0f, 0.0f, 8),
            cudaErrorStreamCaptureImplicit);
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();

  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 256), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();
  EXPECT_EQ(y.download(), iota_floats(8));
}

// A fork: stream b joins a's capture by waiting on an event recorded in a, and must be joined
// back (a waits on an event recorded in b after b's work) before a's capture ends.
TEST(EmuGraph, AForkedStreamJoinsTheCaptureAndMustJoinBack) {
  DeviceBuffer<float> y(iota_floats(8)), z(iota_floats(8));
  Stream a, b;
  Event fork, join;
  CUDA_OK(cudaStreamBeginCapture(a.s, cudaStreamCaptureModeGlobal));
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, a.s, y.get(), 2.0f, 0.0f, 8));
  CUDA_OK(cudaEventRecord(fork.e, a.s));
  CUDA_OK(cudaStreamWaitEvent(b.s, fork.e, 0));
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_OK(cudaStreamIsCapturing(b.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, b.s, z.get(), 1.0f, 10.0f, 8));
  CUDA_OK(cudaEventRecord(join.e, b.s));
  CUDA_OK(cudaStreamWaitEvent(a.s, join.e, 0));
  size_t nodes = 0;
  cudaGraphExec_t x = end_and_instantiate(a.s, &nodes);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(nodes, 2u);
  CUDA_OK(cudaStreamIsCapturing(b.s, &status));
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  CUDA_OK(cudaGraphLaunch(x, a.s));
  CUDA_OK(cudaStreamSynchronize(a.s));
  EXPECT_EQ(y.download(), iota_floats(8, 2.0f, 2.0f));
  EXPECT_EQ(z.download(), iota_floats(8, 11.0f));
  CUDA_OK(cudaGraphExecDestroy(x));
}

TEST(EmuGraph, AForkNotJoinedBackFailsTheCapture) {
  DeviceBuffer<float> z(iota_floats(8));
  Stream a, b;
  Event fork;
  CUDA_OK(cudaStreamBeginCapture(a.s, cudaStreamCaptureModeGlobal));
  CUDA_OK(cudaEventRecord(fork.e, a.s));
  CUDA_OK(cudaStreamWaitEvent(b.s, fork.e, 0));
  CUDA_OK(senet::launch(affine, dim3(1), dim3(32), 0, b.s, z.get(), 1.0f, 10.0f, 8));
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(a.s, &g), cudaErrorStreamCaptureUnjoined);
  EXPECT_EQ(g, nullptr);
  (void)cudaGetLastError();
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_EQ(z.download(), iota_floats(8));
}

// A capture may only depend on its own work: waiting on an event recorded outside it is refused.
// An event recorded inside it cannot be queried.
TEST(EmuGraph, EventsAcrossTheCaptureBoundaryAreRefused) {
  Stream a, b;
  Event outside, inside;
  CUDA_OK(cudaEventRecord(outside.e, b.s));
  CUDA_OK(cudaStreamBeginCapture(a.s, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(cudaStreamWaitEvent(a.s, outside.e, 0), cudaErrorStreamCaptureIsolation);
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(a.s, &g), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();

  CUDA_OK(cudaStreamBeginCapture(a.s, cudaStreamCaptureModeRelaxed));
  CUDA_OK(cudaEventRecord(inside.e, a.s));
  EXPECT_EQ(cudaEventQuery(inside.e), cudaErrorCapturedEvent);
  (void)cudaGetLastError();
  if (cudaStreamEndCapture(a.s, &g) == cudaSuccess) {
    CUDA_OK(cudaGraphDestroy(g));
  }
  (void)cudaGetLastError();
}

// The emulator's counters: a graph launch is one host call, its kernels run (and count) at the
// launch, and neither the capture nor the replay makes the host wait.
TEST(EmuGraph, AReplayIsOneGraphLaunchWithoutHostWaits) {
#if !SENET_CUDA_EMULATION
  GTEST_SKIP() << "emulation only: emulator counters";
#else
  DeviceBuffer<float> y(iota_floats(64));
  Stream st;
  const int64_t waits0 = emu::host_waits(), launches0 = emu::launches();
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  for (int k = 0; k < 5; ++k)
    CUDA_OK(senet::launch(affine, dim3(2), dim3(32), 0, st.s, y.get(), 1.0f, 1.0f, 64));
  cudaGraphExec_t x = end_and_instantiate(st.s);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(emu::launches(), launches0) << "the capture ran kernels";
  const int64_t graphs0 = emu::graph_launches();
  CUDA_OK(cudaGraphLaunch(x, st.s));
  CUDA_OK(cudaGraphLaunch(x, st.s));
  EXPECT_EQ(emu::graph_launches() - graphs0, 2);
  EXPECT_EQ(emu::launches() - launches0, 10);
  EXPECT_EQ(emu::host_waits(), waits0);
  EXPECT_EQ(y.download(), iota_floats(64, 11.0f));
  CUDA_OK(cudaGraphExecDestroy(x));
#endif
}

// The emulator refuses a pageable host copy into a capture (a replay would touch the host buffer
// after the call returned); the CUDA documentation leaves it to the driver.
TEST(EmuGraph, APageableCopyIntoACaptureIsRefused) {
  SKIP_ON_GPU("the emulator's stricter rule");
  DeviceBuffer<float> y(8);
  std::vector<float> pageable(8, 1.0f);
  Stream st;
  CUDA_OK(cudaStreamBeginCapture(st.s, cudaStreamCaptureModeGlobal));
  EXPECT_EQ(
      cudaMemcpyAsync(y.get(), pageable.data(), 8 * sizeof(float), cudaMemcpyHostToDevice, st.s),
      cudaErrorStreamCaptureUnsupported);
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(st.s, &g), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();
}

}  // namespace
