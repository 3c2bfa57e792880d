// tools/cli_train.cpp — `senet train` and `senet eval` (optionally dumping per-image logits):
// their options (CLI11 subcommands, tools/cli.h) and what they run. eval loads a senet checkpoint
// or a state_dict from another tool with the model from --config (docs/interop.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "senet/checkpoint.h"
#include "senet/trainer.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

namespace senet::cli {

namespace {

struct TrainOptions {
  RunOptions run;
  bool resume = false, print = false;
  int stop_after_epochs = -1;  // -1: run to the end
};

int run_train(const TrainOptions& o) {
  auto j = load_config_json(o.run.config_path, o.run.overrides);
  if (o.print) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  RunConfig cfg = from_json(j);
  apply_threads(cfg.threads);
  auto model = models::make_model(cfg.model);
  std::fprintf(stderr, "model %s: %lld parameters, %lld ReLUs, %.3f GMACs/image\n",
               std::string(enum_name(cfg.model.arch)).c_str(), (long long)model->num_parameters(),
               (long long)model->relu_count(), double(model->macs()) * 1e-9);
  TrainResult r = train_supervised(cfg, *model, o.resume, o.stop_after_epochs);
  if (r.stopped) {
    std::printf("stopped after %d epoch%s of this run as asked; continue with --resume\n",
                r.epochs_run, r.epochs_run == 1 ? "" : "s");
    return 0;
  }
  std::printf("validation accuracy %.2f%%  test accuracy %.2f%%  (%d epochs, %.1f s, %.0f img/s)\n",
              100 * r.val.accuracy, 100 * r.test.accuracy, r.epochs_run, r.seconds,
              r.images_per_second);
  return 0;
}

// One JSON line per image of `d` (in order): its position in the file it came from (the test file
// for the test split; the training file for the validation split, a seeded subset of it), its
// label and logits (%.9g: float32 round-trips).
void write_logits(models::Model& model, const data::Dataset& d, const data::Normalize& norm,
                  Device dev, const std::string& path) {
  NoGradGuard no_grad;
  model.eval();
  data::Loader loader(d, 256, false, false, data::Augment{}, norm, 0);
  loader.start_epoch(0);
  data::Batch b;
  std::string out;
  char buf[32];
  while (loader.next(b)) {
    Tensor logits = model.forward(batch_images(b, dev));
    int64_t k = logits.size(1);
    auto v = logits.to_vector();
    for (int64_t i = 0; i < b.n; ++i) {
      out += "{\"index\":" + std::to_string(data::source_index(d, b.index[size_t(i)])) +
             ",\"label\":" + std::to_string(b.y[size_t(i)]) + ",\"logits\":[";
      for (int64_t c = 0; c < k; ++c) {
        std::snprintf(buf, sizeof buf, "%s%.9g", c ? "," : "", double(v[size_t(i * k + c)]));
        out += buf;
      }
      out += "]}\n";
    }
  }
  io::write_file_atomic(path, out);
}

struct EvalOptions {
  RunOptions run;
  std::string checkpoint, split = "test", dump_logits;
  int64_t limit = 0;         // 0: the whole split
  float width_factor = 0.f;  // 0: every factor of a width-switchable model (full width first)
};

int run_eval(const EvalOptions& o) {
  io::StFile f = read_model_file(o.checkpoint);
  RunConfig cfg = from_json(checkpoint_config(f, o.checkpoint, o.run));
  apply_threads(cfg.threads);
  auto model = models::make_model(cfg.model);
  load_model_state(f, *model);
  Device dev = activate_device(cfg);
  model->to(dev);
  DataBundle data = load_data(cfg);
  data::Dataset d = o.split == "test" ? data.test : data.val;
  if (o.limit > 0 && o.limit < d.n) {
    std::vector<int64_t> rows(size_t(o.limit), 0);
    for (int64_t i = 0; i < o.limit; ++i) rows[size_t(i)] = i;
    d = data::select_rows(d, rows.data(), o.limit, d.name);
  }
  // --width-factor: one factor of a width-switchable model (model.width_factors) — the network a
  // PI runtime would deploy — for the numbers and the dumped logits alike.
  std::string at_width;
  if (o.width_factor > 0) {
    const std::vector<float> factors = model->width_factors();
    auto it = std::find_if(factors.begin(), factors.end(),
                           [&](float w) { return std::fabs(w - o.width_factor) < 1e-6f; });
    if (it == factors.end()) {
      std::string list;
      char num[32];
      for (float w : factors) {
        std::snprintf(num, sizeof num, "%s%g", list.empty() ? "" : ", ", double(w));
        list += num;
      }
      fail("--width-factor ", o.width_factor, ": the model's width factors are [", list,
           "] (model.width_factors; a plain model has only 1)");
    }
    model->set_width(*it);
    char buf[32];
    std::snprintf(buf, sizeof buf, " at width %.2f", double(*it));
    at_width = buf;
  }
  if (!o.dump_logits.empty()) write_logits(*model, d, data.norm, dev, o.dump_logits);
  EvalResult r = evaluate(*model, d, data.norm, 256, dev);
  std::printf("%s%s: %lld images, loss %.4f, accuracy %.2f%%, ReLUs %lld\n", o.split.c_str(),
              at_width.c_str(), (long long)r.images, r.loss, 100 * r.accuracy,
              (long long)model->relu_count());
  if (o.width_factor > 0) return 0;
  for (float w : model->width_factors()) {  // a width-switchable model (model.width_factors)
    if (w == 1.f) continue;
    model->set_width(w);
    EvalResult rw = evaluate(*model, d, data.norm, 256, dev);
    std::printf("%s at width %.2f: %lld images, loss %.4f, accuracy %.2f%%, ReLUs %lld\n",
                o.split.c_str(), double(w), (long long)rw.images, rw.loss, 100 * rw.accuracy,
                (long long)model->relu_count());
  }
  return 0;
}

}  // namespace

Command add_train(CLI::App& senet) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* sub =
      senet.add_subcommand("train", "train a model (the all-ReLU teacher) from a JSON config");
  sub->footer(
      "Trains with cross-entropy; checkpoints <out>/last.safetensors every epoch and\n"
      "<out>/best.safetensors at the best validation accuracy; metrics in <out>/metrics.jsonl.\n"
      "Config: defaults <- --config FILE <- --set and the shortcuts, in command-line order.\n"
      "Example: senet train --config configs/fmnist_resnet18_w025.json --epochs 5");
  sub->add_flag("--resume", o->resume, "continue from <out>/last.safetensors if it exists");
  sub->add_flag("--print-config", o->print, "print the full config and exit");
  sub->add_option("--stop-after-epochs", o->stop_after_epochs,
                  "end after this many epochs of this call, as an interrupted run would (a job "
                  "slot shorter than the run: continue with --resume)")
      ->check(CLI::NonNegativeNumber);
  add_config_options(*sub, o->run,
                     "JSON config (keys as in configs/*.json; defaults fill the rest)");
  add_all_shortcuts(*sub, o->run);
  return {sub, [o] { return run_train(*o); }};
}

