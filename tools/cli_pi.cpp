// tools/cli_pi.cpp — `senet pi-measure [options]`: the measured private-inference cost of a
// checkpoint under SecretFlow SPU (2PC). The measuring tool is Python (tools/pi/, SPU's front end
// is JAX) in its own virtual environment made by tools/pi/setup_pi.sh; the engine stays free of
// Python: this command only execs that interpreter with the tool, SENET_BIN set to this binary (for
// the tool's plaintext check against `senet eval` and its `senet cost` estimate).
// The environment: $SENET_PI_VENV, else <source dir>/.venv-pi.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"
#include "tools/cli.h"

#ifndef SENET_SOURCE_DIR
#error "SENET_SOURCE_DIR must be defined (tools/CMakeLists.txt)"
#endif

namespace senet::cli {

int cmd_pi_measure(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  const std::string root = SENET_SOURCE_DIR;
  const char* env = std::getenv("SENET_PI_VENV");
  const std::string venv = env && *env ? env : root + "/.venv-pi";
  const std::string python = venv + "/bin/python";
  const std::string tool = root + "/tools/pi/pi_measure.py";
  SENET_CHECK(fs::exists(python), "pi-measure needs its Python environment (SecretFlow SPU), and '",
              python, "' does not exist; install it with:  ", root, "/tools/pi/setup_pi.sh",
              env && *env ? " " + venv : std::string());
  SENET_CHECK(fs::exists(tool), "pi-measure: the tool '", tool,
              "' is missing from the source tree");
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) setenv("SENET_BIN", self.c_str(), 1);
  std::vector<std::string> all = {python, tool};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(python.c_str(), argv.data());
  fail("pi-measure: cannot run '", python, "': ", std::strerror(errno));
}

}  // namespace senet::cli
