// tests/kernels/cuda_test.h — helpers shared by the kernel tests of tests/kernels/: device buffers with
// guard zones, host↔device copies of engine Tensors, bitwise and tolerance comparisons, which
// tensor-core path a launcher took (expect_wgmma), and a race check with a bitwise result check
// (expect_race_free_bitwise).
// Rule: tests copy explicitly between host and device (never dereference a device pointer on the
// host), so the same files run on a real GPU when built by nvcc (tests/kernels/gpu/).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "kernels/emu/cuda_compat.h"
#include "kernels/emu/race_check.h"

#define CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr
#define EXPECT_CUDA_OK(expr) EXPECT_EQ((expr), cudaSuccess) << #expr

namespace senet::cudatest {

// n elements followed by kGuard guard elements filled with a byte pattern; a kernel that writes
// past the end of its output changes them (guard_intact()).
template <class T>
class DeviceBuffer {
 public:
  static constexpr size_t kGuard = 64;
  static constexpr unsigned char kPattern = 0x5A;
  explicit DeviceBuffer(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(&p_, (n + kGuard) * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemset(p_, kPattern, (n + kGuard) * sizeof(T)), cudaSuccess);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    EXPECT_EQ(host.size(), n_);
    EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  void fill_pattern() { EXPECT_EQ(cudaMemset(p_, kPattern, n_ * sizeof(T)), cudaSuccess); }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    EXPECT_EQ(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }
  bool guard_intact() const {
    std::vector<unsigned char> g(kGuard * sizeof(T));
    EXPECT_EQ(cudaMemcpy(g.data(), p_ + n_, g.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    for (unsigned char b : g)
      if (b != kPattern) return false;
    return true;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

inline std::vector<float> host(const Tensor& t) { return t.to_vector(); }
inline std::vector<uint8_t> host_u8(const Tensor& t) { return t.to_vector_u8(); }

// Bitwise equality (first mismatches reported).
inline ::testing::AssertionResult bitwise_equal(const std::vector<float>& got,
                                                const std::vector<float>& ref) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " vs " << ref.size();
  std::ostringstream os;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0 && bad++ < 5)
      os << "  [" << i << "] got " << got[i] << " want " << ref[i] << "\n";
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " differ:\n" << os.str();
}

// |got − ref| ≤ atol_rel·max|ref| + rtol·|ref| per element (scale-free: the atol is relative to
// the tensor's largest value). Reports the worst elements.
inline ::testing::AssertionResult close(const std::vector<float>& got,
                                        const std::vector<float>& ref, double atol_rel,
                                        double rtol) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " vs " << ref.size();
  double scale = 0;
  for (float v : ref) scale = std::max(scale, double(std::fabs(v)));
  std::ostringstream os;
  int bad = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(ref[i]));
    const double tol = atol_rel * scale + rtol * std::fabs(double(ref[i]));
    worst = std::max(worst, scale > 0 ? d / scale : d);
    if (!(d <= tol) && bad++ < 5)
      os << "  [" << i << "] got " << got[i] << " want " << ref[i] << " (|d| " << d << ")\n";
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << got.size() << " out of tolerance (max|ref| " << scale
         << ", worst |d|/max|ref| " << worst << "):\n"
         << os.str();
}

// Runs f and, under the emulation (which counts committed wgmma groups: emu::wgmma_commits),
// expects it to have run the warpgroup-MMA path or not. The wgmma and mma.sync paths give the same
// bits on the tests' small integers, so a launcher that fell back silently would pass a test of
// its results; this sees it. On a GPU it only runs f.
template <class F>
void expect_wgmma([[maybe_unused]] bool want, const F& f) {
#if SENET_CUDA_EMULATION
  const int64_t before = emu::wgmma_commits();
  f();
  EXPECT_EQ(emu::wgmma_commits() > before, want)
      << "the wgmma path " << (want ? "did not run" : "ran");
#else
  f();
#endif
}

// EXPECT_RACE_FREE(run, 0.0) — run() under the race check's thread schedules
// (kernels/emu/race_check.h), every output bitwise the same — and the output bitwise equal to ref.
// The race check's last run is the one compared: the result check costs no launch of its own.
//   run: launches, returns the output copied to the host (several tensors: concatenated).
template <class Run>
void expect_race_free_bitwise(const Run& run, const std::vector<float>& ref) {
  std::vector<float> last;
  EXPECT_RACE_FREE(([&] { return last = run(); }), 0.0);
  EXPECT_TRUE(bitwise_equal(last, ref));
}

// a followed by b (a result of several tensors, for expect_race_free_bitwise).
inline std::vector<float> concat(std::vector<float> a, const std::vector<float>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace senet::cudatest
