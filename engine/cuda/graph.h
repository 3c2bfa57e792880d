// engine/cuda/graph.h — record the device work of a piece of host code once, replay it with one
// launch (a CUDA graph, captured from the engine's stream).
// Why: a training step of ResNet-18 is hundreds of kernel launches, each costing the host a few µs
// of driver time; with small batches or fast kernels the GPU waits for the host. A replay is one
// cudaGraphLaunch, and the host is free while the GPU runs it.
// Rules for the recorded code — a replay runs its device work again, not the host code:
//   * the same tensors every time: inputs live in tensors made before the recording and are
//     refilled in place (Tensor::copy_) before each replay; outputs are the tensors the recording
//     made (keep them), which each replay rewrites. Shapes and control flow are frozen, and so are
//     the values passed to kernels by value (a learning rate, a step count: keep such values in
//     device memory to change them between replays);
//   * checks the recorded code makes on the host ran once, at the recording: check each new input
//     before refilling (e.g. the labels, which the cross-entropy checks given their host copy);
//   * no copy between host and device inside (an upload would replay a staging buffer that is
//     reused, a download cannot wait for a replay): refused with an error naming the graph, as is
//     any synchronisation (the CUDA runtime's capture errors);
//   * memory: the blocks the recording allocated or freed are the graph's until it is destroyed
//     (engine/cuda/backend.cpp keeps them from everyone else), and the graph holds every device
//     storage the recording read or wrote that was still alive at its end (inputs, parameters,
//     outputs), so none of them can be freed and handed to other code while it replays. Run the
//     code once before recording, so that lazily made state (optimizer buffers, gradients) exists
//     and the caching allocator is warm.
// Each replay advances the versions of the device storages the recording wrote (engine/core/
// storage.h), so caches keyed on them (the folded-BN cache) see the new data.
// One graph at a time (a second one is an error until the first is destroyed), recorded and
// replayed on the thread that uses the engine. Host C++ only (no CUDA header).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace senet::cuda {

class Graph {
 public:
  // Records `record`; throws senet::Error naming `name` and the cause when the recording fails.
  // The engine stays usable, but the tensors the failed recording made hold no data (nothing ran).
  Graph(std::string name, const std::function<void()>& record);
  ~Graph();  // waits for its replays, then releases its blocks
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  void replay();         // one graph launch on the engine's stream
  size_t nodes() const;  // kernels, copies and sets recorded
  const std::string& name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace senet::cuda
