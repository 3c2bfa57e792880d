// tests/emu/test_warp.cu — warp operations: shuffles (idx/up/down/xor) with `width`, ballot,
// any/all, __syncwarp, reductions and match; called by only some warps, in a partial last warp,
// and by divergent halves of a warp with disjoint masks.
// Rule: expected values are computed on the host from the documented CUDA semantics.
#include "tests/emu/emu_test.h"

namespace {
constexpr unsigned kFull = 0xffffffffu;

__global__ void shuffles(int* out, int width) {
  const int v = int(threadIdx.x) * 10;
  int* o = out + 4 * threadIdx.x;
  o[0] = __shfl_sync(kFull, v, 3, width);
  o[1] = __shfl_up_sync(kFull, v, 2, width);
  o[2] = __shfl_down_sync(kFull, v, 3, width);
  o[3] = __shfl_xor_sync(kFull, v, 1, width);
}

TEST(EmuWarp, ShufflesWithWidth) {
  for (int width : {32, 16, 8}) {
    DeviceBuffer<int> out(4 * 64);
    CUDA_OK(senet::launch(shuffles, dim3(1), dim3(64), 0, nullptr, out.get(), width));
    const auto h = out.download();
    for (int t = 0; t < 64; ++t) {
      const int lane = t % 32, seg = lane / width * width, warp0 = t - lane;
      const int up = lane - 2 >= seg ? lane - 2 : lane;
      const int down = lane + 3 < seg + width ? lane + 3 : lane;
      ASSERT_EQ(h[4 * t + 0], (warp0 + seg + 3) * 10) << "idx t=" << t << " w=" << width;
      ASSERT_EQ(h[4 * t + 1], (warp0 + up) * 10) << "up t=" << t << " w=" << width;
      ASSERT_EQ(h[4 * t + 2], (warp0 + down) * 10) << "down t=" << t << " w=" << width;
      ASSERT_EQ(h[4 * t + 3], (warp0 + (lane ^ 1)) * 10) << "xor t=" << t << " w=" << width;
    }
  }
}

__device__ __forceinline__ float warp_sum_xor(float v) {
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(kFull, v, m);
  return v;
}

// Only warp 1 of 3 reduces; the others never call a warp op.
__global__ void reduce_in_one_warp(const float* __restrict__ x, float* __restrict__ out) {
  float v = x[threadIdx.x];
  if (threadIdx.x / 32 == 1) v = warp_sum_xor(v);
  out[threadIdx.x] = v;
}

TEST(EmuWarp, ButterflyReductionInOnlySomeWarps) {
  const auto x = iota_floats(96);
  DeviceBuffer<float> dx(x), out(96);
  CUDA_OK(senet::launch(reduce_in_one_warp, dim3(1), dim3(96), 0, nullptr, dx.get(), out.get()));
  const auto h = out.download();
  float warp1 = 0;
  for (int i = 32; i < 64; ++i) warp1 += x[i];
  for (int i = 0; i < 96; ++i) ASSERT_EQ(h[i], i / 32 == 1 ? warp1 : x[i]) << i;
}

// 40 threads: warp 1 has 8 lanes. Ballot sees only existing lanes; a guarded shfl_down reduction
// adds only values from lanes that exist.
__global__ void partial_warp(const int* __restrict__ x, int* __restrict__ out) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned lanes_here = min(32u, blockDim.x - threadIdx.x / 32 * 32);
  const unsigned present = __ballot_sync(kFull, 1);
  int v = x[threadIdx.x];
  for (unsigned d = 16; d > 0; d /= 2) {
    const int other = __shfl_down_sync(kFull, v, d);
    if (lane + d < lanes_here) v += other;
  }
  if (lane == 0) {
    out[2 * (threadIdx.x / 32)] = v;
    out[2 * (threadIdx.x / 32) + 1] = int(present);
  }
}

TEST(EmuWarp, PartialLastWarp) {
  std::vector<int> x(40);
  for (int i = 0; i < 40; ++i) x[i] = i + 1;
  DeviceBuffer<int> dx(x), out(4);
  CUDA_OK(senet::launch(partial_warp, dim3(1), dim3(40), 0, nullptr, dx.get(), out.get()));
  const auto h = out.download();
  EXPECT_EQ(h[0], 32 * 33 / 2);
  EXPECT_EQ(unsigned(h[1]), kFull);
  EXPECT_EQ(h[2], 40 * 41 / 2 - 32 * 33 / 2);
  EXPECT_EQ(unsigned(h[3]), 0xffu);
}

