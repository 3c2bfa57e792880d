// engine/dist/grad_reducer.h — the gradient all-reduce of a data-parallel step, overlapped with
// the backward (the scheme of PyTorch's DistributedDataParallel, on engine/dist/comm.h).
//
//   parameters, in reverse order of registration (≈ the order the backward finishes them), are cut
//   into buckets of about kBucketBytes;
//   arm(): an autograd hook (engine/core/autograd.h) marks each parameter whose gradient is
//     complete; when every parameter of the next bucket in line is, its gradients are copied into
//     the bucket's flat buffer and its mean over the ranks starts (non-blocking) while the backward
//     goes on with the layers below;
//   finish(): starts the buckets still waiting (a parameter no node reached this step counts as a
//     zero gradient), waits for them in order and writes ḡ = (1/K) Σ_r g_r back into each .grad.
//
// Buckets start strictly in index order, so every rank issues the same collectives in the same
// order whatever order its backward finished the parameters in (the collective contract). A step
// whose body runs several backward passes (width-switchable students) calls finish() without
// arm(): everything is reduced after the last pass.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/dist/comm.h"

namespace senet::dist {

class GradReducer {
 public:
  static constexpr int64_t kBucketBytes = int64_t(1) << 20;

  // params: every trainable tensor of the model (same list, same order on every rank).
  explicit GradReducer(std::vector<Tensor> params, int64_t bucket_bytes = kBucketBytes);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  void arm();     // installs the autograd hook for this thread's next backward()
  void disarm();  // removes it (finish() also does)
  void finish();  // every .grad ← the mean over the ranks

  int64_t buckets() const { return int64_t(buckets_.size()); }
  double wait_seconds() const { return wait_seconds_; }  // Σ time blocked in finish()
  int64_t started_in_backward() const { return started_in_backward_; }  // overlap, for tests

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offset;
    int64_t numel = 0;
    Tensor flat;  // on the parameters' device
    int ready = 0;
    std::unique_ptr<Pending> pending;
    std::string what;  // "gradient all-reduce (bucket b of n)", for timeout messages
  };
  void on_ready(TensorImpl& leaf);
  void start(size_t b);
  void start_ready_in_order();

  std::vector<Tensor> params_;
  std::unordered_map<const TensorImpl*, size_t> index_;
  std::vector<size_t> bucket_of_;
  std::vector<char> ready_;
  std::vector<Bucket> buckets_;
  size_t next_ = 0;  // the next bucket to start
  bool armed_ = false;
  double wait_seconds_ = 0;
  int64_t started_in_backward_ = 0;
};

}  // namespace senet::dist
