// engine/dist/sync_bn.cpp — see sync_bn.h.
#include "engine/dist/sync_bn.h"

#include <vector>

#include "engine/dist/comm.h"

namespace senet::dist {

static bool g_sync = true;

void set_sync_batchnorm(bool on) { g_sync = on; }
bool sync_batchnorm() { return g_sync; }
bool bn_synchronised() { return g_sync && world().size() > 1; }

int64_t sync_bn_statistics(cpu::MeanM2* acc, int64_t C) {
  Comm& w = world();
  const int K = w.size();
  std::vector<cpu::MeanM2> all(size_t(C) * size_t(K));
  w.allgather(acc, C * int64_t(sizeof(cpu::MeanM2)), all.data(), "BatchNorm statistics");
  for (int64_t c = 0; c < C; ++c) {
    cpu::MeanM2 m;
    for (int r = 0; r < K; ++r) cpu::merge(m, all[size_t(r) * size_t(C) + size_t(c)]);
    acc[c] = m;
  }
  return C > 0 ? int64_t(acc[0].n) : 0;
}

void sync_bn_grad_sums(float* dgamma, float* dbeta, int64_t C) {
  std::vector<double> s(size_t(2 * C));
  for (int64_t c = 0; c < C; ++c) s[size_t(c)] = dgamma[c], s[size_t(C + c)] = dbeta[c];
  world().allreduce_sum(s.data(), 2 * C, "BatchNorm gradient sums");
  for (int64_t c = 0; c < C; ++c)
    dgamma[c] = float(s[size_t(c)]), dbeta[c] = float(s[size_t(C + c)]);
}

}  // namespace senet::dist
