// tests/kernels/test_kernels_reduce.cu — kernels/reduce.h: the deterministic two-level sum (Σx, Σ|x|,
// Σx²) against a double loop and engine/cpu/elementwise.h sum, and count_correct against the
// engine op engine/ops/count_correct.h (ties, NaN, edge shapes).
// Tolerance (sum): 1e-6 relative to Σ|op(x)| — the GPU and the reference both accumulate in
// double, in different orders (error ~n·2⁻⁵³ ≪ 1e-6) and the result is rounded once to fp32
// (2⁻²⁴ ≈ 6e-8). Determinism: bitwise equal across the four emulation schedules (race check 0).
// count_correct: exact (an integer).
#include <cmath>

#include "engine/cpu/elementwise.h"
#include "engine/ops/count_correct.h"
#include "kernels/emu/race_check.h"
#include "kernels/reduce.h"
#include "tests/kernels/cuda_test.h"
#include "tools/bench/cases/inputs.h"

using namespace senet;
using namespace senet::cudatest;
using namespace senet::inputs;

namespace {

double reference(const std::vector<float>& x, reduce_op op) {
  double s = 0;
  for (float v : x)
    s += op == reduce_op::abs ? std::fabs(double(v)) : op == reduce_op::square ? double(v) * v : v;
  return s;
}
double magnitude(const std::vector<float>& x, reduce_op op) {
  double s = 0;
  for (float v : x) s += op == reduce_op::square ? double(v) * v : std::fabs(double(v));
  return s;
}

std::vector<float> run_sum(DeviceBuffer<float>& dx, int64_t n, reduce_op op, float scale,
                           double* out_double = nullptr) {
  DeviceBuffer<float> out(1);
  DeviceBuffer<double> partials(static_cast<size_t>(sum_partials_count(n)));
  DeviceBuffer<double> od(1);
  sum_params p;
  p.x = dx.get(), p.n = n, p.op = op, p.scale = scale, p.out = out.get(), p.out_double = od.get();
  p.partials = partials.get();
  EXPECT_EQ(sum_launch(p, nullptr), cudaSuccess);
  if (out_double) *out_double = od.download()[0];
  return out.download();
}

TEST(CudaReduce, SumMatchesDoubleReference) {
  // around the block (256), the per-block chunk (4096) and the 512-partials cap (2 097 152)
  const int64_t sizes[] = {1, 31, 256, 257, 4095, 4096, 4097, 3 * 4096 + 5, 512 * 4096 + 7};
  for (int64_t n : sizes) {
    const auto x = uniform(size_t(n), uint64_t(n), -2.f, 1.f);
    DeviceBuffer<float> dx(x);
    for (reduce_op op : {reduce_op::identity, reduce_op::abs, reduce_op::square}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " op=" << int(op));
      double got_d = 0;
      const float got = run_sum(dx, n, op, 0.5f, &got_d)[0];
      const double ref = 0.5 * reference(x, op), tol = 1e-6 * 0.5 * magnitude(x, op);
      EXPECT_NEAR(got, ref, tol);
      EXPECT_NEAR(got_d, ref, 1e-9 * 0.5 * magnitude(x, op));  // both double sums
    }
    // the engine's CPU sum (double, chunked) agrees too
    EXPECT_NEAR(run_sum(dx, n, reduce_op::identity, 1.f)[0], cpu::sum(x.data(), n),
                1e-6 * magnitude(x, reduce_op::identity));
  }
}

TEST(CudaReduce, SumOfEmptyIsZeroAndSingleBlockFormMatches) {
  DeviceBuffer<float> out(1);
  sum_params p;
  p.out = out.get();
  CUDA_OK(sum_launch(p, nullptr));
  EXPECT_EQ(out.download()[0], 0.f);
  const auto x = uniform(5000, 9);
  DeviceBuffer<float> dx(x);
  CUDA_OK(sum_single_block_launch(dx.get(), 5000, 2.f, out.get(), nullptr));
  EXPECT_NEAR(out.download()[0], 2.0 * reference(x, reduce_op::identity),
              1e-6 * 2.0 * magnitude(x, reduce_op::identity));
}

TEST(CudaReduce, SumIsScheduleIndependent) {
  const int64_t n = 3 * 4096 + 17;  // 4 level-1 blocks + level 2
  const auto x = uniform(size_t(n), 21);
  DeviceBuffer<float> dx(x);
  EXPECT_RACE_FREE([&] { return run_sum(dx, n, reduce_op::identity, 1.f); }, 0.0);
  EXPECT_RACE_FREE([&] { return run_sum(dx, 700, reduce_op::square, 1.f); }, 0.0);
}

