// tests/core/test_tensor.cpp — tensors, views, RNG reproducibility, thread pool, BLAS loading.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>

#include "engine/core/parallel.h"
#include "engine/core/random.h"
#include "engine/core/tensor.h"
#include "engine/cpu/blas.h"

using namespace senet;

TEST(Tensor, CreationAndProperties) {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(t.ndim(), 4);
  EXPECT_EQ(t.numel(), 120);
  EXPECT_EQ(t.size(-1), 5);
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.device(), Device::CPU);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (float v : t.to_vector()) EXPECT_EQ(v, 0.f);
  Tensor m = Tensor::from_vector_u8({1, 0, 1}, {3});
  EXPECT_EQ(m.dtype(), DType::U8);
  EXPECT_THROW(m.data<float>(), Error);
  EXPECT_THROW(Tensor::zeros({1, 2, 3, 4, 5, 6}), Error);
  EXPECT_THROW(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
  Tensor r = t.reshape({2, -1});
  EXPECT_EQ(r.shape(), Shape({2, 4}));
  Tensor s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), Shape({2, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<float>{2, 3, 4, 5}));
  s.fill_(9.f);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 1, 9, 9, 9, 9, 6, 7}));
  Tensor c = t.clone();
  c.zero_();
  EXPECT_EQ(t.to_vector()[0], 0.f);
  EXPECT_EQ(t.to_vector()[2], 9.f);
  EXPECT_THROW(t.reshape({3, -1}), Error);
  EXPECT_THROW(t.slice(3, 5), Error);
}

TEST(Tensor, CudaWithoutBackendIsAClearError) {
  if (device_available(Device::CUDA)) GTEST_SKIP() << "a CUDA backend is registered";
  try {
    Tensor::zeros({2}, DType::F32, Device::CUDA);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos);
  }
}

TEST(Rng, PhiloxIsReproducibleAndThreadCountIndependent) {
  set_num_threads(1);
  Generator g1(42);
  Tensor a = randn({1000}, g1);
  set_num_threads(2);
  Generator g2(42);
  Tensor b = randn({1000}, g2);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_EQ(g1.offset, 1000u);
  Tensor c = randn({1000}, g2);  // the generator advanced: new numbers
  EXPECT_NE(b.to_vector(), c.to_vector());
  // Known answer: Philox4x32-10 with counter 0 and key 0 (Random123's published test vector).
  Philox4 r = philox4x32(0, 0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
}

TEST(Rng, NormalMoments) {
  Generator g(7);
  auto v = randn({100000}, g).to_vector();
  double m = 0, s2 = 0;
  for (float x : v) m += x;
  m /= v.size();
  for (float x : v) s2 += (x - m) * (x - m);
  s2 /= v.size();
  EXPECT_NEAR(m, 0.0, 0.02);
  EXPECT_NEAR(s2, 1.0, 0.02);
}

TEST(Parallel, ChunksCoverTheRangeAndExceptionsPropagate) {
  set_num_threads(2);
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_THROW(parallel_for(0, 100, 1, [](int64_t, int64_t) { fail("boom"); }), Error);
  // The pool is still usable after an exception.
  std::atomic<int> n{0};
  parallel_region([&](int, int) { n++; });
  EXPECT_EQ(n.load(), 2);
}

TEST(Blas, SgemmMatchesLoopsAndReportsConfig) {
  const int M = 37, N = 29, K = 23;
  Generator g(3);
  auto A = randn({M, K}, g).to_vector(), B = randn({K, N}, g).to_vector();
  std::vector<float> C(M * N, 1.f), Ct(M * N, 0.f);
  cpu::sgemm(false, false, M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, C.data(), N);
  // transposed operands: Aᵀ stored as K×M, Bᵀ as N×K
  std::vector<float> At(K * M), Bt(N * K);
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k) At[k * M + i] = A[i * K + k];
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) Bt[j * K + k] = B[k * N + j];
  cpu::sgemm_parallel(true, true, M, N, K, 1.f, At.data(), M, Bt.data(), K, 0.f, Ct.data(), N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double ref = 0;
      for (int k = 0; k < K; ++k) ref += double(A[i * K + k]) * B[k * N + j];
      EXPECT_NEAR(C[i * N + j], ref, 1e-4);
      EXPECT_NEAR(Ct[i * N + j], ref, 1e-4);
    }
  const auto& info = cpu::blas_info();
  EXPECT_FALSE(info.library.empty());
  EXPECT_FALSE(info.config.empty());
  // The engine never overrides a coretype the user chose.
  if (info.coretype_from_user) {
    EXPECT_EQ(info.coretype, std::getenv("OPENBLAS_CORETYPE"));
  }
}
