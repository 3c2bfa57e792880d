// kernels/reduce.h — deterministic full reductions and the accuracy count (see reduce.cu).
#pragma once
#include <cstdint>

#include "kernels/emu/host_runtime.h"

namespace senet {

enum class reduce_op : int { identity = 0, abs = 1, square = 2 };

// out[0] = scale · Σ_i op(x_i), accumulated in double, in an order fixed by n alone (two levels:
// ⌈n/4096⌉ ≤ 512 block partials, then one block over them in block order), so the result is
// bitwise reproducible across runs, schedules and GPUs. out_double (optional) gets the same value
// in double. partials: sum_partials_count(n) doubles of device workspace (may be null when that
// count is 1). n == 0 writes 0.
struct sum_params {
  const float* x = nullptr;
  int64_t n = 0;
  reduce_op op = reduce_op::identity;
  float scale = 1.f;
  float* out = nullptr;
  double* out_double = nullptr;
  double* partials = nullptr;
};
int64_t sum_partials_count(int64_t n);
cudaError_t sum_launch(sum_params p, cudaStream_t stream);

// out[0] = scale · Σ_i x_i with ONE block of 256 threads (no workspace), same fixed-order double
// accumulation: for short vectors such as per-row losses (the losses' finalize step).
cudaError_t sum_single_block_launch(const float* x, int64_t n, float scale, float* out,
                                    cudaStream_t stream);

// correct[0] = Σ_n [argmax_k logits[n,k] == labels[n]]; argmax ties go to the lowest k and a NaN
// never wins over a number (engine/ops/count_correct.cpp). A label outside [0,K) counts as wrong
// (the op checks labels before calling). Integer counts: exact and order-independent.
struct count_correct_params {
  const float* logits = nullptr;  // N×K row-major
  const int32_t* labels = nullptr;
  int64_t N = 0;
  int64_t K = 0;
  int* correct = nullptr;   // one device int, overwritten
  bool accumulate = false;  // add to *correct instead (a running count kept on the device)
};
cudaError_t count_correct_launch(count_correct_params p, cudaStream_t stream);

}  // namespace senet
