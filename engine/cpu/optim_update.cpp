// engine/cpu/optim_update.cpp — see optim_update.h. Element-wise, so any split over threads gives
// bitwise the same result.
#include "engine/cpu/optim_update.h"

#include <cmath>

#include "engine/core/parallel.h"

namespace senet::cpu {

constexpr int64_t kGrain =
    1 << 15;  // below ~32k elements a thread wake-up costs more than it saves

void sgd_update(float* p, const float* g, float* buf, int64_t n, const SgdUpdate& u) {
  const bool use_buf = u.momentum != 0.f;
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float d = g[i];
      if (u.weight_decay != 0.f) d += u.weight_decay * p[i];
      if (use_buf) {
        const float bi = u.first ? d : u.momentum * buf[i] + (1.f - u.dampening) * d;
        buf[i] = bi;
        d = u.nesterov ? d + u.momentum * bi : bi;
      }
      p[i] -= u.lr * d;
    }
  });
}

void adam_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamUpdate& u) {
  const float step_size = u.lr / u.bias_correction1;
  const float bc2_sqrt = std::sqrt(u.bias_correction2);
  const float decay = 1.f - u.lr * u.weight_decay;  // AdamW's multiplicative decay
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float gi = g[i];
      if (u.weight_decay != 0.f) {
        if (u.decoupled)
          p[i] *= decay;
        else
          gi += u.weight_decay * p[i];
      }
      m[i] = u.beta1 * m[i] + (1.f - u.beta1) * gi;
      v[i] = u.beta2 * v[i] + (1.f - u.beta2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + u.eps);
    }
  });
}

}  // namespace senet::cpu
