// tests/emu/test_race_check.cu — the race check by schedule permutation, the schedule knobs, and
// the deadlock report.
// Rule: three deliberately racy kernels (a missing barrier or __syncwarp) MUST give different
// outputs under different schedules; their fixed twins must give identical ones.
#include <cstdio>

#include "kernels/emu/race_check.h"
#include "tests/emu/emu_test.h"

namespace {
constexpr int kBlock = 128;

template <bool kFixed>
__global__ void tree_sum(const float* __restrict__ x, float* __restrict__ sums) {
  __shared__ float s[kBlock];
  s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    if (kFixed) __syncthreads();  // the racy twin forgets this barrier
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = s[0];
}

template <bool kFixed>
__global__ void stencil_halo(const float* __restrict__ x, float* __restrict__ y) {
  __shared__ float tile[kBlock + 2];
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x), n = int(gridDim.x * blockDim.x);
  tile[threadIdx.x + 1] = x[i];
  if (threadIdx.x == 0) tile[0] = i > 0 ? x[i - 1] : 0.0f;
  if (threadIdx.x == blockDim.x - 1) tile[kBlock + 1] = i + 1 < n ? x[i + 1] : 0.0f;
  if (kFixed) __syncthreads();  // the racy twin reads neighbours before they are written
  y[i] = tile[threadIdx.x] - 2.0f * tile[threadIdx.x + 1] + tile[threadIdx.x + 2];
}