Command add_eval(CLI::App& senet) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* sub =
      senet.add_subcommand("eval", "evaluate a checkpoint on the validation or test split");
  sub->footer(
      "Config: defaults <- the checkpoint's stored config <- --config FILE <- --set and the\n"
      "shortcuts, in command-line order. The model keys must still match the checkpoint's "
      "weights.\n"
      "A file from another tool (a PyTorch state_dict, no stored config) needs --config or\n"
      "--set model.*: docs/interop.md. --dump-logits: one line per image of the split, in order;\n"
      "\"index\" is its position in the data set's file (the training file for --split val).\n"
      "Example: senet eval --checkpoint runs/x/best.safetensors --set data.test_limit=1000");
  sub->add_option("--checkpoint", o->checkpoint, "the checkpoint to evaluate (.safetensors)")
      ->type_name("FILE")
      ->required()
      ->check(existing_file());
  sub->add_option("--split", o->split, "which split")
      ->type_name("SPLIT")
      ->check(CLI::IsMember(std::vector<std::string>{"test", "val"}))
      ->capture_default_str();
  sub->add_option("--limit", o->limit, "only the split's first N images")
      ->type_name("N")
      ->transform(integer_at_least(1));
  sub->add_option("--width-factor", o->width_factor,
                  "a width-switchable model (model.width_factors): evaluate, and dump the logits "
                  "of, this factor only (default: every factor, the dump at full width)")
      ->type_name("F")
      ->check(number_at_least(0, /*strict=*/true));
  sub->add_option(
         "--dump-logits", o->dump_logits,
         "also write one JSON line per image: {\"index\" (in the data set's file), \"label\", "
         "\"logits\"}")
      ->type_name("FILE");
  add_config_options(*sub, o->run,
                     "JSON config merged over the checkpoint's stored config (e.g. data keys)");
  add_shortcuts(*sub, o->run, {"--threads", "--device", "--data-root"});
  return {sub, [o] { return run_eval(*o); }};
}

}  // namespace senet::cli
