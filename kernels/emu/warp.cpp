// kernels/emu/warp.cpp — warp operations: lanes post, the last lane a group needs computes all.
// Rule: a group is the posting lane's mask ∩ lanes that exist ∩ lanes not exited; it completes
// when all its lanes have posted. Shuffles follow PTX shfl.sync: the segment of `width` lanes
// clamps the source (idx wraps in the segment, up/down/xor keep their own value out of range). A
// source lane outside the group gives all-ones bits (NaN for float): undefined on a GPU too.
#include <bit>
#include <cstdio>
#include <cstdlib>

#include "kernels/emu/worker.h"

namespace emu::detail {
namespace {
constexpr uint64_t kPoison = ~uint64_t(0);

uint64_t shuffle(const WarpPost* lanes, unsigned group, unsigned lane) {
  const WarpPost& p = lanes[lane];
  const int w =
      (p.width >= 1 && p.width <= 32 && std::has_single_bit(unsigned(p.width))) ? p.width : 32;
  const int lo = int(lane) & ~(w - 1), hi = lo + w - 1;
  int src = int(lane);
  bool in_range = true;
  switch (p.op) {
    case WarpOp::ShflIdx: src = lo | (p.param & (w - 1)); break;
    case WarpOp::ShflUp:
      src = int(lane) - p.param;
      in_range = src >= lo;
      break;
    case WarpOp::ShflDown:
      src = int(lane) + p.param;
      in_range = src <= hi;
      break;
    default:
      src = int(lane) ^ p.param;
      in_range = src <= hi;
      break;  // ShflXor
  }
  if (!in_range) return p.value;
  if (src < 0 || src > 31 || !(group >> src & 1)) return kPoison;
  return lanes[src].value;
}

uint64_t reduce(WarpOp op, bool is_signed, const WarpPost* lanes, unsigned group) {
  int64_t acc = 0;
  bool first = true;
  for (unsigned g = group; g; g &= g - 1) {
    const uint64_t raw = lanes[std::countr_zero(g)].value;
    const int64_t v = is_signed ? int64_t(int32_t(raw)) : int64_t(uint32_t(raw));
    if (first) {
      acc = v;
      first = false;
      continue;
    }
    switch (op) {
      case WarpOp::ReduceAdd: acc += v; break;
      case WarpOp::ReduceMin: acc = v < acc ? v : acc; break;
      case WarpOp::ReduceMax: acc = v > acc ? v : acc; break;
      case WarpOp::ReduceAnd: acc &= v; break;
      case WarpOp::ReduceOr: acc |= v; break;
      default: acc ^= v; break;  // ReduceXor
    }
  }
  return uint64_t(acc);
}

void complete(Block& b, unsigned warp, unsigned group) {
  Thread* t = &b.threads[warp * 32];
  WarpPost lanes[32];
  unsigned ballot = 0;
  const WarpOp op = t[std::countr_zero(group)].post.op;
  for (unsigned g = group; g; g &= g - 1) {
    const int l = std::countr_zero(g);
    lanes[l] = t[l].post;
    if (lanes[l].op != op) {
      std::fprintf(stderr,
                   "senet emu: lanes of warp %u in block (%u,%u,%u) meet at different "
                   "warp operations: %s:%u and %s:%u\n",
                   warp, b.index.x, b.index.y, b.index.z,
                   t[std::countr_zero(group)].site.file_name(),
                   unsigned(t[std::countr_zero(group)].site.line()), t[l].site.file_name(),
                   unsigned(t[l].site.line()));
      std::abort();
    }
    if (lanes[l].value) ballot |= 1u << l;
  }
  for (unsigned g = group; g; g &= g - 1) {
    const int l = std::countr_zero(g);
    WarpPost& p = t[l].post;
    switch (op) {
      case WarpOp::Sync: break;
      case WarpOp::ShflIdx:
      case WarpOp::ShflUp:
      case WarpOp::ShflDown:
      case WarpOp::ShflXor: p.result = shuffle(lanes, group, unsigned(l)); break;
      case WarpOp::Ballot: p.result = ballot; break;
      case WarpOp::Any: p.result = ballot != 0; break;
      case WarpOp::All: p.result = ballot == group; break;
      case WarpOp::MatchAny:
      case WarpOp::MatchAll: {
        unsigned same = 0;
        for (unsigned h = group; h; h &= h - 1)
          if (lanes[std::countr_zero(h)].value == p.value) same |= 1u << std::countr_zero(h);
        p.pred = same == group;
        p.result = op == WarpOp::MatchAny ? same : (p.pred ? group : 0);
        break;
      }
      default: p.result = reduce(op, p.param != 0, lanes, group); break;
    }
    t[l].state = State::Runnable;
  }
}
}  // namespace

void warp_try_complete(Block& b, unsigned warp, int only_lane) {
  Warp& w = b.warps[warp];
  unsigned pending = only_lane >= 0 ? 1u << only_lane : w.posted;
  while (pending) {
    const int lane = std::countr_zero(pending);
    const unsigned group =
        (b.threads[warp * 32 + lane].post.mask | 1u << lane) & w.present & ~w.exited;
    if (group & ~w.posted) {
      pending &= ~(1u << lane);  // still waiting for a lane of its group
      continue;
    }
    complete(b, warp, group);
    w.posted &= ~group;
    pending &= ~group;
  }
}
}  // namespace emu::detail
