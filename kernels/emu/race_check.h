// kernels/emu/race_check.h — race check by schedule permutation, for kernel tests.
// Rule: a correct kernel's output does not depend on the order in which a block's threads run
// between sync points. schedule_divergence(run) calls run() under forward, reverse, random:1 and
// random:2 (one worker thread, so block order is fixed too) and returns the largest normalised
// difference to the forward output: max|a-b| / max|forward|. 0 for exact kernels; float atomics
// give ~1e-7. Under nvcc it runs twice on the GPU and compares (catches only some races).
//   run: a callable that launches and returns the outputs copied to the host (any numeric vector).
//   EXPECT_RACE_FREE(run, 1e-6);   // in a GoogleTest test
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/emu/cuda_compat.h"

namespace emu {
// max|a_i - b_i| / max|a_i|; infinity if sizes differ or NaN appears in one and not the other.
inline double normalized_max_difference(const std::vector<double>& a,
                                        const std::vector<double>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return std::numeric_limits<double>::infinity();
      continue;
    }
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(a[i]));
  }
  return diff == 0 ? 0 : diff / std::max(scale, std::numeric_limits<double>::min());
}

template <class Run>
double schedule_divergence(Run&& run) {
  auto once = [&] {
    auto out = run();
    return std::vector<double>(out.begin(), out.end());
  };
#if SENET_CUDA_EMULATION
  std::vector<double> reference;
  double worst = 0;
  for (ScheduleSpec s : {ScheduleSpec{Schedule::Forward, 0}, ScheduleSpec{Schedule::Reverse, 0},
                         ScheduleSpec{Schedule::Random, 1}, ScheduleSpec{Schedule::Random, 2}}) {
    ScopedSchedule scope(s, 1);
    if (reference.empty())
      reference = once();
    else
      worst = std::max(worst, normalized_max_difference(reference, once()));
  }
  return worst;
#else
  return normalized_max_difference(once(), once());
#endif
}
}  // namespace emu

#define EXPECT_RACE_FREE(run, rel_tol)                  \
  EXPECT_LE(::emu::schedule_divergence(run), (rel_tol)) \
      << "the output depends on the thread schedule: a missing __syncthreads/__syncwarp?"
