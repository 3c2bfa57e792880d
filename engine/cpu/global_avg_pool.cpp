// engine/cpu/global_avg_pool.cpp — see global_avg_pool.h. Each (n,c) plane is summed in double.
#include "engine/cpu/global_avg_pool.h"

#include <algorithm>

#include "engine/core/parallel.h"

namespace senet::cpu {

// Rows per thread below which waking threads costs more than it saves (~32k elements of work).
static int64_t plane_grain(int64_t HW) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(HW, 1));
}

void global_avg_pool_forward(const float* x, float* y, int64_t NC, int64_t HW) {
  const double inv = HW > 0 ? 1.0 / double(HW) : 0.0;
  parallel_for(0, NC, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* p = x + r * HW;
      double s = 0;
      for (int64_t i = 0; i < HW; ++i) s += p[i];
      y[r] = float(s * inv);
    }
  });
}

void global_avg_pool_backward(const float* dy, float* dx, int64_t NC, int64_t HW) {
  const float inv = HW > 0 ? 1.f / float(HW) : 0.f;
  parallel_for(0, NC, plane_grain(HW), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) std::fill(dx + r * HW, dx + (r + 1) * HW, dy[r] * inv);
  });
}

}  // namespace senet::cpu
