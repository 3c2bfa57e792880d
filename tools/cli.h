// tools/cli.h — the subcommands of the `senet` binary on CLI11 (libcli11-dev), and the options
// they share. senet_main.cpp makes one CLI::App; each add_<command> adds its subcommand with only
// the options it accepts (typed and checked while parsing, each with a description, so
// `senet <command> --help` lists them all) and returns what runs it once the command line parsed.
// The options that build a run's config (--config FILE, --set KEY=VALUE and the shortcuts such as
// --epochs N for --set train.epochs=N) are added by add_config_options / add_shortcuts to the
// subcommands where they mean something.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "senet/config.h"

namespace senet::cli {

// A subcommand and its action, run after a successful parse; returns the exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train(CLI::App& senet);
Command add_pipeline(CLI::App& senet);
Command add_cost(CLI::App& senet);
Command add_eval(CLI::App& senet);
Command add_pi_measure(CLI::App& senet);  // runs tools/pi (python -m senet_pi) with the arguments
Command add_summary(CLI::App& senet);
Command add_info(CLI::App& senet);
Command add_config(CLI::App& senet);  // the config schema (--list) or a merged config
Command add_plot(CLI::App& senet);    // a run's pictures (tools/plots, matplotlib)

// Draws a run's pictures with tools/plots; never throws for a failed drawing (it says why on
// stderr): `senet pipeline` reports the outcome and still succeeds.
enum class PlotOutcome { Drawn, NotInstalled, Failed };
PlotOutcome draw_run_pictures(const std::string& run_dir);

// `senet pi-measure`'s Python tool, with these arguments (does not return on success).
[[noreturn]] void exec_pi_measure(const std::vector<std::string>& args);
// Whether that tool's Python environment exists (its --help can be shown after ours).
bool pi_measure_available();

// What the config options of a subcommand collected.
struct RunOptions {
  std::string config_path;             // --config FILE; empty: none
  std::vector<std::string> overrides;  // "key=value", in command-line order (--set and shortcuts)
};

// --config FILE (its help says what the file is merged over) and --set KEY=VALUE (repeatable).
void add_config_options(CLI::App& sub, RunOptions& o, const std::string& config_help);
// Shortcuts, each one a --set of its key in command-line order, typed and checked: --epochs,
// --out, --threads, --device, --seed, --batch-size, --lr, --arch, --width, --dataset, --data-root
// (see cli_options.cpp). `names` picks those `sub` accepts.
void add_shortcuts(CLI::App& sub, RunOptions& o, std::initializer_list<const char*> names);
// Every shortcut (train, pipeline).
void add_all_shortcuts(CLI::App& sub, RunOptions& o);
// How a key option's value goes into the config: an integer, a number, or a string (quoted as
// JSON, so a path such as "1" or "true" stays a string).
enum class KeyValue { integer, number, text };
// An option that is a --set of `key` in command-line order (as the shortcuts), its value checked
// by `check` while parsing (a transform: it may rewrite the value, as integer_at_least does).
CLI::Option* add_key_option(CLI::App& sub, RunOptions& o, const std::string& name,
                            const std::string& key, KeyValue kind, const std::string& type_name,
                            const std::string& help, const CLI::Validator& check);

// The config of a run on a checkpoint (eval, cost, summary --checkpoint): defaults ← the
// checkpoint's stored config ← --config FILE (if given) ← --set and the shortcuts, in that order.
// A file without a stored config (from another tool, docs/interop.md) needs --config or a
// --set model.* to describe its model; the error says so, naming the file.
nlohmann::json checkpoint_config(const io::StFile& f, const std::string& ckpt, const RunOptions& o);

}  // namespace senet::cli