// Lanes 0-15 and 16-31 shuffle in separate groups with disjoint masks, at different call sites.
__global__ void divergent_halves(int* out) {
  const int lane = int(threadIdx.x % 32);
  int r;
  if (lane < 16)
    r = __shfl_xor_sync(0x0000ffffu, lane * 100, 1);
  else
    r = __shfl_xor_sync(0xffff0000u, lane * 100, 2);
  const unsigned b =
      lane < 16 ? __ballot_sync(0x0000ffffu, lane % 2) : __ballot_sync(0xffff0000u, 1);
  out[2 * threadIdx.x] = r;
  out[2 * threadIdx.x + 1] = int(b);
}

TEST(EmuWarp, DivergentHalvesWithDisjointMasks) {
  DeviceBuffer<int> out(64);
  CUDA_OK(senet::launch(divergent_halves, dim3(1), dim3(32), 0, nullptr, out.get()));
  const auto h = out.download();
  for (int lane = 0; lane < 32; ++lane) {
    ASSERT_EQ(h[2 * lane], (lane < 16 ? lane ^ 1 : lane ^ 2) * 100) << lane;
    ASSERT_EQ(unsigned(h[2 * lane + 1]), lane < 16 ? 0x0000aaaau : 0xffff0000u) << lane;
  }
}

__global__ void votes(int* out) {
  const int lane = int(threadIdx.x % 32);
  const int r[8] = {int(__ballot_sync(kFull, lane % 3 == 0)),
                    __any_sync(kFull, lane == 31),
                    __any_sync(kFull, 0),
                    __all_sync(kFull, lane < 32),
                    __all_sync(kFull, lane != 7),
                    int(__reduce_add_sync(kFull, unsigned(lane))),
                    __reduce_min_sync(kFull, 5 - lane),
                    int(__match_any_sync(kFull, lane / 8))};
  if (lane == 30)
    for (int i = 0; i < 8; ++i) out[i] = r[i];
}

TEST(EmuWarp, BallotAnyAllReduceMatch) {
  DeviceBuffer<int> out(8);
  CUDA_OK(senet::launch(votes, dim3(1), dim3(32), 0, nullptr, out.get()));
  const auto h = out.download();
  EXPECT_EQ(unsigned(h[0]), 0x49249249u);
  EXPECT_EQ(h[1], 1);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 1);
  EXPECT_EQ(h[4], 0);
  EXPECT_EQ(h[5], 31 * 32 / 2);
  EXPECT_EQ(h[6], 5 - 31);
  EXPECT_EQ(unsigned(h[7]), 0xff000000u);  // lane 30 matches lanes 24-31
}

// Lanes exchange through shared memory; __syncwarp orders the write before the neighbour's read.
__global__ void syncwarp_exchange(int* out) {
  __shared__ int s[64];
  const unsigned lane = threadIdx.x % 32, base = threadIdx.x - lane;
  s[threadIdx.x] = int(threadIdx.x) * 3;
  __syncwarp();
  const int neighbour = s[base + (lane + 1) % 32];
  __syncwarp();
  s[threadIdx.x] = neighbour;
  __syncwarp();
  out[threadIdx.x] = s[threadIdx.x];
}

TEST(EmuWarp, SyncwarpOrdersSharedMemory) {
  DeviceBuffer<int> out(64);
  CUDA_OK(senet::launch(syncwarp_exchange, dim3(1), dim3(64), 0, nullptr, out.get()));
  const auto h = out.download();
  for (int t = 0; t < 64; ++t) ASSERT_EQ(h[t], (t - t % 32 + (t % 32 + 1) % 32) * 3) << t;
}

__global__ void shuffle_from_outside_mask(float* out) {
  out[threadIdx.x] = __shfl_sync(0x0000ffffu, float(threadIdx.x), 20);
}

TEST(EmuWarp, SourceLaneOutsideTheMaskReadsPoison) {
  SKIP_ON_GPU("reading a lane outside the mask is undefined on a GPU");
  DeviceBuffer<float> out(16);
  CUDA_OK(senet::launch(shuffle_from_outside_mask, dim3(1), dim3(16), 0, nullptr, out.get()));
  for (float v : out.download()) EXPECT_TRUE(std::isnan(v));
}
}  // namespace
