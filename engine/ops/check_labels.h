// engine/ops/check_labels.h — validation shared by the classification ops (cross-entropy,
// accuracy): logits f32 N×K, labels i32 [N], every label in [0, K). Errors name the offending index
// and value.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

// The label values themselves, from host memory (a CPU tensor, or the host copy of CUDA labels).
inline void check_label_values(const char* op, const Tensor& logits, const int32_t* y, int64_t N) {
  SENET_CHECK(N == logits.size(0), op, ": ", N, " host labels for logits ", logits.shape());
  const int64_t K = logits.size(1);
  for (int64_t n = 0; n < N; ++n)
    SENET_CHECK(y[n] >= 0 && y[n] < K, op, ": label at index ", n, " is ", y[n], ", outside [0, ",
                K, ") for logits ", logits.shape());
}

inline void check_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  check_ndim(op, logits, 2, "logits (N×K)");
  check_dtype(op, logits, DType::F32, "logits");
  check_dtype(op, labels, DType::I32, "labels");
  SENET_CHECK(labels.ndim() == 1 && labels.size(0) == logits.size(0), op, ": labels ",
              labels.shape(), " do not match logits ", logits.shape(), " (expected [",
              logits.size(0), "])");
  SENET_CHECK(logits.size(1) > 0, op, ": logits ", logits.shape(), " have no classes");
  if (labels.device() != Device::CPU) return;  // device ops check on their side
  check_label_values(op, logits, labels.data<int32_t>(), labels.size(0));
}

}  // namespace senet
