// tests/kernels/test_kernels_mask_search.cu — kernels/mask_search.h: D += Σ_b|A_T − A_S|, channel scores,
// and the exact top-k mask (exact count, ties toward the lower index, k = 0 and k = n, special
// floats, determinism across schedules) against CPU loops (the spec's definition, SENET_SPEC
// stage 2: "exact top-r_l of D_l, ties broken deterministically by index").
// Tolerances: top-k exact (the mask must be identical). D and channel scores: fp32 sums in a fixed
// order vs double, 1e-6·max|ref| + 1e-6·|ref| (B ≤ 8 and HW ≤ 1024 terms of 2⁻²⁴ each).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/emu/race_check.h"
#include "kernels/mask_search.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace {

// CPU definition: order by (score desc, index asc), NaN last, −0 == +0; the first k get 1.
std::vector<uint8_t> topk_reference(const std::vector<float>& s, int64_t k) {
  std::vector<int64_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    const float x = s[size_t(a)], y = s[size_t(b)];
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return x > y;
  });
  std::vector<uint8_t> m(s.size(), 0);
  for (int64_t i = 0; i < k; ++i) m[size_t(idx[size_t(i)])] = 1;
  return m;
}

std::vector<uint8_t> gpu_topk(DeviceBuffer<float>& ds, int64_t n, int64_t k,
                              bool magnitude = false) {
  DeviceBuffer<uint8_t> mask(static_cast<size_t>(n));
  const size_t ws = topk_mask_workspace_bytes(n);
  DeviceBuffer<unsigned char> work(ws);
  EXPECT_EQ(topk_mask_launch({ds.get(), n, k, mask.get(), work.get(), ws, magnitude}, nullptr),
            cudaSuccess);
  EXPECT_TRUE(mask.guard_intact());
  return mask.download();
}

// magnitude: the top-k of |s| (the reference ranks the absolute values).
void check_topk(const std::vector<float>& s, int64_t k, bool magnitude = false) {
  const int64_t n = int64_t(s.size());
  SCOPED_TRACE(testing::Message() << "n=" << n << " k=" << k << " magnitude=" << magnitude);
  DeviceBuffer<float> ds(s);
  const auto got = gpu_topk(ds, n, k, magnitude);
  std::vector<float> key = s;
  if (magnitude)
    for (float& v : key) v = std::fabs(v);
  const auto ref = topk_reference(key, k);
  EXPECT_EQ(std::count(got.begin(), got.end(), uint8_t(1)), k);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(int(got[size_t(i)]), int(ref[size_t(i)])) << "index " << i;
}

TEST(CudaMaskSearch, TopkExactWithManyTies) {
  // around the 256-thread round and the 2048-index tile
  const int64_t sizes[] = {1, 2, 255, 2047, 2048, 2049, 4097, 20000};
  for (int64_t n : sizes) {
    const auto ties = small_ints(size_t(n), uint64_t(n), 0, 9);  // ~n/10 copies of each value
    const auto distinct = uniform(size_t(n), uint64_t(n) + 1, 0.f, 100.f);
    for (int64_t k : {int64_t(0), int64_t(1), n / 3, n / 2, n - 1, n}) {
      if (k < 0) continue;
      check_topk(ties, k);
      check_topk(distinct, k);
    }
  }
}

TEST(CudaMaskSearch, TopkSpecialValues) {
  std::vector<float> s = {0.f,  -0.f, NAN,  INFINITY, -INFINITY, 1e-45f, -1e-45f, 3.f,
                          -3.f, 0.f,  -0.f, NAN,      3.f,       -2.f,   7.f,     -0.f};
  for (int64_t k = 0; k <= int64_t(s.size()); ++k) check_topk(s, k);
}

// A learned site's mask (kernels/straight_through.h): the k largest |s|, ties (s and −s among
// them) toward the lower index; small signed integers give many ties.
TEST(CudaMaskSearch, TopkOfMagnitudes) {
  for (int64_t n : {1, 255, 2049, 5000}) {
    const auto s = small_ints(size_t(n), uint64_t(n) + 7, -6, 6);
    for (int64_t k : {int64_t(0), int64_t(1), n / 3, n - 1, n}) check_topk(s, k, true);
  }
  const std::vector<float> special = {0.f, -0.f, -INFINITY, 2.f, -2.f, 1e-45f, -1e-45f, -5.f, 5.f};
  for (int64_t k = 0; k <= int64_t(special.size()); ++k) check_topk(special, k, true);
}

