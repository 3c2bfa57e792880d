// tests/kernels/test_kernels_fast_divmod.cu — kernels/fast_divmod.h: ⌊n/d⌋ by multiply-shift against the
// `/` operator, on the host (every divisor up to 5,000 with edge and random dividends, random
// divisors up to 2³¹ − 1, powers of two and their neighbours) and in a kernel (the device path:
// __umulhi under nvcc).
#include <random>

#include "kernels/fast_divmod.h"
#include "tests/kernels/cuda_test.h"

using namespace senet;
using namespace senet::cudatest;

namespace {

__global__ void divmod_kernel(fast_divmod f, const int* __restrict__ n, int* __restrict__ q,
                              int* __restrict__ r, int count) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < count) f.divmod(n[i], q[i], r[i]);
}

// The dividends a test tries for divisor d: the edges of its multiples and of the int range.
std::vector<int> dividends(int d, std::mt19937& rng, int random_count) {
  std::vector<int> n = {
      0, 1, d - 1, d, 2147483647, 2147483646, 2147483647 / d * d, 2147483647 / d * d - 1};
  if (d < 1073741823) n.push_back(2 * d - 1), n.push_back(2 * d);
  for (int i = 0; i < random_count; ++i) n.push_back(int(rng() >> 1));
  return n;
}

}  // namespace

TEST(FastDivmod, EqualsDivisionOnTheHost) {
  std::mt19937 rng(3);
  int64_t checked = 0;
  auto check = [&](int d, int n) {
    const fast_divmod f(d);
    int q = -1, r = -1;
    f.divmod(n, q, r);
    ++checked;
    ASSERT_EQ(q, n / d) << "n=" << n << " d=" << d << " mul=" << f.mul << " shift=" << f.shift;
    ASSERT_EQ(r, n % d) << "n=" << n << " d=" << d;
  };
  for (int d = 1; d <= 5000; ++d)
    for (int n : dividends(d, rng, 50)) check(d, n);
  for (int k = 0; k < 31; ++k) {
    const int d = 1 << k;
    for (int dd : {d, d + 1, d > 1 ? d - 1 : 1})
      for (int n : dividends(dd, rng, 10)) check(dd, n);
  }
  for (int i = 0; i < 20000; ++i) {
    const int d = 1 + int((rng() >> 1) % 2147483646u);
    for (int n : dividends(d, rng, 4)) check(d, n);
  }
  EXPECT_GT(checked, 400000);
}

TEST(FastDivmod, EqualsDivisionInAKernel) {
  std::mt19937 rng(4);
  for (int d : {1, 2, 3, 7, 9, 49, 64, 1024, 1155, 65536, 1000003, 2147483647}) {
    SCOPED_TRACE(d);
    const std::vector<int> n = dividends(d, rng, 500);
    DeviceBuffer<int> dn(n), dq(n.size()), dr(n.size());
    CUDA_OK(launch(divmod_kernel, dim3(unsigned((n.size() + 127) / 128)), dim3(128), 0, nullptr,
                   fast_divmod(d), dn.get(), dq.get(), dr.get(), int(n.size())));
    const std::vector<int> q = dq.download(), r = dr.download();
    for (size_t i = 0; i < n.size(); ++i) {
      ASSERT_EQ(q[i], n[i] / d) << "n=" << n[i];
      ASSERT_EQ(r[i], n[i] % d) << "n=" << n[i];
    }
  }
}
