// tools/cli_config.cpp — `senet config`: the config schema for people.
//   senet config --list [--markdown]     every key: type, default, one-line doc (senet/config.cpp's
//                                         schema; --markdown is docs/config.md, kept equal by a test)
//   senet config [--config F] [--set K=V] the merged config a run would use, as JSON (defaults ←
//                                         file ← overrides, checked: errors name the key)
#include <cstdio>
#include <memory>

#include "senet/config.h"
#include "tools/cli.h"

namespace senet::cli {

namespace {

struct ConfigOptions {
  bool list = false;
  bool markdown = false;
  RunOptions run;
};

int run_config(const ConfigOptions& o) {
  if (o.list) {
    std::fputs(
        config_reference(o.markdown ? ReferenceFormat::Markdown : ReferenceFormat::Text).c_str(),
        stdout);
    return 0;
  }
  std::printf("%s\n", load_config_json(o.run.config_path, o.run.overrides).dump(2).c_str());
  return 0;
}

}  // namespace

Command add_config(CLI::App& senet) {
  auto o = std::make_shared<ConfigOptions>();
  CLI::App* sub =
      senet.add_subcommand("config", "list the config keys, or print the config a run would use");
  sub->footer(
      "With --list: every config key, its type, default and meaning (docs/config.md is the same\n"
      "table, --markdown). Without: the merged config (defaults <- --config FILE <- --set) as "
      "JSON,\n"
      "checked as a run would check it.\n"
      "Examples: senet config --list;  senet config --config configs/fmnist_senet.json --set "
      "train.epochs=2");
  auto* list =
      sub->add_flag("--list", o->list, "list every key with its type, default and meaning");
  sub->add_flag("--markdown", o->markdown, "with --list: as a markdown table (docs/config.md)")
      ->needs(list);
  add_config_options(*sub, o->run, "JSON config merged over the defaults");
  return {sub, [o] { return run_config(*o); }};
}

}  // namespace senet::cli
