// tests/support/gradcheck.h — finite-difference gradient checks and comparison helpers for tests.
// gradcheck(f, inputs): loss L = Σ f(x)·r with a random upstream gradient r (never all-ones, which
// hides transposition bugs), computed in double. Analytic: f(x).backward(r). Numeric: central
// differences (L(x+εe_i) − L(x−εe_i)) / 2ε for every element of every input that requires grad.
// Pass when |analytic − numeric| ≤ atol + rtol·|numeric| for every element.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace senet::test {

struct GradcheckOptions {
  double eps = 1e-2;  // fp32 forward: smaller ε loses to rounding, larger to curvature
  double atol = 2e-3;
  double rtol = 1e-2;
  uint64_t seed = 7;  // for the upstream gradient r
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;
  std::string report;  // the worst elements, for the failure message
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;
GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {});

// Random test tensors (Philox, seeded). `away_from_zero` keeps |x| ≥ margin (off the ReLU kink).
Tensor random_tensor(const Shape& shape, uint64_t seed, float scale = 1.f,
                     bool requires_grad = false, float away_from_zero = 0.f);
// Integers in [lo, hi] as floats: products and sums stay exact in fp32 (bitwise comparisons).
Tensor random_int_tensor(const Shape& shape, uint64_t seed, int lo, int hi);

// max |a − b| and the scale-free NMSE Σ(a−b)²/Σb².
double max_abs_diff(const Tensor& a, const Tensor& b);
double nmse(const Tensor& a, const Tensor& b);
// Per element |a − b| ≤ atol + rtol·|b|; returns a description of the first violations or "".
std::string allclose_report(const Tensor& a, const Tensor& b, double atol, double rtol);

}  // namespace senet::test

#define EXPECT_GRADCHECK(f, inputs, ...)                              \
  do {                                                                \
    auto _r = ::senet::test::gradcheck((f), (inputs), ##__VA_ARGS__); \
    EXPECT_TRUE(_r.ok) << _r.report;                                  \
  } while (0)
#define EXPECT_ALLCLOSE(a, b, atol, rtol)                               \
  do {                                                                  \
    auto _s = ::senet::test::allclose_report((a), (b), (atol), (rtol)); \
    EXPECT_TRUE(_s.empty()) << _s;                                      \
  } while (0)
