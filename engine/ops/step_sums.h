// engine/ops/step_sums.h — running sums kept on the tensors' own device, for per-step metrics that
// the host reads only now and then (senet/step_metrics.h): nothing here copies to the host or
// waits for the device. No autograd. out is F32 (counter I32) on the inputs' device.
//   sum_each_into(xs, out, offset)         out[offset + i] = Σ_j xs[i]_j   (double accumulation;
//                                          non-finite iff some element is, or beyond float range)
//   axpy_into(out, i, a, x)                out[i] += a · x₀                 (x: one element)
//   count_correct_into(logits, labels, c)  c₀ += Σ_n [argmax_k logits[n,k] = labels[n]]
//                                          (engine/ops/count_correct.h's rule; labels in [0, K))
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"

namespace senet {

void sum_each_into(const std::vector<Tensor>& xs, Tensor& out, int64_t offset);
void axpy_into(Tensor& out, int64_t i, float a, const Tensor& x);
void count_correct_into(const Tensor& logits, const Tensor& labels, Tensor& counter);

}  // namespace senet
