// engine/ops/count_correct.cpp — see count_correct.h. A single pass over the logits (CUDA tensors:
// one warp per row on the device, then the count is copied back); small enough
// (N×K with K ≤ a few hundred) that it is not worth threading.
#include "engine/ops/count_correct.h"

#include <cmath>

#include "engine/ops/check_labels.h"
#include "engine/ops/dispatch.h"

namespace senet {

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  check_labels("count_correct", logits, labels);
  const int64_t N = logits.size(0), K = logits.size(1);
  if (use_cuda("count_correct", {&logits, &labels}))
    return cuda().count_correct(logits.data<float>(), labels.data<int32_t>(), N, K);
  const float* z = logits.data<float>();
  const int32_t* y = labels.data<int32_t>();
  int64_t correct = 0;
  for (int64_t n = 0; n < N; ++n) {
    const float* row = z + n * K;
    int64_t best = 0;
    // Strict > keeps the lowest index on ties; a NaN best is replaced by the first number.
    for (int64_t k = 1; k < K; ++k)
      if (row[k] > row[best] || (std::isnan(row[best]) && !std::isnan(row[k]))) best = k;
    correct += best == y[n];
  }
  return correct;
}

}  // namespace senet
