// engine/ops/elementwise.h — element-wise arithmetic and full reductions, with autograd.
//   add(a,b) = a + b          ∂/∂a = dy, ∂/∂b = dy
//   sub(a,b) = a − b          ∂/∂a = dy, ∂/∂b = −dy
//   mul(a,b) = a ⊙ b          ∂/∂a = dy ⊙ b, ∂/∂b = dy ⊙ a
//   scale(x,s) = s·x          ∂/∂x = s·dy
//   sum(x) = Σx (a scalar)    ∂/∂x = dy (broadcast)
//   mean(x) = Σx / n          ∂/∂x = dy / n
// In place, no gradient (an edit of values, e.g. a weight mask applied after a step; it refuses
// to run where the tape would need it — call it under NoGradGuard or on tensors needing none):
//   mul_(a, b): a ← a ⊙ b     the same kernel as mul, writing over a (bitwise equal to a = a ⊙ b)
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float s);
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
void mul_(Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(float s, const Tensor& x) { return scale(x, s); }
inline Tensor operator*(const Tensor& x, float s) { return scale(x, s); }

}  // namespace senet
