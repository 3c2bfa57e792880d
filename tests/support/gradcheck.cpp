// tests/support/gradcheck.cpp — central finite differences in double against autograd.
#include "tests/support/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/core/autograd.h"
#include "engine/core/rng.h"

namespace senet::test {

static double dot(const std::vector<float>& y, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * double(r[i]);
  return s;
}

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt) {
  GradcheckResult res;
  for (const Tensor& x : inputs)
    if (x.requires_grad()) x.impl().grad.reset();
  Tensor y = f(inputs);
  std::vector<float> r(size_t(y.numel()));
  for (size_t i = 0; i < r.size(); ++i) r[i] = rand_normal(opt.seed, 99, i);
  Tensor rt = Tensor::from_vector(r, y.shape(), y.device());
  y.backward(rt);

  std::ostringstream rep;
  int shown = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor g = x.grad();
    std::vector<float> analytic = g.defined() ? g.to_vector() : std::vector<float>(x.numel(), 0.f);
    std::vector<float> xv = x.to_vector();
    NoGradGuard no_grad;
    for (size_t i = 0; i < xv.size(); ++i) {
      float orig = xv[i];
      xv[i] = float(orig + opt.eps);
      copy_bytes(x.raw(), x.device(), xv.data(), Device::CPU, xv.size() * 4);
      double lp = dot(f(inputs).to_vector(), r);
      xv[i] = float(orig - opt.eps);
      copy_bytes(x.raw(), x.device(), xv.data(), Device::CPU, xv.size() * 4);
      double lm = dot(f(inputs).to_vector(), r);
      xv[i] = orig;
      copy_bytes(x.raw(), x.device(), xv.data(), Device::CPU, xv.size() * 4);
      double numeric = (lp - lm) / (2 * opt.eps);
      double err = std::abs(double(analytic[i]) - numeric);
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (err > opt.atol + opt.rtol * std::abs(numeric)) {
        res.ok = false;
        if (shown++ < 8)
          rep << "input " << k << " " << x.shape() << " element " << i << ": analytic "
              << analytic[i] << " numeric " << numeric << " (|diff| " << err << ")\n";
      }
    }
  }
  res.report = rep.str();
  return res;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float scale, bool requires_grad,
                     float away_from_zero) {
  std::vector<float> v(size_t(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    float x = scale * rand_normal(seed, 1, i);
    if (away_from_zero > 0 && std::abs(x) < away_from_zero)
      x = x < 0 ? x - away_from_zero : x + away_from_zero;
    v[i] = x;
  }
  Tensor t = Tensor::from_vector(v, shape);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor random_int_tensor(const Shape& shape, uint64_t seed, int lo, int hi) {
  std::vector<float> v(size_t(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(lo + int(rand_below(seed, 2, i, uint32_t(hi - lo + 1))));
  return Tensor::from_vector(v, shape);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  check_same_shape("max_abs_diff", a, b);
  auto av = a.to_vector(), bv = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < av.size(); ++i) m = std::max(m, std::abs(double(av[i]) - double(bv[i])));
  return m;
}

double nmse(const Tensor& a, const Tensor& b) {
  check_same_shape("nmse", a, b);
  auto av = a.to_vector(), bv = b.to_vector();
  double num = 0, den = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    double d = double(av[i]) - double(bv[i]);
    num += d * d;
    den += double(bv[i]) * double(bv[i]);
  }
  return den > 0 ? num / den : num;
}

std::string allclose_report(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape())
    return "shape mismatch: " + a.shape().str() + " vs " + b.shape().str();
  auto av = a.to_vector(), bv = b.to_vector();
  std::ostringstream s;
  int bad = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    double d = std::abs(double(av[i]) - double(bv[i]));
    if (!(d <= atol + rtol * std::abs(double(bv[i])))) {  // also catches NaN
      if (bad < 8)
        s << "element " << i << ": " << av[i] << " vs " << bv[i] << " (|diff| " << d << ")\n";
      ++bad;
    }
  }
  if (bad)
    s << bad << " of " << av.size() << " elements differ beyond atol " << atol << " rtol " << rtol;
  return s.str();
}

}  // namespace senet::test
