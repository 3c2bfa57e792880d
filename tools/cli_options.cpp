// tools/cli_options.cpp — the options that build a run's config, shared by the subcommands of
// `senet` (tools/cli.h): --config FILE, --set KEY=VALUE and the shortcuts (--epochs N is
// --set train.epochs=N). --set and the shortcuts are applied in command-line order (a later one
// wins), after the config file; each shortcut's value is checked while parsing, so a wrong type is
// a usage error naming the option ("--threads: expected an integer ≥ 0, got 'x'").
#include <cstdlib>
#include <stdexcept>

#include "engine/core/error.h"
#include "senet/checkpoint.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

namespace senet::cli {

namespace {

// One shortcut: its option, the config key it sets, how the value is typed, and its help.
struct Shortcut {
  const char* name;
  const char* key;
  KeyValue kind;
  const char* type_name;
  const char* help;
  CLI::Validator check;
};

const std::vector<Shortcut>& shortcuts() {
  static const std::vector<Shortcut> all = {
      {"--epochs", "train.epochs", KeyValue::integer, "N",
       "epochs of training (pipeline: the teacher's)", integer_at_least(0)},
      {"--out", "out_dir", KeyValue::text, "DIR",
       "the run directory (checkpoints, metrics, reports)", CLI::Validator()},
      {"--threads", "threads", KeyValue::integer, "N", "CPU threads (0: all cores)",
       integer_at_least(0)},
      {"--device", "device", KeyValue::text, "DEVICE", "where tensors live and kernels run",
       choice_of<Device>()},
      {"--seed", "seed", KeyValue::integer, "N", "seed of the data split, order and augmentation",
       integer_at_least(0)},
      {"--batch-size", "train.batch_size", KeyValue::integer, "N", "images per training step",
       integer_at_least(1)},
      {"--lr", "train.optim.lr", KeyValue::number, "X", "the optimizer's learning rate",
       number_at_least(0, /*strict=*/true)},
      {"--arch", "model.arch", KeyValue::text, "ARCH", "the model", choice_of<models::Arch>()},
      {"--width", "model.width", KeyValue::number, "X", "channel width multiplier, in (0, 16]",
       number_at_least(0, /*strict=*/true)},
      {"--dataset", "data.dataset", KeyValue::text, "NAME", "the data set",
       choice_of<DatasetKind>()},
      {"--data-root", "data.root", KeyValue::text, "DIR", "directory of the data set's files",
       CLI::Validator()},
  };
  return all;
}

// The value as the config's JSON: integers are canonical decimal after integer_at_least; a number
// such as ".5" is not JSON, so it is written as the double it is; text is quoted.
std::string json_value(KeyValue kind, const std::string& text) {
  switch (kind) {
    case KeyValue::integer: return text;
    case KeyValue::number: return nlohmann::json(std::strtod(text.c_str(), nullptr)).dump();
    case KeyValue::text: break;
  }
  return nlohmann::json(text).dump();
}

}  // namespace

CLI::Option* add_key_option(CLI::App& sub, RunOptions& o, const std::string& name,
                            const std::string& key, KeyValue kind, const std::string& type_name,
                            const std::string& help, const CLI::Validator& check) {
  // trigger_on_parse: the callback runs at each occurrence, so the overrides keep command-line
  // order with --set (a later one wins) and a repeated option is simply applied again.
  return sub
      .add_option_function<std::string>(
          name,
          [&o, key, kind](const std::string& v) {
            o.overrides.push_back(key + "=" + json_value(kind, v));
          },
          help + " (= --set " + key + "=" + type_name + ")")
      ->trigger_on_parse()
      ->type_name(type_name)
      ->transform(
          check);  // a transform may rewrite the value (integer_at_least: canonical decimal)
}

void add_config_options(CLI::App& sub, RunOptions& o, const std::string& config_help) {
  sub.add_option("--config", o.config_path, config_help)
      ->type_name("FILE")
      ->check(existing_file())
      ->group("Config");
  sub.add_option_function<std::string>(
         "--set", [&o](const std::string& v) { o.overrides.push_back(v); },
         "set one config key, e.g. train.optim.lr=0.1 (repeatable; VALUE is JSON or a bare string)")
      ->trigger_on_parse()
      ->type_name("KEY=VALUE")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0)
              return "expected KEY=VALUE, e.g. train.optim.lr=0.1, got '" + v + "'";
            return std::string();
          },
          "", "KEY=VALUE"))
      ->group("Config");
}

static void add_shortcut(CLI::App& sub, RunOptions& o, const Shortcut& s) {
  add_key_option(sub, o, s.name, s.key, s.kind, s.type_name, s.help, s.check)
      ->group("Config shortcuts");
}

void add_shortcuts(CLI::App& sub, RunOptions& o, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const Shortcut* s = nullptr;
    for (const Shortcut& c : shortcuts())
      if (std::string(c.name) == name) s = &c;
    if (!s)
      throw std::logic_error(std::string("add_shortcuts: no shortcut ") + name);  // a typo here
    add_shortcut(sub, o, *s);
  }
}

void add_all_shortcuts(CLI::App& sub, RunOptions& o) {
  for (const Shortcut& s : shortcuts()) add_shortcut(sub, o, s);
}

nlohmann::json checkpoint_config(const io::StFile& f, const std::string& ckpt,
                                 const RunOptions& o) {
  std::vector<ConfigLayer> layers;
  if (auto it = f.metadata.find("config"); it != f.metadata.end()) {
    auto stored = nlohmann::json::parse(it->second, nullptr, false);
    SENET_CHECK(!stored.is_discarded(), "checkpoint '", ckpt,
                "': metadata 'config' is not valid JSON");
    layers.push_back({std::move(stored), "checkpoint '" + ckpt + "' (its stored config)"});
  } else {
    // A file from another tool (a PyTorch state_dict): the model must come from the command line,
    // else the defaults would silently describe some other model.
    bool model_given = !o.config_path.empty();
    for (const std::string& kv : o.overrides)
      model_given = model_given || kv.rfind("model.", 0) == 0;
    SENET_CHECK(model_given, "checkpoint '", ckpt,
                "' has no stored config (no metadata 'config': saved by another tool, e.g. a "
                "PyTorch state_dict): pass --config FILE (or --set model.KEY=VALUE) to say which "
                "model it holds (docs/interop.md)");
  }
  if (!o.config_path.empty()) layers.push_back(read_config_layer(o.config_path));
  return merge_config_layers(layers, o.overrides);
}

}  // namespace senet::cli
