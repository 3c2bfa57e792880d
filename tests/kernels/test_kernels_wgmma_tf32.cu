// tests/kernels/test_kernels_wgmma_tf32.cu — Hopper's warpgroup TF32 MMA (kernels/wgmma_tf32.cuh) on
// its own: one warpgroup stores A (64×K) and B (K×N) into shared memory by the documented K-major
// layout, multiplies them with K/8 wgmma.m64nNk8 through matrix descriptors and writes its
// accumulators out by the documented fragment layout. Under emulation this checks the emulated
// instruction; built by nvcc for sm_90a (test_kernels_gpu) the same tests check the hardware's on
// an H100/H200 — the day a GPU is lent, this is where a misread layout or descriptor field shows.
//   * descriptor bits, on the host;
//   * small integers, bitwise (exact in fp32 in any order), for N = 8, 64, 128, K = 8 and 16, with
//     and without C, on three layouts — k-blocks adjacent, 8-row groups adjacent, padded — so that
//     LBO and SBO read the other way round, or a k8 step's start, move values (k step 0's descriptor
//     built, the next ones advanced from it: detail::advance_wgmma_desc; the emulation traps where a
//     descriptor's address field and its pointer disagree);
//   * random TF32 values: |D − ref| ≤ K·2⁻²⁴·(Σ_k|a·b| + |c|);
//   * races: the correct kernel is schedule-independent; one that overwrites A after the commit but
//     before the wait is not, under emulation (the emulated products run at the wait).
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/emu/race_check.h"
#include "kernels/wgmma_available.h"
#include "kernels/wgmma_tf32.cuh"
#include "tests/kernels/cuda_test.h"

using namespace senet;
using namespace senet::cudatest;
using detail::wgmma_kmajor;

