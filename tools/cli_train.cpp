// tools/cli_train.cpp — `senet train` and `senet eval` (optionally dumping per-image logits).
#include <cstdio>
#include <filesystem>

#include "engine/core/autograd.h"
#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "senet/checkpoint.h"
#include "senet/trainer.h"
#include "tools/cli.h"

namespace senet::cli {

bool parse_run_flags(const std::vector<std::string>& args, const char* usage, std::string& config_path,
                     std::vector<std::string>& overrides,
                     std::vector<std::pair<std::string, std::string*>> extra,
                     std::vector<std::pair<std::string, bool*>> switches) {
  // Shortcuts for common keys: --epochs 3 is --set train.epochs=3.
  const std::vector<std::pair<std::string, std::string>> shortcuts = {
      {"--epochs", "train.epochs"}, {"--out", "out_dir"},       {"--threads", "threads"},
      {"--device", "device"},       {"--seed", "seed"},         {"--batch-size", "train.batch_size"},
      {"--lr", "train.optim.lr"},   {"--arch", "model.arch"},   {"--width", "model.width"},
      {"--dataset", "data.dataset"}, {"--data-root", "data.root"}};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return false;
    }
    bool matched = false;
    for (auto& [flag, b] : switches)
      if (a == flag) {
        *b = true;
        matched = true;
      }
    if (matched) continue;
    SENET_CHECK(i + 1 < args.size(), "option ", a, " needs a value (see --help)");
    const std::string& v = args[++i];
    if (a == "--config") {
      config_path = v;
      continue;
    }
    if (a == "--set") {
      overrides.push_back(v);
      continue;
    }
    for (auto& [flag, key] : shortcuts)
      if (a == flag) {
        overrides.push_back(key + "=" + v);
        matched = true;
      }
    for (auto& [flag, dst] : extra)
      if (a == flag) {
        *dst = v;
        matched = true;
      }
    SENET_CHECK(matched, "unknown option '", a, "' (see --help)");
  }
  return true;
}

static const char* kTrainUsage =
    "usage: senet train [--config FILE] [--set key=value]... [--resume] [options]\n"
    "Trains a model with cross-entropy; checkpoints <out>/last.safetensors every epoch and\n"
    "<out>/best.safetensors at the best validation accuracy; metrics in <out>/metrics.jsonl.\n"
    "  --config FILE     JSON config (keys as in configs/*.json; defaults fill the rest)\n"
    "  --set KEY=VALUE   override one key, e.g. --set train.optim.lr=0.1 (repeatable)\n"
    "  --resume          continue from <out>/last.safetensors if it exists\n"
    "  --print-config    print the full config and exit\n"
    "  shortcuts: --epochs N --out DIR --threads N --device cpu|cuda --seed N --batch-size N\n"
    "             --lr X --arch NAME --width X --dataset NAME --data-root DIR\n";

int cmd_train(const std::vector<std::string>& args) {
  std::string config_path;
  std::vector<std::string> overrides;
  bool resume = false, print = false;
  if (!parse_run_flags(args, kTrainUsage, config_path, overrides, {},
                       {{"--resume", &resume}, {"--print-config", &print}}))
    return 0;
  auto j = load_config_json(config_path, overrides);
  if (print) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  RunConfig cfg = from_json(j);
  apply_threads(cfg.threads);
  auto model = models::make_model(cfg.model);
  std::fprintf(stderr, "model %s: %lld parameters, %lld ReLUs, %.3f GMACs/image\n",
               cfg.model.arch.c_str(), (long long)model->num_parameters(),
               (long long)model->relu_count(), double(model->macs()) * 1e-9);
  TrainResult r = train_supervised(cfg, *model, resume);
  std::printf("validation accuracy %.2f%%  test accuracy %.2f%%  (%d epochs, %.1f s, %.0f img/s)\n",
              100 * r.val.accuracy, 100 * r.test.accuracy, r.epochs_run, r.seconds,
              r.images_per_second);
  return 0;
}

// One JSON line per image of `d` (in order): its row, label and logits (%.9g: float32 round-trips).
static void write_logits(models::Model& model, const data::Dataset& d, const data::Normalize& norm,
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
      out += "{\"index\":" + std::to_string(b.index[size_t(i)]) +
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

static const char* kEvalUsage =
    "usage: senet eval --checkpoint FILE [--split test|val] [--limit N] [--dump-logits FILE]\n"
    "                  [--set key=value]...\n"
    "Evaluates a checkpoint with the config stored in it (data keys may be overridden).\n"
    "  --limit N           only the split's first N images\n"
    "  --dump-logits FILE  also write one JSON line per image: {\"index\", \"label\", \"logits\"}\n";

int cmd_eval(const std::vector<std::string>& args) {
  std::string config_path, ckpt, split = "test", limit_arg, dump;
  std::vector<std::string> overrides;
  if (!parse_run_flags(args, kEvalUsage, config_path, overrides,
                       {{"--checkpoint", &ckpt}, {"--split", &split}, {"--limit", &limit_arg},
                        {"--dump-logits", &dump}},
                       {}))
    return 0;
  SENET_CHECK(!ckpt.empty(), "senet eval needs --checkpoint FILE");
  SENET_CHECK(split == "test" || split == "val", "--split must be test or val, got '", split, "'");
  int64_t limit = 0;
  if (!limit_arg.empty()) {
    size_t used = 0;
    try {
      limit = std::stoll(limit_arg, &used);
    } catch (...) {
      used = 0;
    }
    SENET_CHECK(used == limit_arg.size() && limit > 0, "--limit: expected a positive integer, got '",
                limit_arg, "'");
  }
  io::StFile f = read_checkpoint(ckpt);
  auto j = nlohmann::json::parse(metadata_at(f, "config"), nullptr, false);
  SENET_CHECK(!j.is_discarded(), "checkpoint '", ckpt, "': metadata 'config' is not valid JSON");
  for (const auto& o : overrides) set_dotted(j, o);
  RunConfig cfg = from_json(j);
  apply_threads(cfg.threads);
  auto model = models::make_model(cfg.model);
  load_model_state(f, *model);
  Device dev = parse_device(cfg.device);
  model->to(dev);
  DataBundle data = load_data(cfg);
  data::Dataset d = split == "test" ? data.test : data.val;
  if (limit > 0 && limit < d.n) {
    std::vector<int64_t> rows(size_t(limit), 0);
    for (int64_t i = 0; i < limit; ++i) rows[size_t(i)] = i;
    d = data::select_rows(d, rows.data(), limit, d.name);
  }
  if (!dump.empty()) write_logits(*model, d, data.norm, dev, dump);
  EvalResult r = evaluate(*model, d, data.norm, 256, dev);
  std::printf("%s: %lld images, loss %.4f, accuracy %.2f%%, ReLUs %lld\n", split.c_str(),
              (long long)r.images, r.loss, 100 * r.accuracy, (long long)model->relu_count());
  for (float w : model->width_factors()) {  // a width-switchable model (model.width_factors)
    if (w == 1.f) continue;
    model->set_width(w);
    EvalResult rw = evaluate(*model, d, data.norm, 256, dev);
    std::printf("%s at width %.2f: %lld images, loss %.4f, accuracy %.2f%%, ReLUs %lld\n",
                split.c_str(), double(w), (long long)rw.images, rw.loss, 100 * rw.accuracy,
                (long long)model->relu_count());
  }
  return 0;
}

}  // namespace senet::cli