TEST(CudaMaskSearch, TopkAllEqualTakesTheFirstK) {
  const std::vector<float> s(5000, 1.25f);
  for (int64_t k : {1, 2047, 2048, 2049, 4999}) {
    DeviceBuffer<float> ds(s);
    const auto got = gpu_topk(ds, 5000, k);
    for (int64_t i = 0; i < 5000; ++i) ASSERT_EQ(got[size_t(i)], i < k ? 1 : 0) << i;
  }
}

TEST(CudaMaskSearch, TopkIsScheduleIndependent) {
  const int64_t n = 6000;
  const auto s = small_ints(size_t(n), 5, 0, 20);
  DeviceBuffer<float> ds(s);
  EXPECT_RACE_FREE(
      [&] {
        const auto m = gpu_topk(ds, n, 2500);
        return std::vector<float>(m.begin(), m.end());
      },
      0.0);
}

TEST(CudaMaskSearch, TopkRejectsBadParams) {
  DeviceBuffer<float> ds(std::vector<float>(100, 1.f));
  DeviceBuffer<uint8_t> mask(100);
  const size_t ws = topk_mask_workspace_bytes(100);
  DeviceBuffer<unsigned char> work(ws);
  EXPECT_EQ(topk_mask_launch({ds.get(), 100, 101, mask.get(), work.get(), ws}, nullptr),
            cudaErrorInvalidValue);  // k > n
  EXPECT_EQ(topk_mask_launch({ds.get(), 100, -1, mask.get(), work.get(), ws}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(topk_mask_launch({ds.get(), 100, 5, mask.get(), work.get(), ws - 1}, nullptr),
            cudaErrorInvalidValue);  // workspace too small
  EXPECT_EQ(topk_mask_launch({ds.get(), 100, 5, mask.get(), nullptr, ws}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(topk_mask_launch({nullptr, 100, 5, mask.get(), work.get(), ws}, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaMaskSearch, AccumulateAndChannelScoresMatchCpu) {
  const int64_t B = 5, C = 7, HW = 33, L = C * HW;
  const auto at = uniform(size_t(B * L), 1, 0.f, 2.f), as = uniform(size_t(B * L), 2, 0.f, 2.f);
  auto D = uniform(size_t(L), 3, 0.f, 1.f);
  DeviceBuffer<float> dat(at), das(as), dD(D), scores(static_cast<size_t>(C));
  CUDA_OK(mask_accumulate_absdiff_launch({dat.get(), das.get(), dD.get(), B, L}, nullptr));
  CUDA_OK(mask_accumulate_absdiff_launch({dat.get(), das.get(), dD.get(), B, L}, nullptr));
  for (int64_t l = 0; l < L; ++l) {
    double s = 0;
    for (int64_t b = 0; b < B; ++b)
      s += std::fabs(double(at[size_t(b * L + l)]) - as[size_t(b * L + l)]);
    D[size_t(l)] = float(double(D[size_t(l)]) + 2 * s);
  }
  EXPECT_TRUE(close(dD.download(), D, 1e-6, 1e-6));
  EXPECT_TRUE(dD.guard_intact());
  const auto Dg = dD.download();
  std::vector<float> ref(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t i = 0; i < HW; ++i) s += Dg[size_t(c * HW + i)];
    ref[size_t(c)] = float(s);
  }
  EXPECT_RACE_FREE(
      [&] {
        EXPECT_EQ(channel_scores_launch({dD.get(), scores.get(), C, HW}, nullptr), cudaSuccess);
        return scores.download();
      },
      0.0);
  EXPECT_TRUE(close(scores.download(), ref, 1e-6, 1e-6));
  EXPECT_EQ(channel_scores_launch({dD.get(), scores.get(), C, 0}, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(mask_accumulate_absdiff_launch({dat.get(), das.get(), nullptr, B, L}, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaMaskSearch, ChannelGranularityPipeline) {
  // channel scores → top-k channels, as SENet's channel-wise variant does (k_l = round(r_l/HW))
  const int64_t C = 64, HW = 16;
  const auto D = small_ints(size_t(C * HW), 9, 0, 3);
  DeviceBuffer<float> dD(D), scores(static_cast<size_t>(C));
  CUDA_OK(channel_scores_launch({dD.get(), scores.get(), C, HW}, nullptr));
  const auto s = scores.download();
  check_topk(s, 10);
}

}  // namespace