TEST(CudaReduce, SumRejectsBadParams) {
  DeviceBuffer<float> d(8192), out(1);
  sum_params p;
  p.x = d.get(), p.n = 8192, p.out = out.get();
  EXPECT_EQ(sum_launch(p, nullptr), cudaErrorInvalidValue);  // 2 partials needed, none given
  p.n = -1;
  EXPECT_EQ(sum_launch(p, nullptr), cudaErrorInvalidValue);
  p.n = 10, p.out = nullptr;
  EXPECT_EQ(sum_launch(p, nullptr), cudaErrorInvalidValue);
  p.out = out.get(), p.op = reduce_op(7);
  EXPECT_EQ(sum_launch(p, nullptr), cudaErrorInvalidValue);
}

int gpu_count_correct(const std::vector<float>& z, const std::vector<int32_t>& y, int64_t N,
                      int64_t K) {
  DeviceBuffer<float> dz(z);
  DeviceBuffer<int32_t> dy(y);
  DeviceBuffer<int> out(1);
  EXPECT_EQ(count_correct_launch({dz.get(), dy.get(), N, K, out.get()}, nullptr), cudaSuccess);
  return out.download()[0];
}

int64_t cpu_count_correct(const std::vector<float>& z, const std::vector<int32_t>& y, int64_t N,
                          int64_t K) {
  return count_correct(Tensor::from_vector(z, {N, K}), Tensor::from_vector_i32(y, {N}));
}

TEST(CudaReduce, CountCorrectMatchesEngineOp) {
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1},   {1, 10},   {7, 33},
                                                {9, 100}, {128, 10}, {33, 200}};
  for (auto [N, K] : shapes) {
    SCOPED_TRACE(testing::Message() << N << "x" << K);
    // small integers: many ties, so the lowest-index rule matters
    auto z = small_ints(size_t(N * K), uint64_t(N * K), -3, 3);
    auto y = labels(size_t(N), uint64_t(N + K), int(K));
    // make about half the rows correct: label = the CPU argmax
    for (int64_t n = 0; n < N; n += 2) {
      int64_t best = 0;
      for (int64_t k = 1; k < K; ++k)
        if (z[size_t(n * K + k)] > z[size_t(n * K + best)]) best = k;
      y[size_t(n)] = int32_t(best);
    }
    EXPECT_EQ(gpu_count_correct(z, y, N, K), cpu_count_correct(z, y, N, K));
  }
}

TEST(CudaReduce, CountCorrectTiesAndNaN) {
  const int64_t K = 40;
  std::vector<float> z(4 * K, 1.f);
  std::vector<int32_t> y = {0, 35, 0, 39};
  // row 0: all equal → argmax 0. row 1: NaN first, max 5 at 3 and 35 → 3.
  z[size_t(K + 0)] = NAN;
  z[size_t(K + 3)] = 5.f;
  z[size_t(K + 35)] = 5.f;
  // row 2: all NaN → 0.  row 3: NaN everywhere but k = 39.
  for (int64_t k = 0; k < K; ++k) z[size_t(2 * K + k)] = NAN;
  for (int64_t k = 0; k < K - 1; ++k) z[size_t(3 * K + k)] = NAN;
  EXPECT_EQ(cpu_count_correct(z, y, 4, K), 3);
  EXPECT_EQ(gpu_count_correct(z, y, 4, K), 3);
}

TEST(CudaReduce, CountCorrectIsScheduleIndependentAndRejectsBadParams) {
  const int64_t N = 100, K = 37;
  const auto z = small_ints(size_t(N * K), 3, -2, 2);
  const auto y = labels(size_t(N), 4, int(K));
  EXPECT_RACE_FREE([&] { return std::vector<int>{gpu_count_correct(z, y, N, K)}; }, 0.0);
  DeviceBuffer<float> dz(z);
  DeviceBuffer<int32_t> dy(y);
  DeviceBuffer<int> out(1);
  EXPECT_EQ(count_correct_launch({dz.get(), dy.get(), N, 0, out.get()}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(count_correct_launch({dz.get(), dy.get(), N, K, nullptr}, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(count_correct_launch({nullptr, dy.get(), N, K, out.get()}, nullptr),
            cudaErrorInvalidValue);
  CUDA_OK(count_correct_launch({nullptr, nullptr, 0, K, out.get()}, nullptr));  // N = 0 → 0
  EXPECT_EQ(out.download()[0], 0);
}

}  // namespace
