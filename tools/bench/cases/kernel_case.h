// tools/bench/cases/kernel_case.h — what a kernel case is: one registry entry (kernels/registry.h)
// on one layer shape, as a re-runnable launch plus a check of its first launch against the CPU
// backend (engine/cpu, the oracle). test_kernel_registry and bench_kernels both run them.
//   Dev<T>    a device buffer (cudaMalloc; upload / download)
//   Arena     the buffers of one case: a hook allocates every buffer through the arena it is given,
//             and the caller keeps the arena alive until the case is done (launch lambdas may
//             capture only raw pointers, inside params structs)
//   Check     the outcome of one check: bitwise, tolerance, exact and pass-bit comparisons
//   Case      {launch, check}; Hook: Case(geometry, arena), one per "name/version" (cases.h)
// Rule: host code only, built twice — g++ against the emulation (senet_kernel_cases_emu) and nvcc
// against the real runtime (senet_kernel_cases_gpu); see tools/bench/CMakeLists.txt. The build a
// file is in: SENET_BENCH_REAL_CUDA (1 under nvcc or the real runtime, 0 under the emulation).
// Checks: conv-family inputs are integers in [−8, 8] (inputs.h small_ints), so every partial sum is
// exact and conv outputs must equal the CPU bitwise; other outputs |gpu − cpu| ≤ tol·max|cpu| with
// the tolerance given per hook (the reasons are in tests/kernels/test_kernels_*.cu, which hold the
// tight per-kernel bounds).
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d_geom.h"
#include "kernels/emu/host_runtime.h"

#if defined(__CUDACC__) || SENET_KERNELS_CUDA
#define SENET_BENCH_REAL_CUDA 1
#else
#define SENET_BENCH_REAL_CUDA 0
#endif

namespace senet::cases {

void cuda_ok(cudaError_t e, const char* what);  // throws std::runtime_error on an error
#define CUDA_TRY(expr) ::senet::cases::cuda_ok((expr), #expr)

template <class T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) { CUDA_TRY(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { upload(h); }
  ~Dev() { cudaFree(p_); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) {
    if (h.size() != n_) throw std::runtime_error("upload: size mismatch");
    if (n_) CUDA_TRY(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    if (n_) CUDA_TRY(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};
template <class T>
using DevP = std::shared_ptr<Dev<T>>;

// Every buffer a hook allocates goes into the arena of the case being run, so that it lives until
// the case is done even where a launch lambda captured only raw pointers (params structs).
class Arena {
 public:
  template <class T>
  DevP<T> keep(DevP<T> p) {
    bufs_.push_back(p);
    return p;
  }
  template <class T>
  DevP<T> dev(const std::vector<T>& h) {
    return keep(std::make_shared<Dev<T>>(h));
  }
  template <class T>
  DevP<T> dev(int64_t n) {
    return keep(std::make_shared<Dev<T>>(static_cast<size_t>(n)));
  }

 private:
  std::vector<std::shared_ptr<void>> bufs_;
};

using Vec = std::vector<float>;

// The outcome of one check: every comparison of one kernel launch against the CPU.
struct Check {
  bool ok = true;
  double worst = 0;  // max over outputs of max|gpu − cpu| / max|cpu|
  std::string detail;

  void fail(const std::string& what);
  // tol == 0: bitwise; else |d| ≤ tol·max|ref| per element.
  void close(const char* what, const Vec& got, const Vec& ref, double tol);
  template <class T>
  void equal(const char* what, const std::vector<T>& got, const std::vector<T>& ref) {
    size_t bad = got.size() == ref.size() ? 0 : 1;
    for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) bad += got[i] != ref[i];
    if (bad) fail(std::string(what) + ": " + std::to_string(bad) + " differ (exact)");
  }
  // Pass bits (uint32 words) against the CPU's uint64 words: a flipped bit is tolerated only where
  // z ≈ 0, i.e. |a_ref| ≤ tol·max|a_ref| (the sign of a rounding-level z may differ).
  void bits(const char* what, const std::vector<uint32_t>& got, const std::vector<uint64_t>& ref,
            int64_t n, const Vec& a_ref, double tol);
};

// One kernel on one shape: `launch` is what gets timed (re-runnable; in-place kernels keep
// updating their state), `check` compares the outputs of the FIRST launch with the CPU.
struct Case {
  std::function<cudaError_t()> launch;
  std::function<void(Check&)> check;
};
using Hook = std::function<Case(const Conv2dGeom&, Arena&)>;

inline constexpr double kTol = 1e-5;  // BN-family values: summation order of the statistics
inline constexpr double kTolReduce =
    1e-4;  // dγ, dβ, losses: reductions that cancel, over up to 32768 values
inline constexpr double kTolUlp = 1e-6;   // one rounding (FMA contraction under nvcc)
inline constexpr double kTolTf32 = 1e-3;  // non-integer operands rounded to TF32 (2⁻¹¹ each)

}  // namespace senet::cases
