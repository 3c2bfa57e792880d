// tests/kernels/test_kernels_mma_tf32.cu — the TF32 tensor-core primitive (kernels/mma_tf32.cuh) on its
// own: the rounding to TF32 bit for bit, and one warp's mma.m16n8k8 with its documented fragment
// layout against a host matrix product. Under emulation this checks the emulated instruction;
// built by nvcc (test_kernels_gpu) the same tests check the hardware's.
//   * to_tf32: against an independent host rounding (frexp → 11 significant bits → std::nearbyint
//     in the default mode, which ties to even) on edge values and 20,000 random normal floats; NaNs
//     (payloads in the high or only the low bits) stay NaN;
//   * mma, small integers: D = A·B + C is exact in fp32 in any order, so bitwise equal — any slip in
//     the fragment layout moves a value and shows;
//   * mma, random TF32 values: |D − ref| ≤ 8·2⁻²⁴·(Σ_k|a·b| + |c|) (products exact, 8 fp32 adds);
//   * the TF32 tiles' fragment-ordered shared memory (implicit_gemm_mma.cuh), on the host.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "kernels/implicit_gemm_mma.cuh"
#include "kernels/mma_tf32.cuh"
#include "tests/kernels/cuda_test.h"

using namespace senet;
using namespace senet::cudatest;

namespace {

__global__ void to_tf32_kernel(const float* __restrict__ x, float* __restrict__ y, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = detail::to_tf32(x[i]);
}

// One warp: A 16×8 row-major, B 8×8 as B[k][n] (row-major), C and D 16×8 row-major; each lane
// loads its fragments by the layout in kernels/mma_tf32.cuh and stores its four outputs.
__global__ void mma_one_warp_kernel(const float* __restrict__ A, const float* __restrict__ B,
                                    const float* __restrict__ C, float* __restrict__ D) {
  const int lane = int(threadIdx.x), g = lane >> 2, t = lane & 3;
  const float a[4] = {A[g * 8 + t], A[(g + 8) * 8 + t], A[g * 8 + t + 4], A[(g + 8) * 8 + t + 4]};
  const float b[2] = {B[t * 8 + g], B[(t + 4) * 8 + g]};
  float d[4] = {C[g * 8 + 2 * t], C[g * 8 + 2 * t + 1], C[(g + 8) * 8 + 2 * t],
                C[(g + 8) * 8 + 2 * t + 1]};
  detail::mma_tf32_m16n8k8(d, a, b);
  D[g * 8 + 2 * t] = d[0], D[g * 8 + 2 * t + 1] = d[1];
  D[(g + 8) * 8 + 2 * t] = d[2], D[(g + 8) * 8 + 2 * t + 1] = d[3];
}

// x rounded to 11 significant bits, ties to even (normal x; ±0, ±inf, NaN unchanged).
float host_tf32(float x) {
  if (x == 0.0f || !std::isfinite(x)) return x;
  int e = 0;
  const double f = std::frexp(double(x), &e);  // x = f·2^e, 0.5 ≤ |f| < 1
  return float(std::ldexp(std::nearbyint(std::ldexp(f, 11)), e - 11));
}

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

std::vector<float> run_mma(const std::vector<float>& A, const std::vector<float>& B,
                           const std::vector<float>& C) {
  DeviceBuffer<float> a(A), b(B), c(C), d(C.size());
  EXPECT_EQ(launch(mma_one_warp_kernel, dim3(1), dim3(32), 0, nullptr, a.get(), b.get(), c.get(),
                   d.get()),
            cudaSuccess);
  EXPECT_TRUE(d.guard_intact());
  return d.download();
}

// D = A·B + C in double, and Σ_k|a·b| + |c| per element.
void host_mma(const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C,
              std::vector<double>* D, std::vector<double>* mag) {
  D->assign(128, 0.0), mag->assign(128, 0.0);
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double s = C[size_t(m * 8 + n)], a = std::fabs(s);
      for (int k = 0; k < 8; ++k) {
        const double p = double(A[size_t(m * 8 + k)]) * double(B[size_t(k * 8 + n)]);
        s += p, a += std::fabs(p);
      }
      (*D)[size_t(m * 8 + n)] = s, (*mag)[size_t(m * 8 + n)] = a;
    }
}

}  // namespace

