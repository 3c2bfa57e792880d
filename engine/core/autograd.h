// engine/core/autograd.h — the tape: one Node per op output, walked backwards by Tensor::backward.
// An op records a Node when grad mode is on and any input requires grad:
//     y = op(x...);  record("op", {x...}, y, [saved](const Tensor& dy) { return {dx...}; });
// The closure is the op's backward, written right under its forward (engine/ops/*.cpp); it returns
// one gradient per input (an undefined Tensor where an input needs none). backward() visits nodes in
// reverse topological order, sums gradients that meet (+=), and stores leaf gradients in .grad.
// Rule: a closure must capture saved *outputs* detached (y.detach()), never the output handle
// itself, or the output would own its own node (a reference cycle, i.e. a leak).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace senet {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string op;                                   // op name, for error messages and debugging
  std::vector<std::shared_ptr<TensorImpl>> inputs;  // null where the input needs no gradient
  BackwardFn backward;
};

// Grad mode (thread-local). Under NoGradGuard no node is recorded (evaluation, optimizer updates).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when an op with these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
inline bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// The nodes reachable from root's grad_fn, each once, in topological order: every node after the
// nodes that produced its inputs (iterative post-order DFS, so deep networks do not overflow the
// stack). Empty for a leaf. backward() walks it in reverse; tests read which ops a forward ran.
std::vector<Node*> topological_nodes(const Tensor& root);

// Attach a node to `output`. Inputs that do not require grad are stored as null.
void record(const char* op, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn backward);

// Called once a leaf's gradient is complete within a backward(): every node that uses the leaf
// has delivered its part into .grad. The data-parallel gradient reducer (engine/dist/grad_reducer.h)
// starts a bucket's all-reduce from here while the rest of the backward runs. One hook per thread;
// an empty function removes it. Leaves that receive no gradient in a backward are never reported.
using LeafGradReadyHook = std::function<void(TensorImpl& leaf)>;
void set_leaf_grad_ready_hook(LeafGradReadyHook hook);

// dst += src for f32 tensors of the same shape and device (used to accumulate gradients).
void accumulate(Tensor& dst, const Tensor& src);

}  // namespace senet
