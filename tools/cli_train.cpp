// tools/cli_train.cpp — `senet train` and `senet eval`.
#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
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

static const char* kEvalUsage =
    "usage: senet eval --checkpoint FILE [--split test|val] [--set key=value]...\n"
    "Evaluates a checkpoint with the config stored in it (data keys may be overridden).\n";

int cmd_eval(const std::vector<std::string>& args) {
  std::string config_path, ckpt, split = "test";
  std::vector<std::string> overrides;
  if (!parse_run_flags(args, kEvalUsage, config_path, overrides,
                       {{"--checkpoint", &ckpt}, {"--split", &split}}, {}))
    return 0;
  SENET_CHECK(!ckpt.empty(), "senet eval needs --checkpoint FILE");
  SENET_CHECK(split == "test" || split == "val", "--split must be test or val, got '", split, "'");
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
  EvalResult r = evaluate(*model, split == "test" ? data.test : data.val, data.norm, 256, dev);
  std::printf("%s: %lld images, loss %.4f, accuracy %.2f%%, ReLUs %lld\n", split.c_str(),
              (long long)r.images, r.loss, 100 * r.accuracy, (long long)model->relu_count());
  return 0;
}

}  // namespace senet::cli