TEST(MmaTf32, RoundsToNearestTiesEvenBitForBit) {
  std::vector<float> x = {1.0f,
                          -1.0f,
                          1.0f + 0x1p-11f,  // exactly halfway, below an even TF32 value: down
                          -(1.0f + 0x1p-11f),
                          1.0f + 0x1p-11f + 0x1p-23f,  // just above halfway: up
                          1.0f + 3 * 0x1p-11f,         // halfway above an odd TF32 value: up
                          3.14159265f,
                          -2.7182818f,
                          0x1.fffffep127f,  // the largest float rounds up to +inf
                          -0x1.fffffep127f,
                          0x1p-126f,  // the smallest normal
                          65504.0f,
                          0.0f,
                          -0.0f,
                          INFINITY,
                          -INFINITY};
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> ex(-100, 100);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  for (int i = 0; i < 20000; ++i)
    x.push_back((i % 2 ? -1.0f : 1.0f) * std::ldexp(mant(rng), ex(rng)));
  // NaNs stay NaN (which NaN is the hardware's business: only isnan is checked), the one with a
  // payload in the 13 low bits alone too — the bit form must not round it to ±inf (or, negative,
  // wrap it to 0).
  const size_t first_nan = x.size();
  for (uint32_t u : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800fffu, 0xffffffffu})
    x.push_back(std::bit_cast<float>(u));
  DeviceBuffer<float> dx(x), dy(x.size());
  CUDA_OK(launch(to_tf32_kernel, dim3(unsigned((x.size() + 255) / 256)), dim3(256), 0, nullptr,
                 dx.get(), dy.get(), int(x.size())));
  const std::vector<float> y = dy.download();
  int bad = 0;
  for (size_t i = first_nan; i < x.size(); ++i)
    EXPECT_TRUE(std::isnan(y[i])) << "to_tf32(NaN 0x" << std::hex << bits(x[i]) << ") = 0x"
                                  << bits(y[i]) << std::dec;
  for (size_t i = 0; i < first_nan; ++i) {
    const float want = host_tf32(x[i]);
    if (bits(y[i]) != bits(want) && bad++ < 5)
      ADD_FAILURE() << "to_tf32(" << x[i] << " = 0x" << std::hex << bits(x[i]) << ") = 0x"
                    << bits(y[i]) << ", want 0x" << bits(want) << std::dec;
    EXPECT_EQ(bits(y[i]) & 0x1fffu, 0u) << "low 13 bits must be zero";
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], -1.0f);
  EXPECT_EQ(y[4], 1.0f + 0x1p-10f);
  EXPECT_EQ(y[5], 1.0f + 0x1p-9f);
  EXPECT_EQ(y[8], INFINITY);
  EXPECT_TRUE(std::isnan(host_tf32(NAN)));
}

TEST(MmaTf32, OneWarpSmallIntegersBitwiseByTheFragmentLayout) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> v(-8, 8);
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<float> A(128), B(64), C(128);
    for (float& a : A) a = float(v(rng));
    for (float& b : B) b = float(v(rng));
    for (float& c : C) c = trial == 0 ? 0.0f : float(v(rng) * 16);
    std::vector<double> ref, mag;
    host_mma(A, B, C, &ref, &mag);
    const std::vector<float> D = run_mma(A, B, C);
    std::vector<float> want(128);
    for (size_t i = 0; i < 128; ++i) want[i] = float(ref[i]);
    EXPECT_TRUE(bitwise_equal(D, want)) << "trial " << trial;
  }
  // One nonzero per matrix: each (m, k, n) lands exactly where the layout says.
  for (int m = 0; m < 16; m += 5)
    for (int k = 0; k < 8; k += 3)
      for (int n = 0; n < 8; n += 3) {
        std::vector<float> A(128, 0.0f), B(64, 0.0f), C(128, 0.0f);
        A[size_t(m * 8 + k)] = 2.0f, B[size_t(k * 8 + n)] = 3.0f;
        const std::vector<float> D = run_mma(A, B, C);
        for (int i = 0; i < 128; ++i)
          ASSERT_EQ(D[size_t(i)], i == m * 8 + n ? 6.0f : 0.0f)
              << "m=" << m << " k=" << k << " n=" << n << " at D[" << i / 8 << "][" << i % 8 << "]";
      }
}

