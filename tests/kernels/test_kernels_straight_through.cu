// tests/kernels/test_kernels_straight_through.cu — kernels/straight_through.h (a learned site's mask:
// top-k of |s| forward, dy·sign(s) backward) against the CPU backend, engine/cpu/straight_through.h,
// on small signed integers (every magnitude with both signs, many ties) and around the top-k's
// 256-thread round and 2048-index tile; schedule-independent (race check); bad parameters refused.
// Tolerances: none — the mask is integer work, y a select, ds a sign flip: all bitwise.
#include "engine/cpu/straight_through.h"
#include "kernels/emu/race_check.h"
#include "kernels/mask_search.h"
#include "kernels/straight_through.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace straight_through_tests {  // named: the test binaries are unity builds

struct Out {
  std::vector<uint8_t> mask;
  std::vector<float> y, ds;
};

Out run_gpu(const std::vector<float>& s, const std::vector<float>& dy, int64_t k) {
  const int64_t n = int64_t(s.size());
  DeviceBuffer<float> ds_in(s), dg(dy), dyv(static_cast<size_t>(n)), dds(static_cast<size_t>(n));
  DeviceBuffer<uint8_t> mask(static_cast<size_t>(n));
  const size_t wsb = topk_mask_workspace_bytes(n);
  DeviceBuffer<unsigned char> ws(wsb);
  straight_through_params p;
  p.s = ds_in.get(), p.n = n, p.k = k, p.mask = mask.get(), p.y = dyv.get();
  p.workspace = ws.get(), p.workspace_bytes = wsb, p.dy = dg.get(), p.ds = dds.get();
  EXPECT_CUDA_OK(straight_through_forward_launch(p, nullptr));
  EXPECT_CUDA_OK(straight_through_backward_launch(p, nullptr));
  EXPECT_TRUE(mask.guard_intact() && dyv.guard_intact() && dds.guard_intact());
  return {mask.download(), dyv.download(), dds.download()};
}

TEST(CudaStraightThrough, EqualsTheCpuBitwiseOnSmallIntegers) {
  for (int64_t n : {1, 7, 255, 2049, 4100}) {
    const auto s = small_ints(size_t(n), uint64_t(n) + 3, -4, 4);
    const auto dy = small_ints(size_t(n), uint64_t(n) + 4);
    for (int64_t k : {int64_t(0), int64_t(1), n / 2, n - 1, n}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " k=" << k);
      const Out got = run_gpu(s, dy, k);
      std::vector<uint8_t> m(static_cast<size_t>(n));
      std::vector<float> y(static_cast<size_t>(n)), ds(static_cast<size_t>(n));
      cpu::straight_through_forward(s.data(), n, k, m.data(), y.data());
      cpu::straight_through_backward(s.data(), dy.data(), ds.data(), n);
      EXPECT_EQ(got.mask, m);
      EXPECT_EQ(got.y, y);
      EXPECT_EQ(got.ds, ds);
    }
  }
}

TEST(CudaStraightThrough, IsScheduleIndependent) {
  const int64_t n = 5000;
  const auto s = small_ints(size_t(n), 9, -6, 6), dy = small_ints(size_t(n), 10);
  EXPECT_RACE_FREE(
      [&] {
        const Out o = run_gpu(s, dy, 1800);
        std::vector<float> all(o.mask.begin(), o.mask.end());
        all.insert(all.end(), o.y.begin(), o.y.end());
        all.insert(all.end(), o.ds.begin(), o.ds.end());
        return all;
      },
      0.0);
}

TEST(CudaStraightThrough, RejectsBadParams) {
  DeviceBuffer<float> s(std::vector<float>(10, 1.f)), y(10);
  DeviceBuffer<uint8_t> mask(10);
  const size_t wsb = topk_mask_workspace_bytes(10);
  DeviceBuffer<unsigned char> ws(wsb);
  straight_through_params p;
  p.s = s.get(), p.n = 10, p.k = 11, p.mask = mask.get(), p.y = y.get();
  p.workspace = ws.get(), p.workspace_bytes = wsb;
  EXPECT_EQ(straight_through_forward_launch(p, nullptr), cudaErrorInvalidValue);  // k > n
  p.k = 3, p.y = nullptr;
  EXPECT_EQ(straight_through_forward_launch(p, nullptr), cudaErrorInvalidValue);
  p.y = y.get(), p.workspace = nullptr;
  EXPECT_EQ(straight_through_forward_launch(p, nullptr), cudaErrorInvalidValue);
  straight_through_params b;
  b.s = s.get(), b.n = 10;  // no dy, ds
  EXPECT_EQ(straight_through_backward_launch(b, nullptr), cudaErrorInvalidValue);
}

}  // namespace straight_through_tests