// Warp-synchronous reduction of the last 64 values, the pre-Volta idiom.
template <bool kFixed>
__global__ void warp_tail_sum(const float* __restrict__ x, float* __restrict__ sums) {
  __shared__ float s[kBlock];
  s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  if (threadIdx.x < 64) s[threadIdx.x] += s[threadIdx.x + 64];
  __syncthreads();
  if (threadIdx.x < 32) {
    volatile float* v = s;
    for (int d = 32; d > 0; d /= 2) {
      const float other = v[threadIdx.x + d];
      if (kFixed) __syncwarp();
      v[threadIdx.x] = v[threadIdx.x] + other;
      if (kFixed) __syncwarp();
    }
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = s[0];
}

// Prints the divergence (the README quotes these figures) and checks it is large.
void expect_detected(double divergence, const char* what) {
  std::printf("[ racy     ] %s: schedule divergence %.3g\n", what, divergence);
  EXPECT_GT(divergence, 1e-3) << what << ": the race check missed a deliberate race";
}

template <class Kernel>
auto runner(Kernel kernel, int blocks, int outputs) {
  // Inputs: distinct values so that any wrong read changes the output.
  return [=] {
    const auto x = iota_floats(size_t(blocks) * kBlock, 1.0f, 0.37f);
    DeviceBuffer<float> dx(x), out{size_t(outputs)};
    EXPECT_EQ(senet::launch(kernel, dim3(blocks), dim3(kBlock), 0, nullptr, dx.get(), out.get()),
              cudaSuccess);
    return out.download();
  };
}

TEST(EmuRaceCheck, MissingBarrierInTreeReductionIsDetected) {
  SKIP_ON_GPU("schedule permutation is an emulator feature");
  expect_detected(emu::schedule_divergence(runner(tree_sum<false>, 4, 4)), "tree reduction");
  EXPECT_RACE_FREE(runner(tree_sum<true>, 4, 4), 0.0);
}

TEST(EmuRaceCheck, MissingBarrierInStencilHaloIsDetected) {
  SKIP_ON_GPU("schedule permutation is an emulator feature");
  expect_detected(emu::schedule_divergence(runner(stencil_halo<false>, 3, 3 * kBlock)),
                  "stencil halo");
  EXPECT_RACE_FREE(runner(stencil_halo<true>, 3, 3 * kBlock), 0.0);
}

TEST(EmuRaceCheck, MissingSyncwarpInWarpReductionIsDetected) {
  SKIP_ON_GPU("schedule permutation is an emulator feature");
  expect_detected(emu::schedule_divergence(runner(warp_tail_sum<false>, 2, 2)),
                  "warp reduction without __syncwarp");
  EXPECT_RACE_FREE(runner(warp_tail_sum<true>, 2, 2), 0.0);
}

__global__ void float_atomic_sum(const float* __restrict__ x, float* __restrict__ out) {
  atomicAdd(out, x[blockIdx.x * blockDim.x + threadIdx.x]);
}

TEST(EmuRaceCheck, FloatAtomicsDifferOnlyByRounding) {
  const auto run = [] {
    const auto x = iota_floats(8 * kBlock, 0.1f, 0.013f);
    DeviceBuffer<float> dx(x), out(1);
    out.zero();
    EXPECT_EQ(
        senet::launch(float_atomic_sum, dim3(8), dim3(kBlock), 0, nullptr, dx.get(), out.get()),
        cudaSuccess);
    return out.download();
  };
  const double d = emu::schedule_divergence(run);
  std::printf("[ atomics  ] float atomicAdd sum: schedule divergence %.3g\n", d);
  EXPECT_LE(d, 1e-5);
}

#if SENET_CUDA_EMULATION  // the rest is about the emulator itself
// Each thread appends its index in the order threads run: shows the schedule itself.
__global__ void record_order(int* counter, int* order) {
  order[atomicAdd(counter, 1)] = int(threadIdx.x);
}

TEST(EmuRaceCheck, SchedulesOrderThreads) {
  auto run = [](emu::ScheduleSpec s) {
    emu::ScopedSchedule scope(s);
    DeviceBuffer<int> counter(1), order(64);
    counter.zero();
    EXPECT_EQ(
        senet::launch(record_order, dim3(1), dim3(64), 0, nullptr, counter.get(), order.get()),
        cudaSuccess);
    return order.download();
  };
  const auto fwd = run({emu::Schedule::Forward, 0}), rev = run({emu::Schedule::Reverse, 0});
  const auto r1 = run({emu::Schedule::Random, 1}), r1b = run({emu::Schedule::Random, 1});
  for (int i = 0; i < 64; ++i) ASSERT_EQ(fwd[i], i);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(rev[i], 63 - i);
  EXPECT_EQ(r1, r1b);  // seeded: reproducible
  EXPECT_NE(r1, fwd);
  emu::ScheduleSpec parsed;
  ASSERT_TRUE(emu::parse_schedule("random:42", &parsed));
  EXPECT_EQ(parsed.kind, emu::Schedule::Random);
  EXPECT_EQ(parsed.seed, 42u);
  EXPECT_EQ(emu::to_string(parsed), "random:42");
  EXPECT_FALSE(emu::parse_schedule("sideways", &parsed));
}

// Half the block skips the first barrier and meets the others at a different one.
__global__ void half_skip_barrier(float* out) {
  if (threadIdx.x < 32) __syncthreads();
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

// Lanes 0-15 wait at a barrier while lanes 16-31 wait in a shuffle that needs them.
__global__ void barrier_vs_shuffle(float* out) {
  float v = float(threadIdx.x);
  if (threadIdx.x % 32 < 16) __syncthreads();
  v = __shfl_xor_sync(0xffffffffu, v, 16);
  out[threadIdx.x] = v;
}

TEST(EmuDeadlockDeathTest, HalfTheThreadsSkipABarrier) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeviceBuffer<float> out(64);
  EXPECT_DEATH(
      senet::launch(half_skip_barrier, dim3(1), dim3(64), 0, nullptr, out.get()),
      "DEADLOCK(.|\n)*threads \\(0,0,0\\)\\.\\.\\(31,0,0\\) \\[32\\]: wait at __syncthreads"
      "(.|\n)*threads \\(32,0,0\\)\\.\\.\\(63,0,0\\) \\[32\\]: wait at __syncthreads");
}

TEST(EmuDeadlockDeathTest, BarrierAgainstShuffle) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeviceBuffer<float> out(32);
  EXPECT_DEATH(senet::launch(barrier_vs_shuffle, dim3(1), dim3(32), 0, nullptr, out.get()),
               "DEADLOCK(.|\n)*wait at __syncthreads(.|\n)*wait at __shfl\\*_sync mask 0xffffffff");
}

__global__ void deep_stack(float* out) {
  volatile float big[64 * 1024];  // 256 KiB of locals on a 64 KiB fiber stack
  for (int i = 0; i < 64 * 1024; i += 1024) big[i] = float(i);
  out[threadIdx.x] = big[1024];
}

TEST(EmuDeadlockDeathTest, StackOverflowNamesTheKnob) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeviceBuffer<float> out(1);
  EXPECT_DEATH(senet::launch(deep_stack, dim3(1), dim3(1), 0, nullptr, out.get()),
               "fiber stack overflow(.|\n)*SENET_EMU_STACK_KB");
}
#endif
}  // namespace
