// tools/bench/cases/kernel_case.cu — the comparisons of Check (kernel_case.h) and cuda_ok.
#include "tools/bench/cases/kernel_case.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/cpu/activation.h"

namespace senet::cases {

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

void Check::fail(const std::string& what) {
  ok = false;
  if (detail.size() < 200) detail += (detail.empty() ? "" : "; ") + what;
}

void Check::close(const char* what, const Vec& got, const Vec& ref, double tol) {
  if (got.size() != ref.size()) return fail(std::string(what) + ": size");
  double scale = 0, d = 0;
  size_t bad = 0;
  for (float r : ref) scale = std::max(scale, double(std::fabs(r)));
  for (size_t i = 0; i < got.size(); ++i) {
    const double di = std::fabs(double(got[i]) - double(ref[i]));
    if (!(di <= d)) d = std::isnan(di) ? INFINITY : std::max(d, di);
    const bool good = tol == 0 ? std::memcmp(&got[i], &ref[i], 4) == 0 : di <= tol * scale;
    if (!good) ++bad;
  }
  const double err = scale > 0 ? d / scale : d;
  worst = std::max(worst, err);
  if (bad) {
    char b[160];
    std::snprintf(b, sizeof b, "%s: %zu of %zu off (err %.2e, tol %s%.0e)", what, bad, got.size(),
                  err, tol == 0 ? "bitwise " : "", tol);
    fail(b);
  }
}

void Check::bits(const char* what, const std::vector<uint32_t>& got,
                 const std::vector<uint64_t>& ref, int64_t n, const Vec& a_ref, double tol) {
  double scale = 0;
  for (float r : a_ref) scale = std::max(scale, double(std::fabs(r)));
  size_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool g = (got[size_t(i >> 5)] >> (i & 31)) & 1u, r = cpu::bit_get(ref.data(), i);
    if (g != r && !(std::fabs(a_ref[size_t(i)]) <= tol * scale)) ++bad;
  }
  for (int64_t i = n; i < int64_t(got.size()) * 32; ++i)
    if ((got[size_t(i >> 5)] >> (i & 31)) & 1u) ++bad;  // bits past the end must be 0
  if (bad) fail(std::string(what) + ": " + std::to_string(bad) + " pass bits differ");
}

}  // namespace senet::cases
