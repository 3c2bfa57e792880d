// tests/kernels/test_kernels_global_avg_pool.cu — kernels/global_avg_pool.h against the CPU backend
// engine/cpu/global_avg_pool.h.
// Tolerance: forward 1e-6·max|y| + 1e-6·|y| — the GPU sums HW fp32 values per warp lane and then a
// butterfly, the CPU in double: ≤ log2(HW)+HW/32 roundings of 2⁻²⁴ each, ~1e-6 for HW ≤ 4096.
// Backward: bitwise (dy·(1/HW) with the same fp32 reciprocal as the CPU).
#include "engine/cpu/global_avg_pool.h"
#include "kernels/emu/race_check.h"
#include "kernels/global_avg_pool.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace {

struct Shape4 {
  int64_t N, C, H, W;
};
// N = 1, odd sizes, HW < 32, HW = 1, and model shapes (ResNet-18 at 32×32: 4×4×512; WRN 8×8)
const Shape4 kShapes[] = {{1, 1, 1, 1},  {1, 3, 5, 7},   {2, 9, 1, 1},  {3, 17, 7, 9},
                          {4, 64, 8, 8}, {2, 512, 4, 4}, {1, 5, 64, 64}};

TEST(CudaGlobalAvgPool, ForwardAndBackwardMatchCpu) {
  for (const auto& s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.N << "x" << s.C << "x" << s.H << "x" << s.W);
    const int64_t NC = s.N * s.C, HW = s.H * s.W;
    const auto x = uniform(size_t(NC * HW), uint64_t(NC + HW), -1.f, 3.f);
    DeviceBuffer<float> dx(x), dy(static_cast<size_t>(NC));
    CUDA_OK(global_avg_pool_forward_launch({dx.get(), dy.get(), NC, HW}, nullptr));
    std::vector<float> ref(static_cast<size_t>(NC));
    cpu::global_avg_pool_forward(x.data(), ref.data(), NC, HW);
    EXPECT_TRUE(close(dy.download(), ref, 1e-6, 1e-6));
    EXPECT_TRUE(dy.guard_intact());

    const auto g = uniform(size_t(NC), 77);
    DeviceBuffer<float> dg(g), dgx(static_cast<size_t>(NC * HW));
    CUDA_OK(global_avg_pool_backward_launch({dg.get(), dgx.get(), NC, HW}, nullptr));
    std::vector<float> refx(static_cast<size_t>(NC * HW));
    cpu::global_avg_pool_backward(g.data(), refx.data(), NC, HW);
    EXPECT_TRUE(bitwise_equal(dgx.download(), refx));
    EXPECT_TRUE(dgx.guard_intact());
  }
}

TEST(CudaGlobalAvgPool, RaceFreeAndRejectsBadParams) {
  const int64_t NC = 37, HW = 49;
  const auto x = uniform(size_t(NC * HW), 5);
  DeviceBuffer<float> dx(x), dy(static_cast<size_t>(NC));
  EXPECT_RACE_FREE(
      [&] {
        EXPECT_EQ(global_avg_pool_forward_launch({dx.get(), dy.get(), NC, HW}, nullptr),
                  cudaSuccess);
        return dy.download();
      },
      0.0);
  EXPECT_EQ(global_avg_pool_forward_launch({dx.get(), dy.get(), NC, 0}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(global_avg_pool_forward_launch({dx.get(), nullptr, NC, HW}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(global_avg_pool_backward_launch({nullptr, dy.get(), NC, HW}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(global_avg_pool_forward_launch({nullptr, nullptr, 0, HW}, nullptr), cudaSuccess);
}

}  // namespace
