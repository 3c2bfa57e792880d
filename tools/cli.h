// tools/cli.h — the subcommands of the `senet` binary and their shared argument parsing.
// Every subcommand takes --config FILE, --set key=value (repeatable) and a few shortcuts for common
// keys (--epochs, --out, --threads, --device, --seed); unknown flags are errors; --help prints usage.
#pragma once
#include <string>
#include <vector>

#include "senet/config.h"

namespace senet::cli {

struct Args {
  std::string command;
  std::vector<std::string> rest;  // arguments after the subcommand
};

// Parses the shared flags; returns false when --help was given (usage already printed).
// `extra` names further flags (with values) the subcommand accepts; their values land in `out`.
bool parse_run_flags(const std::vector<std::string>& args, const char* usage, std::string& config_path,
                     std::vector<std::string>& overrides, std::vector<std::pair<std::string, std::string*>> extra,
                     std::vector<std::pair<std::string, bool*>> switches);

int cmd_train(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_summary(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_pipeline(const std::vector<std::string>& args);
int cmd_cost(const std::vector<std::string>& args);
int cmd_pi_measure(const std::vector<std::string>& args);  // execs tools/pi/pi_measure.py

}  // namespace senet::cli
