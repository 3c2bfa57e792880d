// tools/bench/bench_timing.h — how the CPU benchmarks time a piece of work: two warm-up runs (page
// faults, pool start, scratch growth), then `reps` timed runs; median, min and max in ms.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace senet::bench {

struct Timing {
  double median_ms, min_ms, max_ms;
};

inline Timing time_it(const std::function<void()>& f, int reps) {
  for (int i = 0; i < 2; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

}  // namespace senet::bench