namespace {

constexpr int kWgSmem = 4096;  // floats per operand: every layout below fits

// One warpgroup: A row-major 64×K, B row-major K×N (B[k][n]), C and D row-major 64×N.
// clobber: overwrite A in shared memory after the commit and before the wait (a bug on purpose).
template <int N, int K>
__global__ void wgmma_one_group_kernel(const float* __restrict__ A, const float* __restrict__ B,
                                       const float* __restrict__ C, float* __restrict__ D,
                                       wgmma_kmajor la, wgmma_kmajor lb, bool with_c,
                                       bool clobber) {
  __align__(128) __shared__ float As[kWgSmem];
  __align__(128) __shared__ float Bs[kWgSmem];
  const int tid = int(threadIdx.x);
  for (int i = tid; i < 64 * K; i += 128) As[la.offset(i / K, i % K)] = A[i];
  for (int i = tid; i < K * N; i += 128) Bs[lb.offset(i % N, i / N)] = B[i];
  detail::fence_async_smem();
  __syncthreads();

  const int w = tid >> 5, g = (tid & 31) >> 2, t = tid & 3;
  auto at = [&](int j, int e) { return (16 * w + g + 8 * (e >> 1)) * N + 8 * j + 2 * t + (e & 1); };
  float d[N / 2];
#pragma unroll
  for (int j = 0; j < N / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) d[4 * j + e] = C[at(j, e)];

  detail::wgmma_pipe pipe;
  pipe.fence();
  // k step 0 from a built descriptor, the others advanced from it (as the conv loops do).
  const detail::wgmma_desc a0 = detail::make_wgmma_desc(As, la),
                           b0 = detail::make_wgmma_desc(Bs, lb);
#pragma unroll
  for (int k0 = 0; k0 < K; k0 += 8)
    pipe.mma<N>(d, detail::advance_wgmma_desc(a0, int(la.offset(0, k0))),
                detail::advance_wgmma_desc(b0, int(lb.offset(0, k0))), with_c || k0 > 0);
  pipe.commit();
  if (clobber)
    for (int i = tid; i < 64 * K; i += 128) As[la.offset(i / K, i % K)] = 0.0f;
  pipe.wait<0>(d);

#pragma unroll
  for (int j = 0; j < N / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) D[at(j, e)] = d[4 * j + e];
}

// The three layouts of a rows×K operand (lbo, sbo in bytes).
std::vector<wgmma_kmajor> wg_layouts(int rows, int K) {
  return {{128, uint32_t(128 * (K / 4))},        // the k blocks of a row group adjacent
          {uint32_t(128 * (rows / 8)), 128},     // the row groups of a k block adjacent
          {144, uint32_t(144 * (K / 4) + 32)}};  // padded
}

template <int N, int K>
std::vector<float> wg_run(const std::vector<float>& A, const std::vector<float>& B,
                          const std::vector<float>& C, wgmma_kmajor la, wgmma_kmajor lb,
                          bool with_c, bool clobber = false) {
  DeviceBuffer<float> a(A), b(B), c(C), d(C.size());
  EXPECT_EQ(launch(wgmma_one_group_kernel<N, K>, dim3(1), dim3(128), 0, nullptr, a.get(), b.get(),
                   c.get(), d.get(), la, lb, with_c, clobber),
            cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_TRUE(d.guard_intact());
  return d.download();
}

// D = A·B (+ C) in double, and Σ_k|a·b| (+ |c|), per element.
void wg_host(const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C,
             int K, int N, bool with_c, std::vector<double>* D, std::vector<double>* mag) {
  D->assign(size_t(64 * N), 0.0), mag->assign(size_t(64 * N), 0.0);
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < N; ++n) {
      double s = with_c ? C[size_t(m * N + n)] : 0.0, a = std::fabs(s);
      for (int k = 0; k < K; ++k) {
        const double p = double(A[size_t(m * K + k)]) * double(B[size_t(k * N + n)]);
        s += p, a += std::fabs(p);
      }
      (*D)[size_t(m * N + n)] = s, (*mag)[size_t(m * N + n)] = a;
    }
}

template <int N, int K>
void wg_small_integers() {
  std::mt19937 rng(unsigned(N * 31 + K));
  std::uniform_int_distribution<int> v(-8, 8);
  std::vector<float> A(size_t(64 * K)), B(size_t(K * N)), C(size_t(64 * N));
  for (float& x : A) x = float(v(rng));
  for (float& x : B) x = float(v(rng));
  for (float& x : C) x = float(16 * v(rng));
  const auto las = wg_layouts(64, K), lbs = wg_layouts(N, K);
  for (size_t l = 0; l < las.size(); ++l)
    for (bool with_c : {false, true}) {
      std::vector<double> ref, mag;
      wg_host(A, B, C, K, N, with_c, &ref, &mag);
      const std::vector<float> D = wg_run<N, K>(A, B, C, las[l], lbs[l], with_c);
      std::vector<float> want(ref.begin(), ref.end());
      EXPECT_TRUE(bitwise_equal(D, want))
          << "N " << N << ", K " << K << ", layout " << l << (with_c ? ", with C" : ", no C");
    }
}

}  // namespace

TEST(WgmmaTf32, DescriptorBits) {
  const uint64_t d = detail::wgmma_desc_bits(0x1230u, wgmma_kmajor{128, 528});
  EXPECT_EQ(d & 0x3fffu, 0x123u);       // start address >> 4
  EXPECT_EQ((d >> 16) & 0x3fffu, 8u);   // LBO >> 4
  EXPECT_EQ((d >> 32) & 0x3fffu, 33u);  // SBO >> 4
  EXPECT_EQ(d >> 46, 0u);               // base offset 0, no swizzle
  EXPECT_EQ(detail::wgmma_desc_bits(0x40000u + 0x10u, wgmma_kmajor{16, 16}) & 0x3fffu, 1u)
      << "the address wraps at the 256 KB shared window (18 bits)";
  // Advancing by f floats is building anew 4·f bytes further on (the loops' stage and k steps).
  for (const wgmma_kmajor l : {wgmma_kmajor{128, 4096}, wgmma_kmajor{160, 5120}})
    for (uint32_t addr : {0x0u, 0x1230u, 0x2ff00u})
      for (int f : {0, 4, 64, 80, 2048, 2560}) {
        SCOPED_TRACE(testing::Message() << "addr " << addr << " floats " << f);
        EXPECT_EQ(detail::wgmma_desc_advance_bits(detail::wgmma_desc_bits(addr, l), f),
                  detail::wgmma_desc_bits(addr + 4u * uint32_t(f), l));
      }
  // The layout: 8 rows × 4 floats per core matrix, then SBO along rows, LBO along k.
  constexpr wgmma_kmajor l{256, 1024};
  EXPECT_EQ(l.offset(0, 0), 0u);
  EXPECT_EQ(l.offset(1, 0), 4u);
  EXPECT_EQ(l.offset(0, 3), 3u);
  EXPECT_EQ(l.offset(0, 4), 64u);
  EXPECT_EQ(l.offset(8, 0), 256u);
  EXPECT_EQ(l.offset(9, 5), 256u + 64u + 4u + 1u);
}