TEST(MmaTf32, OneWarpRandomTf32ValuesWithinFp32SumBound) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> A(128), B(64), C(128);
  for (float& a : A) a = host_tf32(u(rng));
  for (float& b : B) b = host_tf32(u(rng));
  for (float& c : C) c = u(rng);
  std::vector<double> ref, mag;
  host_mma(A, B, C, &ref, &mag);
  const std::vector<float> D = run_mma(A, B, C);
  for (size_t i = 0; i < 128; ++i)
    EXPECT_LE(std::fabs(double(D[i]) - ref[i]), 8 * 0x1p-24 * mag[i])
        << "D[" << i / 8 << "][" << i % 8 << "]";
}

// The TF32 tile's shared-memory order (kernels/implicit_gemm_mma.cuh): a bijection of a stage's
// BK×BM (A) and BK×BN (B) elements onto its floats, each lane's fragment where the main loop reads
// it (LDS.128 at 4g + 40t of A's group, LDS.64 at slot (4g + t) ⊕ 8·(kk/8) of B's), and additive
// over the loader's steps — what lets tile_loader::store() write load l at load 0's address plus a
// constant (kernels/implicit_gemm_loader.cuh). The emulated conv tests check the same end to end.
template <class T>
void check_fragment_order() {
  std::vector<int> seen_a(size_t(T::BK * T::LDA), 0), seen_b(size_t(T::BK * T::LDB), 0);
  for (int kk = 0; kk < T::BK; ++kk) {
    for (int m = 0; m < T::BM; ++m) {
      const int i = T::a_index(kk, m);
      ASSERT_TRUE(i >= 0 && i < T::BK * T::LDA && !seen_a[size_t(i)]++) << kk << "," << m;
      const int g = m % 8, t = kk % 4, reg = (m / 8) % 2 + 2 * ((kk / 4) % 2);  // a[reg]
      EXPECT_EQ(i, ((kk / 8) * (T::BM / 16) + m / 16) * 160 + 4 * g + 40 * t + reg);
    }
    for (int n = 0; n < T::BN; ++n) {
      const int i = T::b_index(kk, n);
      ASSERT_TRUE(i >= 0 && i < T::BK * T::LDB && !seen_b[size_t(i)]++) << kk << "," << n;
      const int slot = (4 * (n % 8) + kk % 4) ^ (8 * ((kk / 8) % 2)), reg = (kk / 4) % 2;  // b[reg]
      EXPECT_EQ(i, ((kk / 8) * (T::BN / 8) + n / 8) * 64 + 2 * slot + reg);
    }
  }
  // Additive over the steps: the A loader's (kk₀ + s·l, one m) for kk₀ < s = threads/BM, or
  // wgrad's (one kk, m₀ + s·l) for m₀ < s = threads/BK; B's (one kk, n₀ + s·l), n₀ < s.
  const int sk = T::threads / T::BM, sm = T::threads / T::BK;
  for (int l = 0; l < T::BK / sk; ++l)
    for (int kk = 0; kk < sk; ++kk)
      for (int m = 0; m < T::BM; ++m)
        ASSERT_EQ(T::a_index(kk + sk * l, m), T::a_index(kk, m) + T::a_index(sk * l, 0));
  for (int l = 0; l < T::BM / sm; ++l)
    for (int kk = 0; kk < T::BK; ++kk)
      for (int m = 0; m < sm; ++m) {
        ASSERT_EQ(T::a_index(kk, m + sm * l), T::a_index(kk, m) + T::a_index(0, sm * l));
      }
  for (int l = 0; l < T::BN / sm; ++l)
    for (int kk = 0; kk < T::BK; ++kk)
      for (int n = 0; n < sm; ++n)
        ASSERT_EQ(T::b_index(kk, n + sm * l), T::b_index(kk, n) + T::b_index(0, sm * l));
}

TEST(MmaTf32, SharedMemoryInFragmentOrderAdditiveOverTheLoadersSteps) {
  check_fragment_order<detail::tile_tf32_128x64>();
  check_fragment_order<detail::tile_tf32_64x128>();
  check_fragment_order<detail::tile_tf32_128x128>();
}
