// kernels/emu/report.cpp — the deadlock report: which CUDA threads wait where, then abort.
// Rule: print consecutive threads that wait at the same place as one range, so a 1,024-thread
// block reads in a few lines; name the call site (file:line, function) of each wait.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/emu/worker.h"

namespace emu::detail {
namespace {
const char* what(const Thread& t) {
  if (t.state == State::AtBarrier) return "__syncthreads";
  switch (t.post.op) {
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
    case WarpOp::MatchAny:
    case WarpOp::MatchAll: return "__match_*_sync";
    case WarpOp::ShflIdx:
    case WarpOp::ShflUp:
    case WarpOp::ShflDown:
    case WarpOp::ShflXor: return "__shfl*_sync";
    default: return "__reduce_*_sync";
  }
}
bool same_wait(const Thread& a, const Thread& b) {
  return a.state == b.state && a.site.line() == b.site.line() &&
         std::strcmp(a.site.file_name(), b.site.file_name()) == 0 &&
         (a.state != State::AtWarp || (a.post.op == b.post.op && a.post.mask == b.post.mask));
}
}  // namespace

void report_deadlock(const Block& b) {
  const dim3 g = b.launch->grid, bd = b.launch->block;
  std::fprintf(stderr,
               "senet emu: DEADLOCK in block (%u,%u,%u) of grid (%u,%u,%u), block (%u,%u,%u): "
               "%u live threads, none can run.\n",
               b.index.x, b.index.y, b.index.z, g.x, g.y, g.z, bd.x, bd.y, bd.z, b.live);
  const auto n = b.threads.size();
  for (size_t i = 0; i < n;) {
    const Thread& t = b.threads[i];
    size_t j = i + 1;
    while (j < n && (t.state == State::Exited ? b.threads[j].state == State::Exited
                                              : same_wait(t, b.threads[j])))
      ++j;
    const uint3 a = t.idx, z = b.threads[j - 1].idx;
    std::fprintf(stderr, "  threads (%u,%u,%u)..(%u,%u,%u) [%zu]: ", a.x, a.y, a.z, z.x, z.y, z.z,
                 j - i);
    if (t.state == State::Exited)
      std::fprintf(stderr, "exited\n");
    else if (t.state == State::AtWarp)
      std::fprintf(stderr, "wait at %s mask 0x%08x  %s:%u in %s\n", what(t), t.post.mask,
                   t.site.file_name(), unsigned(t.site.line()), t.site.function_name());
    else
      std::fprintf(stderr, "wait at %s  %s:%u in %s\n", what(t), t.site.file_name(),
                   unsigned(t.site.line()), t.site.function_name());
    i = j;
  }
  std::fprintf(stderr,
               "  A barrier opens when every thread that has not exited waits at the same "
               "__syncthreads;\n  a warp operation completes when every lane of its mask (that "
               "exists and has not exited) arrives.\n");
  std::abort();
}
}  // namespace emu::detail
