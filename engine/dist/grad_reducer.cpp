// engine/dist/grad_reducer.cpp — see grad_reducer.h.
#include "engine/dist/grad_reducer.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "engine/core/autograd.h"
#include "engine/core/error.h"
#include "engine/core/storage.h"

namespace senet::dist {

GradReducer::GradReducer(std::vector<Tensor> params, int64_t bucket_bytes)
    : params_(std::move(params)) {
  SENET_CHECK(bucket_bytes > 0, "GradReducer: bucket size must be positive");
  bucket_of_.resize(params_.size());
  ready_.assign(params_.size(), 0);
  const int64_t cap = std::max<int64_t>(1, bucket_bytes / int64_t(sizeof(float)));
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    SENET_CHECK(p.dtype() == DType::F32, "GradReducer: parameter ", k, " is not f32");
    index_[&p.impl()] = k;
    if (buckets_.empty() || buckets_.back().numel >= cap ||
        buckets_.back().flat.device() != p.device()) {
      buckets_.emplace_back();
      buckets_.back().flat = Tensor::empty({1}, DType::F32, p.device());  // marks the device
    }
    Bucket& b = buckets_.back();
    b.params.push_back(k);
    b.offset.push_back(b.numel);
    b.numel += p.numel();
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    b.flat = Tensor::zeros({b.numel}, DType::F32, b.flat.device());
    b.what = "gradient all-reduce (bucket " + std::to_string(i + 1) + " of " +
             std::to_string(buckets_.size()) + ")";
  }
}

GradReducer::~GradReducer() {
  if (armed_) set_leaf_grad_ready_hook({});
}

void GradReducer::arm() {
  armed_ = true;
  set_leaf_grad_ready_hook([this](TensorImpl& leaf) { on_ready(leaf); });
}

void GradReducer::disarm() {
  if (armed_) set_leaf_grad_ready_hook({});
  armed_ = false;
}

void GradReducer::on_ready(TensorImpl& leaf) {
  auto it = index_.find(&leaf);
  if (it == index_.end() || ready_[it->second]) return;  // not a parameter of this model
  ready_[it->second] = 1;
  buckets_[bucket_of_[it->second]].ready++;
  start_ready_in_order();
  // MPI progresses a non-blocking collective only inside MPI calls: poke the started ones.
  for (size_t b = 0; b < next_; ++b)
    if (buckets_[b].pending) buckets_[b].pending->test();
}

void GradReducer::start_ready_in_order() {
  while (next_ < buckets_.size() && buckets_[next_].ready == int(buckets_[next_].params.size())) {
    if (armed_) ++started_in_backward_;
    start(next_++);
  }
}

void GradReducer::start(size_t bi) {
  Bucket& b = buckets_[bi];
  const Device dev = b.flat.device();
  float* flat = b.flat.data<float>();
  for (size_t j = 0; j < b.params.size(); ++j) {
    const Tensor& p = params_[b.params[j]];
    const size_t bytes = size_t(p.numel()) * sizeof(float);
    if (p.impl().grad)
      copy_bytes(flat + b.offset[j], dev, Tensor(p.impl().grad).data<float>(), dev, bytes);
    else if (dev == Device::CPU)
      std::fill(flat + b.offset[j], flat + b.offset[j] + p.numel(), 0.f);
    else
      device_backend(dev).memset_zero(flat + b.offset[j], bytes);
  }
  b.pending =
      comm_for(dev != Device::CPU, b.what.c_str()).iallreduce_mean(flat, b.numel, b.what.c_str());
}

void GradReducer::finish() {
  disarm();
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) b.ready = int(b.params.size());  // unreached parameters: zero
  start_ready_in_order();
  for (Bucket& b : buckets_) {
    const Device dev = b.flat.device();
    comm_for(dev != Device::CPU, b.what.c_str()).wait(*b.pending, b.what.c_str());
    b.pending.reset();
    const float* flat = b.flat.data<float>();
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& p = params_[b.params[j]];
      if (!p.impl().grad) continue;  // no rank's graph reached it: stays without gradient
      copy_bytes(Tensor(p.impl().grad).data<float>(), dev, flat + b.offset[j], dev,
                 size_t(p.numel()) * sizeof(float));
    }
    b.ready = 0;
  }
  std::fill(ready_.begin(), ready_.end(), 0);
  next_ = 0;
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace senet::dist
