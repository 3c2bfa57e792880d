// kernels/emu/emu_device.h — device-side CUDA for the CPU emulation: the keywords, the built-in
// index variables, __syncthreads, the warp operations and __nanosleep.
// Rule: each CUDA thread is a fiber on its block's worker OS thread, so `__shared__` is
// `thread_local` (one instance per running block) and the built-ins are thread_local variables the
// scheduler rewrites before it resumes a fiber. Blocking calls post what they wait for and yield.
#pragma once
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "kernels/emu/emu_types.h"

#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __grid_constant__
#define __shared__ thread_local
#define __forceinline__ inline __attribute__((always_inline))
#define __align__(n) alignas(n)
#define __launch_bounds__(...)
// __restrict__ is a g++ keyword already. __noinline__ is left undefined on purpose: libstdc++ 12
// writes __attribute__((__noinline__)), which a macro would break.

// One declaration of dynamic shared memory for both modes, inside a kernel body:
//   SENET_DYNAMIC_SHARED(float, smem);   // float* const smem, 16-byte aligned, size = launch smem
// Emulation poisons it with 0xFF bytes at every block start (a float read before written is NaN).
#define SENET_DYNAMIC_SHARED(T, name) \
  T* const name = reinterpret_cast<T*>(::emu::detail::dynamic_shared())

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
constexpr int warpSize = 32;

namespace emu::detail {
using Site = std::source_location;
enum class BarrierKind { Plain, Count, And, Or };
enum class WarpOp : uint8_t {
  Sync,
  ShflIdx,
  ShflUp,
  ShflDown,
  ShflXor,
  Ballot,
  Any,
  All,
  ReduceAdd,
  ReduceMin,
  ReduceMax,
  ReduceAnd,
  ReduceOr,
  ReduceXor,
  MatchAny,
  MatchAll
};
void* dynamic_shared();
int barrier(BarrierKind kind, int predicate, const Site& site);
uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int param, int width, const Site& site,
                 int* pred = nullptr);
unsigned active_mask();
void yield();

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp ops move up to 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}
template <class T>
T shfl(WarpOp op, unsigned mask, T v, int param, int width, const Site& s) {
  return from_bits<T>(warp_op(op, mask, to_bits(v), param, width, s));
}
}  // namespace emu::detail

// --- block barrier: waits for every thread of the block that has not exited, at the same call site
inline void __syncthreads(emu::detail::Site s = emu::detail::Site::current()) {
  emu::detail::barrier(emu::detail::BarrierKind::Plain, 0, s);
}
inline int __syncthreads_count(int p, emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::barrier(emu::detail::BarrierKind::Count, p, s);
}
inline int __syncthreads_and(int p, emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::barrier(emu::detail::BarrierKind::And, p, s);
}
inline int __syncthreads_or(int p, emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::barrier(emu::detail::BarrierKind::Or, p, s);
}

// --- warp operations: wait for the lanes in `mask` that exist and have not exited
inline void __syncwarp(unsigned mask = 0xffffffffu,
                       emu::detail::Site s = emu::detail::Site::current()) {
  emu::detail::warp_op(emu::detail::WarpOp::Sync, mask, 0, 0, warpSize, s);
}
template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = warpSize,
              emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::shfl(emu::detail::WarpOp::ShflIdx, mask, v, src_lane, width, s);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize,
                 emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::shfl(emu::detail::WarpOp::ShflUp, mask, v, int(delta), width, s);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize,
                   emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::shfl(emu::detail::WarpOp::ShflDown, mask, v, int(delta), width, s);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize,
                  emu::detail::Site s = emu::detail::Site::current()) {
  return emu::detail::shfl(emu::detail::WarpOp::ShflXor, mask, v, lane_mask, width, s);
}
inline unsigned __ballot_sync(unsigned mask, int p,
                              emu::detail::Site s = emu::detail::Site::current()) {
  return unsigned(emu::detail::warp_op(emu::detail::WarpOp::Ballot, mask, p != 0, 0, 32, s));
}
inline int __any_sync(unsigned mask, int p, emu::detail::Site s = emu::detail::Site::current()) {
  return int(emu::detail::warp_op(emu::detail::WarpOp::Any, mask, p != 0, 0, 32, s));
}
inline int __all_sync(unsigned mask, int p, emu::detail::Site s = emu::detail::Site::current()) {
  return int(emu::detail::warp_op(emu::detail::WarpOp::All, mask, p != 0, 0, 32, s));
}
inline unsigned __activemask() { return emu::detail::active_mask(); }

#define SENET_EMU_REDUCE(name, op, T, is_signed)                                                  \
  inline T name(unsigned mask, T v, emu::detail::Site s = emu::detail::Site::current()) {         \
    return T(emu::detail::warp_op(emu::detail::WarpOp::op, mask, uint64_t(int64_t(v)), is_signed, \
                                  32, s));                                                        \
  }
SENET_EMU_REDUCE(__reduce_add_sync, ReduceAdd, unsigned, 0)
SENET_EMU_REDUCE(__reduce_add_sync, ReduceAdd, int, 1)
SENET_EMU_REDUCE(__reduce_min_sync, ReduceMin, unsigned, 0)
SENET_EMU_REDUCE(__reduce_min_sync, ReduceMin, int, 1)
SENET_EMU_REDUCE(__reduce_max_sync, ReduceMax, unsigned, 0)
SENET_EMU_REDUCE(__reduce_max_sync, ReduceMax, int, 1)
SENET_EMU_REDUCE(__reduce_and_sync, ReduceAnd, unsigned, 0)
SENET_EMU_REDUCE(__reduce_or_sync, ReduceOr, unsigned, 0)
SENET_EMU_REDUCE(__reduce_xor_sync, ReduceXor, unsigned, 0)
#undef SENET_EMU_REDUCE

template <class T>
unsigned __match_any_sync(unsigned mask, T v, emu::detail::Site s = emu::detail::Site::current()) {
  return unsigned(
      emu::detail::warp_op(emu::detail::WarpOp::MatchAny, mask, emu::detail::to_bits(v), 0, 32, s));
}
template <class T>
unsigned __match_all_sync(unsigned mask, T v, int* pred,
                          emu::detail::Site s = emu::detail::Site::current()) {
  return unsigned(emu::detail::warp_op(emu::detail::WarpOp::MatchAll, mask, emu::detail::to_bits(v),
                                       0, 32, s, pred));
}

// The scheduler is cooperative: a spin-wait must call __nanosleep to let other threads run.
inline void __nanosleep(unsigned) { emu::detail::yield(); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
template <class T>
T __ldg(const T* p) {
  return *p;
}
