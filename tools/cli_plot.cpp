// tools/cli_plot.cpp — pictures of a run: `senet plot RUN_DIR`, also the last step of
// `senet pipeline`. The figures (allocation.png: per-site size, η and ReLUs kept; training.png:
// each stage's losses, validation accuracy and, for SNL, the ReLU count) are drawn by tools/plots
// (Python + matplotlib, Debian's python3-matplotlib) from the run's own JSON files. The engine
// stays free of Python: this file only runs `/usr/bin/python3 -m senet_plots RUN_DIR` with
// tools/plots on PYTHONPATH, without a shell, and reads its exit code (3: matplotlib missing).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "engine/core/error.h"
#include "tools/cli.h"
#include "tools/cli11_helpers.h"

#ifndef SENET_SOURCE_DIR
#error "SENET_SOURCE_DIR must be defined (tools/CMakeLists.txt)"
#endif

namespace senet::cli {

namespace {
constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-matplotlib installs
constexpr int kNotInstalled = 3;                     // senet_plots' exit code without matplotlib
}  // namespace

PlotOutcome draw_run_pictures(const std::string& run_dir) {
  if (!std::filesystem::exists(kPython)) return PlotOutcome::NotInstalled;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  SENET_CHECK(pid >= 0, "senet plot: cannot start ", kPython);
  if (pid == 0) {  // the child: the plotting tool, its package found through PYTHONPATH
    std::string path = std::string(SENET_SOURCE_DIR) + "/tools/plots";
    if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += std::string(":") + old;
    setenv("PYTHONPATH", path.c_str(), 1);
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    execl(kPython, "python3", "-m", "senet_plots", run_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return PlotOutcome::Drawn;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kNotInstalled) return PlotOutcome::NotInstalled;
  return PlotOutcome::Failed;
}

namespace {

struct PlotOptions {
  std::string run_dir;
};

int run_plot(const PlotOptions& o) {
  switch (draw_run_pictures(o.run_dir)) {
    case PlotOutcome::Drawn: return 0;
    case PlotOutcome::NotInstalled:
      fail("senet plot needs /usr/bin/python3 with matplotlib: apt-get install python3-matplotlib");
    case PlotOutcome::Failed: break;
  }
  fail("senet plot: the pictures of '", o.run_dir, "' could not be drawn (the reason is above)");
}

}  // namespace

Command add_plot(CLI::App& senet) {
  auto o = std::make_shared<PlotOptions>();
  CLI::App* sub =
      senet.add_subcommand("plot", "draw a run's pictures (allocation.png, training.png)");
  sub->footer(
      "Draws RUN_DIR/allocation.png (per site: size, ReLUs kept, eta) and RUN_DIR/training.png\n"
      "(per stage: losses, validation accuracy, SNL's ReLU count) from the run's JSON files, with\n"
      "matplotlib (apt-get install python3-matplotlib). `senet pipeline` draws them at its end.");
  sub->add_option("RUN_DIR", o->run_dir, "a `senet pipeline` run directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  return {sub, [o] { return run_plot(*o); }};
}

}  // namespace senet::cli