TEST(WgmmaTf32, SmallIntegersBitwiseN8) {
  if (!wgmma_available())
    GTEST_SKIP() << "wgmma needs an sm_90 GPU and sm_90a code (wgmma_available)";
  wg_small_integers<8, 8>();
  wg_small_integers<8, 16>();
}

TEST(WgmmaTf32, SmallIntegersBitwiseN64) {
  if (!wgmma_available())
    GTEST_SKIP() << "wgmma needs an sm_90 GPU and sm_90a code (wgmma_available)";
  wg_small_integers<64, 16>();
}

TEST(WgmmaTf32, SmallIntegersBitwiseN128) {
  if (!wgmma_available())
    GTEST_SKIP() << "wgmma needs an sm_90 GPU and sm_90a code (wgmma_available)";
  wg_small_integers<128, 8>();
}

TEST(WgmmaTf32, RandomTf32WithinSummationBound) {
  if (!wgmma_available())
    GTEST_SKIP() << "wgmma needs an sm_90 GPU and sm_90a code (wgmma_available)";
  constexpr int N = 64, K = 16;
  std::mt19937 rng(3);
  std::normal_distribution<float> v(0.0f, 1.0f);
  // TF32 values (mantissa cut to 10 bits), so that rounding on the way in plays no part.
  auto tf32 = [](float x) {
    return std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0xffffe000u);
  };
  std::vector<float> A(64 * K), B(K * N), C(64 * N);
  for (float& x : A) x = tf32(v(rng));
  for (float& x : B) x = tf32(v(rng));
  for (float& x : C) x = v(rng);
  std::vector<double> ref, mag;
  wg_host(A, B, C, K, N, true, &ref, &mag);
  const auto l = wg_layouts(64, K)[2], lb = wg_layouts(N, K)[2];
  const std::vector<float> D = wg_run<N, K>(A, B, C, l, lb, true);
  int bad = 0;
  for (size_t i = 0; i < D.size(); ++i) {
    const double bound = K * 0x1p-24 * mag[i];
    if (std::fabs(D[i] - ref[i]) > bound && bad++ < 5)
      ADD_FAILURE() << "D[" << i << "] = " << D[i] << ", want " << ref[i] << " ± " << bound;
  }
  EXPECT_EQ(bad, 0);
}

TEST(WgmmaTf32, RaceFree) {
  if (!wgmma_available())
    GTEST_SKIP() << "wgmma needs an sm_90 GPU and sm_90a code (wgmma_available)";
  std::vector<float> A(64 * 16, 1.5f), B(16 * 64, -2.0f), C(64 * 64, 0.25f);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(int(i % 7) - 3);
  const auto la = wg_layouts(64, 16)[0], lb = wg_layouts(64, 16)[0];
  auto run = [&] { return wg_run<64, 16>(A, B, C, la, lb, true); };
  EXPECT_RACE_FREE(run, 0.0);
}

#if SENET_CUDA_EMULATION
// The emulation runs the products at the wait, when the hardware may have read its operands at the
// latest: overwriting them before the wait is a race that the schedule permutations expose.
TEST(WgmmaTf32, EmulationShowsAnOverwriteBeforeTheWait) {
  std::vector<float> A(64 * 8), B(8 * 8, 1.0f), C(64 * 8, 0.0f);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(1 + int(i % 5));
  const auto la = wg_layouts(64, 8)[0], lb = wg_layouts(8, 8)[0];
  auto run = [&] { return wg_run<8, 8>(A, B, C, la, lb, true, /*clobber=*/true); };
  EXPECT_GT(emu::schedule_divergence(run), 0.0);
}
#endif
