// engine/core/autograd.cpp — reverse-mode differentiation over the recorded nodes.
// backward(): (1) collect the nodes reachable from the root, in topological order (iterative DFS,
// so deep networks do not overflow the stack); (2) visit them in reverse, calling each node's
// backward with the summed gradient of its output; (3) leaf gradients accumulate into .grad.
#include "engine/core/autograd.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace senet {

static thread_local bool g_grad_enabled = true;
static thread_local LeafGradReadyHook g_leaf_hook;

void set_leaf_grad_ready_hook(LeafGradReadyHook hook) { g_leaf_hook = std::move(hook); }

std::vector<Node*> topological_nodes(const Tensor& root) {
  std::vector<Node*> order;
  Node* const top = root.impl().grad_fn.get();
  if (!top) return order;
  std::unordered_set<Node*> visited{top};
  std::vector<std::pair<Node*, size_t>> stack{{top, 0}};  // a node and its next input to visit
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const auto& in = node->inputs[next++];
      if (in && in->grad_fn && visited.insert(in->grad_fn.get()).second)
        stack.push_back({in->grad_fn.get(), 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

void record(const char* op, const std::vector<Tensor>& inputs, Tensor& output,
            BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs)
    node->inputs.push_back(t.defined() && t.requires_grad() ? t.impl_ptr() : nullptr);
  node->backward = std::move(backward);
  output.impl().grad_fn = std::move(node);
}

void accumulate(Tensor& dst, const Tensor& src) {
  check_same_shape("gradient accumulation", dst, src);
  check_same_device("gradient accumulation", dst, src);
  float* d = dst.data<float>();
  const float* s = src.data<float>();
  if (dst.device() == Device::CPU) {
    for (int64_t i = 0, n = dst.numel(); i < n; ++i) d[i] += s[i];
  } else {
    device_backend(dst.device()).add_inplace(d, s, dst.numel());
  }
}

// Gradients waiting for a node: the first arrival is kept as is (it may alias a tensor another
// node returned), so it is cloned before the second one is added into it.
struct PendingGrad {
  Tensor grad;
  bool owned = false;
};

static void add_to(PendingGrad& p, const Tensor& g) {
  if (!p.grad.defined()) {
    p.grad = g;
    return;
  }
  if (!p.owned) {
    p.grad = p.grad.clone();
    p.owned = true;
  }
  accumulate(p.grad, g);
}

void Tensor::backward(const Tensor& grad) const {
  Tensor seed = grad;
  if (!seed.defined()) {
    SENET_CHECK(numel() == 1,
                "backward(): a gradient is required for a non-scalar tensor of shape ", shape());
    seed = Tensor::full(shape(), 1.0f, device());
  }
  check_same_shape("backward() seed gradient", *this, seed);
  SENET_CHECK(requires_grad(), "backward(): tensor ", shape(),
              " does not require grad (no input of its graph requires grad)");
  NoGradGuard no_grad;  // ops called inside backward closures record nothing

  auto accumulate_leaf = [](TensorImpl& leaf, const Tensor& g) {
    if (!leaf.grad) {
      leaf.grad = g.clone().impl_ptr();
    } else {
      Tensor acc(leaf.grad);
      accumulate(acc, g);
    }
  };
  if (is_leaf()) {
    accumulate_leaf(impl(), seed);
    if (g_leaf_hook) g_leaf_hook(impl());
    return;
  }

  // (1) topological order: `order` lists each node after the nodes that produced its inputs, so
  // walking it backwards visits every consumer of a tensor before its producer.
  const std::vector<Node*> order = topological_nodes(*this);

  // With a leaf hook: how many gradient arrivals each leaf still waits for in this backward.
  std::unordered_map<TensorImpl*, int> arrivals_left;
  if (g_leaf_hook)
    for (Node* node : order)
      for (const auto& in : node->inputs)
        if (in && !in->grad_fn && in->requires_grad) ++arrivals_left[in.get()];

  // (2) reverse topological order: every consumer of a tensor runs before its producer.
  std::unordered_map<Node*, PendingGrad> pending;
  pending[impl().grad_fn.get()].grad = seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = pending.find(node);
    if (found == pending.end()) continue;  // no gradient flowed here
    Tensor g = std::move(found->second.grad);
    pending.erase(found);
    std::vector<Tensor> grads = node->backward(g);
    SENET_CHECK(grads.size() == node->inputs.size(), "autograd: backward of '", node->op,
                "' returned ", grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const auto& in = node->inputs[i];
      if (!in || !grads[i].defined()) continue;
      SENET_CHECK(grads[i].shape() == in->shape, "autograd: backward of '", node->op,
                  "' gave gradient ", grads[i].shape(), " for input ", i, " of shape ", in->shape);
      if (in->grad_fn)
        add_to(pending[in->grad_fn.get()], grads[i]);
      else if (in->requires_grad) {
        accumulate_leaf(*in, grads[i]);
        if (g_leaf_hook && --arrivals_left[in.get()] == 0) g_leaf_hook(*in);
      }
    }
  }
}

}  // namespace senet
