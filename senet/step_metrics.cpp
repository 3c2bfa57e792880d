// senet/step_metrics.cpp — see step_metrics.h.
#include "senet/step_metrics.h"

#include <cmath>

#include "engine/core/autograd.h"
#include "engine/ops/step_sums.h"

namespace senet {

StepMetrics::StepMetrics(models::Model& model, Device device, int every)
    : device_(device), every_(every < 1 ? 1 : every) {
  for (auto& [name, p] : model.named_parameters()) {
    param_names_.push_back(name);
    params_.push_back(p);
  }
  const int64_t row = 1 + int64_t(params_.size());
  probe_ = Tensor::zeros({int64_t(every_), row}, DType::F32, device_);
  staging_ = Tensor::zeros({row}, DType::F32, device_);
  correct_ = Tensor::zeros({1}, DType::I32, device_);
  if (device_ == Device::CUDA) readback_ = std::make_unique<AsyncReadback>(probe_.numel());
}

bool StepMetrics::accepts(const StepOut& out) const {
  if (pending_ == 0) return true;
  if (out.terms.size() != term_names_.size()) return false;
  for (size_t i = 0; i < out.terms.size(); ++i)
    if (out.terms[i].first != term_names_[i]) return false;
  return true;
}

bool StepMetrics::ready_for(const StepOut& out) const {
  if (!sums_.defined() || out.terms.size() != term_names_.size()) return false;
  for (size_t i = 0; i < out.terms.size(); ++i)
    if (out.terms[i].first != term_names_[i]) return false;
  return true;
}

// New terms: new sums (the same terms keep theirs, zeroed by flush, so a graph's replays can add
// into them).
void StepMetrics::start_window(const StepOut& out) {
  term_names_.clear();
  for (const auto& [name, t] : out.terms) term_names_.push_back(name);
  sums_ = Tensor::zeros({1 + int64_t(term_names_.size())}, DType::F32, device_);
}

void StepMetrics::record(const StepOut& out, int64_t n) {
  SENET_CHECK(accepts(out), "StepMetrics: the step's loss terms changed within a window");
  NoGradGuard no_grad;
  if (!ready_for(out)) start_window(out);
  const Tensor loss = out.loss.detach();
  axpy_into(sums_, 0, float(n), loss);
  for (size_t i = 0; i < out.terms.size(); ++i)
    axpy_into(sums_, 1 + int64_t(i), float(n), out.terms[i].second.detach());
  if (out.logits.defined()) count_correct_into(out.logits.detach(), out.labels, correct_);
  bool every_grad = true;
  for (const Tensor& p : params_) every_grad = every_grad && p.grad().defined();
  if (!every_grad) staging_.zero_();  // a parameter without a gradient sums to 0
  sum_each_into({loss}, staging_, 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    if (g.defined()) sum_each_into({g}, staging_, 1 + int64_t(i));
  }
}

void StepMetrics::commit(const std::string& where) {
  SENET_CHECK(pending_ < every_, "StepMetrics: flush before adding step ", where);
  probe_.slice(pending_, pending_ + 1).copy_(staging_.reshape({1, staging_.numel()}));
  where_.push_back(where);
  ++pending_;
  poll_readback();
}

void StepMetrics::poll_readback() {
  if (!readback_) return;
  if (const float* rows = readback_->poll()) {
    if (readback_window_ == window_) {
      check_rows(rows, checked_, readback_rows_);
      checked_ = readback_rows_;
    }
  }
  if (!readback_->pending() && checked_ < pending_) {
    readback_->enqueue(probe_.slice(0, pending_));
    readback_rows_ = pending_;
    readback_window_ = window_;
  }
}

void StepMetrics::check_rows(const float* rows, int from, int to) const {
  const size_t row = 1 + params_.size();
  for (int s = from; s < to; ++s) {
    const float* r = rows + size_t(s) * row;
    if (!std::isfinite(r[0]))
      fail(where_[size_t(s)], ": the loss is ", r[0], "; stopping (the last checkpoint is kept)");
    for (size_t i = 0; i < params_.size(); ++i)
      if (!std::isfinite(r[1 + i]))
        fail(where_[size_t(s)], ": gradient of '", param_names_[i], "' is not finite (its sum is ",
             r[1 + i], "); stopping (the last checkpoint is kept)");
  }
}

void StepMetrics::add(const StepOut& out, int64_t n, const std::string& where) {
  SENET_CHECK(pending_ < every_, "StepMetrics: flush before adding step ", where);
  record(out, n);
  commit(where);
}

void StepMetrics::flush(EpochStats& st) {
  if (pending_ == 0) return;
  const std::vector<float> probe = probe_.to_vector();
  check_rows(probe.data(), checked_, pending_);
  const std::vector<float> sums = sums_.to_vector();
  st.loss_sum += double(sums[0]);
  for (size_t i = 0; i < term_names_.size(); ++i)
    st.term_sums[term_names_[i]] += double(sums[1 + i]);
  st.correct += correct_.to_vector_i32()[0];
  sums_.zero_();
  correct_.zero_();
  where_.clear();
  pending_ = 0;
  checked_ = 0;
  ++window_;  // a copy still in flight holds this window's rows: poll drops it
}

}  // namespace senet
