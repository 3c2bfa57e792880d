// tests/kernels/test_kernels_elementwise.cu — kernels/elementwise.h (axpby, add, scale, add_inplace, mul,
// fill, copy) against the CPU backend engine/cpu/elementwise.h.
// Tolerance: bitwise. Every output is one or two roundings of the same expression as the CPU's
// (1·a + 1·b is exactly a + b even when fused into an FMA), except axpby with α, β ∉ {0, 1}, where
// nvcc may fuse α·a + β·b into one FMA: ≤ 1 ulp, checked as 2⁻²³ relative there.
// Sizes: 1, a partial block, block ± 1, and one past the 4096-block grid cap (grid-stride loop).
#include "engine/cpu/elementwise.h"
#include "kernels/elementwise.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace {

const size_t kSizes[] = {1, 31, 255, 256, 257, 1000, 4096 * 256 + 3};

TEST(CudaElementwise, AddScaleMulCopyFillMatchCpuBitwise) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(n);
    const auto a = uniform(n, 1), b = uniform(n, 2);
    DeviceBuffer<float> da(a), db(b), dy(n);
    std::vector<float> ref(n);

    CUDA_OK(add_launch(da.get(), db.get(), dy.get(), int64_t(n), nullptr));
    cpu::add(a.data(), b.data(), ref.data(), int64_t(n));
    EXPECT_TRUE(bitwise_equal(dy.download(), ref));

    CUDA_OK(scale_launch(da.get(), -0.37f, dy.get(), int64_t(n), nullptr));
    cpu::scale(a.data(), -0.37f, ref.data(), int64_t(n));
    EXPECT_TRUE(bitwise_equal(dy.download(), ref));

    CUDA_OK(mul_launch({da.get(), db.get(), dy.get(), int64_t(n)}, nullptr));
    cpu::mul(a.data(), b.data(), ref.data(), int64_t(n));
    EXPECT_TRUE(bitwise_equal(dy.download(), ref));

    CUDA_OK(copy_launch({da.get(), dy.get(), int64_t(n)}, nullptr));
    EXPECT_TRUE(bitwise_equal(dy.download(), a));

    CUDA_OK(fill_launch({dy.get(), 2.5f, int64_t(n)}, nullptr));
    EXPECT_TRUE(bitwise_equal(dy.download(), std::vector<float>(n, 2.5f)));
    EXPECT_TRUE(dy.guard_intact());
  }
}

TEST(CudaElementwise, AxpbyMatchesCpu) {
  for (size_t n : kSizes) {
    SCOPED_TRACE(n);
    const auto a = uniform(n, 3), b = uniform(n, 4);
    DeviceBuffer<float> da(a), db(b), dy(n);
    std::vector<float> ref(n);
    CUDA_OK(axpby_launch({da.get(), db.get(), dy.get(), 0.75f, -1.25f, int64_t(n)}, nullptr));
    cpu::axpby(0.75f, a.data(), -1.25f, b.data(), ref.data(), int64_t(n));
    EXPECT_TRUE(close(dy.download(), ref, 0.0, 2.4e-7));  // ≤ 1 ulp: FMA contraction (header)
    EXPECT_TRUE(dy.guard_intact());
  }
}

TEST(CudaElementwise, AddInplaceAccumulatesAndAliasesAreSafe) {
  const size_t n = 1000;
  const auto a = uniform(n, 5), b = uniform(n, 6);
  DeviceBuffer<float> dy(a), dx(b);
  CUDA_OK(add_inplace_launch(dy.get(), dx.get(), int64_t(n), nullptr));
  CUDA_OK(add_inplace_launch(dy.get(), dx.get(), int64_t(n), nullptr));
  std::vector<float> ref(n);
  for (size_t i = 0; i < n; ++i) ref[i] = (a[i] + b[i]) + b[i];
  EXPECT_TRUE(bitwise_equal(dy.download(), ref));
  // y = s·y in place
  CUDA_OK(scale_launch(dy.get(), 2.f, dy.get(), int64_t(n), nullptr));
  for (float& v : ref) v *= 2.f;
  EXPECT_TRUE(bitwise_equal(dy.download(), ref));
}

TEST(CudaElementwise, BetaZeroDoesNotReadB) {
  const size_t n = 300;
  const auto a = uniform(n, 7);
  DeviceBuffer<float> da(a), dnan(std::vector<float>(n, NAN)), dy(n);
  CUDA_OK(axpby_launch({da.get(), dnan.get(), dy.get(), 3.f, 0.f, int64_t(n)}, nullptr));
  std::vector<float> ref(n);
  cpu::scale(a.data(), 3.f, ref.data(), int64_t(n));
  EXPECT_TRUE(bitwise_equal(dy.download(), ref));
}

TEST(CudaElementwise, LaunchersRejectBadParams) {
  DeviceBuffer<float> d(4);
  EXPECT_EQ(axpby_launch({d.get(), d.get(), d.get(), 1.f, 1.f, -1}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(axpby_launch({nullptr, d.get(), d.get(), 1.f, 1.f, 4}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(axpby_launch({d.get(), d.get(), nullptr, 1.f, 1.f, 4}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(mul_launch({d.get(), nullptr, d.get(), 4}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(fill_launch({nullptr, 0.f, 4}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(copy_launch({d.get(), nullptr, 4}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(copy_launch({nullptr, nullptr, 0}, nullptr), cudaSuccess);  // n = 0: nothing to do
}

}  // namespace
