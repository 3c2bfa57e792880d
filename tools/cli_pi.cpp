// tools/cli_pi.cpp — `senet pi-measure [options]`: the measured private-inference cost of a
// checkpoint under SecretFlow SPU (2PC). The measuring tool is Python (tools/pi/, package senet_pi;
// SPU's front end is JAX) in its own virtual environment made by tools/pi/setup_pi.sh; the engine
// stays free of Python: this command only execs `<venv>/bin/python -P -m senet_pi ARGS` with
// PYTHONPATH=<source dir>/tools/pi in front of any given (the package is not installed in the venv,
// so any venv setup_pi.sh made works) and SENET_BIN set to this binary (for the tool's plaintext
// check against `senet eval` and its `senet cost` estimate). -P (Python ≥ 3.11, which SPU needs):
// the working directory does not go on sys.path, so no file there can stand in for a module.
// The environment: $SENET_PI_VENV, else <source dir>/.venv-pi. `senet pi-measure --help` prints
// this subcommand's help, then the tool's own (its options) when the environment is installed.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"
#include "tools/cli.h"

#ifndef SENET_SOURCE_DIR
#error "SENET_SOURCE_DIR must be defined (tools/CMakeLists.txt)"
#endif

namespace senet::cli {

namespace {

// The tool's Python interpreter: $SENET_PI_VENV/bin/python, else <source dir>/.venv-pi/bin/python.
std::string pi_venv() {
  const char* env = std::getenv("SENET_PI_VENV");
  return env && *env ? env : std::string(SENET_SOURCE_DIR) + "/.venv-pi";
}

}  // namespace

bool pi_measure_available() { return std::filesystem::exists(pi_venv() + "/bin/python"); }

void exec_pi_measure(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  const std::string root = SENET_SOURCE_DIR;
  const char* env = std::getenv("SENET_PI_VENV");
  const std::string venv = pi_venv();
  const std::string python = venv + "/bin/python";
  const std::string package = root + "/tools/pi";
  SENET_CHECK(fs::exists(python), "pi-measure needs its Python environment (SecretFlow SPU), and '",
              python, "' does not exist; install it with:  ", root, "/tools/pi/setup_pi.sh",
              env && *env ? " " + venv : std::string());
  SENET_CHECK(fs::exists(package + "/senet_pi/__main__.py"), "pi-measure: the tool '", package,
              "/senet_pi' is missing from the source tree");
  const char* path = std::getenv("PYTHONPATH");
  const std::string pythonpath = path && *path ? package + ":" + path : package;
  setenv("PYTHONPATH", pythonpath.c_str(), 1);
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) setenv("SENET_BIN", self.c_str(), 1);
  std::vector<std::string> all = {python, "-P", "-m", "senet_pi"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);  // what senet printed (e.g. its --help) comes before the tool's output
  execv(python.c_str(), argv.data());
  fail("pi-measure: cannot run '", python, "': ", std::strerror(errno));
}

Command add_pi_measure(CLI::App& senet) {
  CLI::App* sub = senet.add_subcommand(
      "pi-measure", "measured 2PC cost under SecretFlow SPU (needs tools/pi/setup_pi.sh)");
  // Everything after `pi-measure` is the tool's (it parses and checks its own options): CLI11
  // stops at the first argument and keeps the rest for the tool; only a leading --help is ours.
  sub->prefix_command();
  sub->footer(
      "Runs the tool tools/pi/ (python -m senet_pi, as tools/pi/pi_measure.py does) with the "
      "arguments\n"
      "as given, in the Python environment of tools/pi/setup_pi.sh ($SENET_PI_VENV, else\n"
      "<source dir>/.venv-pi), with $SENET_BIN set to this binary (the tool's plaintext check "
      "runs\n"
      "`senet eval`, its estimate `senet cost`).\n"
      "The tool's options (--run DIR or --checkpoint FILE, --images N, --protocols, --json FILE, "
      "...)\n"
      "follow when its environment is installed.\n"
      "Example: senet pi-measure --run runs/fmnist_senet --images 3");
  return {sub, [sub]() -> int { exec_pi_measure(sub->remaining()); }};
}

}  // namespace senet::cli
