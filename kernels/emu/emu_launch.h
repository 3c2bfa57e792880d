// kernels/emu/emu_launch.h — senet::launch for the CPU emulation: the one way kernels are started.
// Rule: convert the arguments to the kernel's parameter types once (as <<<>>> does), then give
// every CUDA thread its own copy of them, because a kernel may modify its parameters.
// The launch is synchronous — streams run in order — unless the stream is capturing: then the
// launch is recorded into the capture's graph with a copy of its arguments (kernels/emu/graph.cpp).
// Returns cudaGetLastError().
#pragma once
#include <memory>
#include <tuple>
#include <utility>

#include "kernels/emu/emu_types.h"

namespace emu::detail {
struct KernelLaunch {
  dim3 grid, block;
  size_t smem;
  const void* kernel;               // identity, for cudaFuncSetAttribute limits
  void (*body)(const void* bound);  // runs the kernel for the current CUDA thread
  const void* bound;                // kernel pointer + converted arguments
};
cudaError_t launch_grid(const KernelLaunch& launch);  // validates, runs all blocks, sets last error
// A heap copy of a launch's bound arguments, for a capture that replays the launch later.
using CopyBound = std::shared_ptr<const void> (*)(const void* bound);
// On a capturing stream: validates and records the launch (kernels/emu/graph.cpp); else runs it.
cudaError_t submit_grid(cudaStream_t stream, const KernelLaunch& launch, CopyBound copy);

template <class K, class Args>
struct Bound {
  K kernel;
  Args args;
};
template <class B>
std::shared_ptr<const void> copy_bound(const void* bound) {
  return std::make_shared<const B>(*static_cast<const B*>(bound));
}
template <class B>
void run_thread(const void* bound) {
  const B& b = *static_cast<const B*>(bound);
  auto args = b.args;  // this CUDA thread's copy of the parameters
  std::apply(b.kernel, args);
}
}  // namespace emu::detail

namespace senet {
template <class... P, class... A>
cudaError_t launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem_bytes,
                   cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "senet::launch: wrong number of kernel arguments");
  using B = emu::detail::Bound<void (*)(P...), std::tuple<P...>>;
  const B bound{kernel, std::tuple<P...>(static_cast<P>(std::forward<A>(args))...)};
  return emu::detail::submit_grid(stream,
                                  {grid, block, smem_bytes, reinterpret_cast<const void*>(kernel),
                                   &emu::detail::run_thread<B>, &bound},
                                  &emu::detail::copy_bound<B>);
}
}  // namespace senet
