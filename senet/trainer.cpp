// senet/trainer.cpp — data, evaluation and the supervised training loop.
#include "senet/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/io/run_lock.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/step_sums.h"
#include "senet/checkpoint.h"
#include "senet/data_parallel.h"
#include "senet/epoch_loop.h"
#include "senet/run_dir.h"

namespace senet {

namespace fs = std::filesystem;
using json = nlohmann::json;

DataBundle load_data(const RunConfig& cfg) {
  const auto& d = cfg.data;
  const auto& m = cfg.model;
  DataBundle b;
  data::Dataset train, test;
  if (d.dataset == DatasetKind::FashionMnist) {
    SENET_CHECK(m.image_size >= 28,
                "model.image_size must be ≥ 28 for Fashion-MNIST (28×28 images, "
                "zero-padded), got ",
                m.image_size);
    SENET_CHECK(m.num_classes == 10, "model.num_classes must be 10 for Fashion-MNIST, got ",
                m.num_classes);
    train = data::load_fashion_mnist(d.root, true, m.image_size, m.in_channels);
    test = data::load_fashion_mnist(d.root, false, m.image_size, m.in_channels);
    b.norm = data::fashion_mnist_normalize(m.in_channels);
  } else if (d.dataset == DatasetKind::Cifar10 || d.dataset == DatasetKind::Cifar100) {
    bool c10 = d.dataset == DatasetKind::Cifar10;
    SENET_CHECK(m.image_size == 32 && m.in_channels == 3,
                "CIFAR images are 3×32×32: set "
                "model.image_size=32 and model.in_channels=3");
    SENET_CHECK(m.num_classes == (c10 ? 10 : 100), "model.num_classes must be ", c10 ? 10 : 100,
                " for ", enum_name(d.dataset));
    train = c10 ? data::load_cifar10(d.root, true) : data::load_cifar100(d.root, true);
    test = c10 ? data::load_cifar10(d.root, false) : data::load_cifar100(d.root, false);
    b.norm = c10 ? data::cifar10_normalize() : data::cifar100_normalize();
  } else if (d.dataset == DatasetKind::TinyImagenet) {
    SENET_CHECK(m.image_size == 64 && m.in_channels == 3 && m.num_classes == 200,
                "Tiny-ImageNet is 3×64×64 with 200 classes: set model.image_size=64, "
                "model.in_channels=3, model.num_classes=200");
    train = data::load_tiny_imagenet(d.root, true);
    test = data::load_tiny_imagenet(d.root, false);
    b.norm = data::tiny_imagenet_normalize();
  } else {  // synthetic
    train = data::make_synthetic(d.synthetic_size, m.in_channels, m.image_size, m.image_size,
                                 m.num_classes, cfg.seed);
    test = data::make_synthetic(std::max<int64_t>(16, d.synthetic_size / 4), m.in_channels,
                                m.image_size, m.image_size, m.num_classes, cfg.seed + 1000003);
    b.norm.mean.assign(size_t(m.in_channels), 0.5f);
    b.norm.std.assign(size_t(m.in_channels), 0.25f);
  }
  auto limit = [](const data::Dataset& ds, int64_t n) {
    if (n <= 0 || n >= ds.n) return ds;
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
    return data::select_rows(ds, rows.data(), n, ds.name);
  };
  train = limit(train, d.train_limit);
  b.test = limit(test, d.test_limit);
  SENET_CHECK(d.val_size < train.n, "data.val_size (", d.val_size, ") must be smaller than the ",
              "training set (", train.n, " images)");
  if (d.val_size > 0) {
    auto [tr, va] = data::split_train_val(train, d.val_size, cfg.seed);
    b.train = std::move(tr);
    b.val = std::move(va);
  } else {
    b.train = std::move(train);
  }
  b.aug.crop_pad = d.crop_pad;
  b.aug.hflip = d.hflip;
  return b;
}

Tensor batch_images(const data::Batch& b, Device device) {
  if (b.x_on_device.defined() && b.x_on_device.device() == device) return b.x_on_device;
  return Tensor::from_vector(b.x, {b.n, b.c, b.h, b.w}, device);
}
Tensor batch_labels(const data::Batch& b, Device device) {
  if (b.y_on_device.defined() && b.y_on_device.device() == device) return b.y_on_device;
  return Tensor::from_vector_i32(b.y, {b.n}, device);
}

EvalResult evaluate(models::Model& model, const data::Dataset& d, const data::Normalize& norm,
                    int64_t batch_size, Device device) {
  EvalResult r;
  if (d.n == 0) return r;
  NoGradGuard no_grad;
  bool was_training = model.is_training();
  model.eval();
  data::Loader loader(d, batch_size, false, false, data::Augment{}, norm, 0);
  shard_loader(loader);  // several ranks: each evaluates its slice of every batch
  loader.start_epoch(0);
  data::Batch b;
  double loss_sum = 0;
  int64_t correct = 0;
  while (loader.next(b)) {
    if (b.n == 0) continue;  // a last batch smaller than the rank count
    Tensor logits = model.forward(batch_images(b, device));
    Tensor labels = batch_labels(b, device);
    loss_sum += double(softmax_cross_entropy(logits, labels).item()) * double(b.n);
    correct += count_correct(logits, labels);
    r.images += b.n;
  }
  model.train(was_training);
  std::vector<double> sums{loss_sum, double(correct), double(r.images)};
  sum_over_ranks(sums, "the evaluation's sums");
  loss_sum = sums[0], correct = int64_t(sums[1]), r.images = int64_t(sums[2]);
  r.loss = loss_sum / double(r.images);
  r.accuracy = double(correct) / double(r.images);
  return r;
}

StepOut cross_entropy_step(models::Model& model, const data::Batch& b, Device device) {
  StepOut out;
  out.labels = batch_labels(b, device);
  out.logits = model.forward(batch_images(b, device));
  // The batch's host labels are checked on the host: the CUDA loss need not wait for its own check.
  out.loss = softmax_cross_entropy(out.logits, out.labels, &b.y);
  out.terms.emplace_back("ce", out.loss);
  return out;
}

void check_finite(const Tensor& loss, models::Model& model, const std::string& where) {
  if (loss.is_cuda()) {
    // One small device→host copy, not one per gradient: the sums of the loss and of every
    // gradient, in double on the device (engine/ops/step_sums.h: a sum is non-finite iff an
    // element is, or it is beyond float range) — the row senet/step_metrics.h checks one step
    // later on one process; runs on several ranks check it at each step.
    std::vector<std::string> names;
    std::vector<Tensor> xs{loss.detach()};
    for (auto& [name, p] : model.named_parameters())
      if (p.grad().defined()) names.push_back(name), xs.push_back(p.grad());
    Tensor row = Tensor::zeros({int64_t(xs.size())}, DType::F32, Device::CUDA);
    {
      NoGradGuard no_grad;
      sum_each_into(xs, row, 0);
    }
    const std::vector<float> r = row.to_vector();
    if (!std::isfinite(r[0]))
      fail(where, ": the loss is ", r[0], "; stopping (the last checkpoint is kept)");
    for (size_t i = 0; i < names.size(); ++i)
      if (!std::isfinite(r[1 + i]))
        fail(where, ": gradient of '", names[i], "' is not finite (its sum is ", r[1 + i],
             "); stopping (the last checkpoint is kept)");
    return;
  }
  float l = loss.item();
  if (!std::isfinite(l))
    fail(where, ": the loss is ", l, "; stopping (the last checkpoint is kept)");
  for (auto& [name, p] : model.named_parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    for (float v : g.to_vector())
      if (!std::isfinite(v))
        fail(where, ": gradient of '", name, "' contains ", v,
             "; stopping (the last checkpoint is kept)");
  }
}

Device activate_device(const RunConfig& cfg) {
  if (cfg.device == Device::CPU) return Device::CPU;
  init_cuda_backend();  // the binary's CUDA glue, if it installed one (engine/cuda/cuda_ops.h)
  SENET_CHECK(device_available(Device::CUDA),
              "device 'cuda' is not available in this build/process (no CUDA backend registered); "
              "use --device cpu");
  set_cuda_allow_tf32(cfg.allow_tf32);
  return Device::CUDA;
}

void apply_threads(int threads) {
  if (threads > 0) set_num_threads(threads);
}

TrainResult train_supervised(const RunConfig& cfg, models::Model& model, bool resume,
                             int stop_after_epochs) {
  SENET_CHECK(cfg.model.width_factors.empty(),
              "model.width_factors: supervised training trains one width; the width factors are "
              "trained by stage 3 of `senet pipeline` (set model.width_factors to [] here)");
  Device device = activate_device(cfg);
  start_data_parallel(cfg);
  io::RunLock lock(cfg.out_dir);  // creates out_dir; removes it again if we fail before writing
  DataBundle data = load_data(cfg);
  model.to(device);
  auto opt = make_optimizer(cfg.train.optim, model);
  auto sched = make_schedule(cfg.train.optim, cfg.train.epochs);
  data::Loader loader(data.train, cfg.train.batch_size, true, true, data.aug, data.norm, cfg.seed);
  shard_loader(loader);
  SENET_CHECK(loader.batches_per_epoch() > 0, "train.batch_size (", cfg.train.batch_size,
              ") is larger than the training set (", data.train.n, " images)");
  RunDir run(cfg.out_dir, "train", cfg);
  const int start_epoch = resume ? run.resume(model, opt.get()) : 0;
  EpochLoop loop{model, *opt, sched.get(), "epoch", cfg.train.epochs, cfg.progress};
  loop.cuda_graph = cfg.cuda_graph;  // the body depends on the batch and the weights only
  auto body = [&](const data::Batch& b, int64_t) { return cross_entropy_step(model, b, device); };
  TrainResult res;
  auto t0 = std::chrono::steady_clock::now();
  int64_t images_total = 0;
  double train_seconds = 0;
  for (int epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    if (stop_after_epochs >= 0 && res.epochs_run >= stop_after_epochs) {
      res.stopped = true;
      return res;
    }
    EpochStats st = loop.run(loader, epoch, body);
    train_seconds += st.seconds;
    images_total += st.images;
    EvalResult val = evaluate(model, data.val, data.norm, 256, device);
    run.save_epoch(model, opt.get(), epoch + 1, validation_score(val.accuracy, data.val.n));
    json line = st.to_json();
    line["val_loss"] = val.loss;
    line["val_accuracy"] = val.accuracy;
    run.log(line);
    std::fprintf(stderr,
                 "epoch %d: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% | %.0f img/s\n",
                 epoch + 1, st.loss(), 100.0 * st.accuracy(), val.loss, 100 * val.accuracy,
                 st.images_per_second());
    res.epochs_run++;
    res.val = val;
  }
  if (res.epochs_run == 0 && data.val.n > 0)
    res.val = evaluate(model, data.val, data.norm, 256, device);
  res.test = evaluate(model, data.test, data.norm, 256, device);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.images_per_second = train_seconds > 0 ? double(images_total) / train_seconds : 0;
  run.log(json{{"final", true},
               {"val_accuracy", res.val.accuracy},
               {"test_accuracy", res.test.accuracy},
               {"test_loss", res.test.loss},
               {"seconds", res.seconds},
               {"images_per_second", res.images_per_second}});
  return res;
}

}  // namespace senet
