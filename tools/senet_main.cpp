// tools/senet_main.cpp — `senet <command> [options]`: the project's one binary. Its command line is
// CLI11's (tools/cli.h: one subcommand per command, each with only its own options).
//   senet --help, senet <command> --help   the generated help; exit 0
//   usage errors (unknown command or option, a value of the wrong type or range, a missing
//   required option)                      "senet: error: <what>" and the help to read; exit 2
//   run errors (bad files, configs, budgets, shapes, out of memory)
//                                          "senet: error: <message>"; exit 1
#include <cstdio>
#include <exception>
#include <iostream>

#include "engine/core/error.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_ops.h"
#include "tools/cli.h"
#include "tools/out_of_memory.h"

namespace {

// A usage error: the arguments no option took, in command-line order (CLI11 2.1 lists them
// reversed, and checks required options first: `senet eval --epochs 5` must name --epochs), then
// CLI11's message naming the option and what it expected.
int usage_error(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* where = &app;  // the subcommand being parsed, if any
  for (auto subs = app.get_subcommands(); !subs.empty(); subs = subs.front()->get_subcommands())
    where = subs.front();
  const std::string cmd = where == &app ? "senet" : "senet " + where->get_name();
  const auto extras = app.remaining(/*recurse=*/true);
  if (!extras.empty()) {
    std::string args;
    for (const auto& a : extras) args += " " + a;
    std::fprintf(stderr, "senet: error: %s does not accept:%s\n", cmd.c_str(), args.c_str());
  }
  if (!dynamic_cast<const CLI::ExtrasError*>(&e))
    std::fprintf(stderr, "senet: error: %s\n", e.what());
  std::fprintf(stderr, "Run '%s --help' for its options.\n", cmd.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "senet — train ResNets and run the SENet ReLU-reduction pipeline (teacher → sensitivity → "
      "allocation → mask search → fine-tuning)",
      "senet"};
  app.footer("Run 'senet <command> --help' for the options of a command.");
  app.require_subcommand(1);
  const std::vector<senet::cli::Command> commands = {
      senet::cli::add_train(app), senet::cli::add_pipeline(app),   senet::cli::add_cost(app),
      senet::cli::add_eval(app),  senet::cli::add_pi_measure(app), senet::cli::add_summary(app),
      senet::cli::add_info(app),  senet::cli::add_config(app),     senet::cli::add_plot(app)};
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  if (argv[1][0] != '-') {  // not an option: it must name a command
    bool known = false;
    for (const auto& c : commands) known |= c.app->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "senet: error: unknown command '%s'\n%s", argv[1], app.help().c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) return usage_error(app, e);
    app.exit(e);  // --help: the help of the command it follows, on stdout
    // pi-measure's options are its Python tool's: its own help follows when it is installed.
    const auto subs = app.get_subcommands();
    if (!subs.empty() && subs.front()->get_name() == "pi-measure" &&
        senet::cli::pi_measure_available()) {
      std::cout << "\nThe tool's own help (python -m senet_pi --help):\n" << std::flush;
      try {
        senet::cli::exec_pi_measure({"--help"});
      } catch (const std::exception& x) {
        std::fprintf(stderr, "senet: error: %s\n", x.what());
        return 1;
      }
    }
    return 0;
  }
  // `--device cuda` brings up the CUDA glue this binary links (tools/CMakeLists.txt) on first use.
  senet::set_cuda_initializer([] {
    if (senet::cuda::init().emulated)
      std::fputs(
          "senet: warning: device 'cuda' is emulated on the CPU in this build (no nvcc); "
          "results are exact but ~100x slower than --device cpu\n",
          stderr);
  });
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
    return 2;  // unreachable: require_subcommand(1) made the parse fail without one
  } catch (const senet::Error& e) {
    std::fprintf(stderr, "\nsenet: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    size_t bytes = senet::cli::last_failed_allocation();
    if (bytes)
      std::fprintf(stderr,
                   "\nsenet: error: out of host memory: an allocation of %zu bytes (%.1f MiB) "
                   "failed; reduce train.batch_size or model.width, or raise the memory limit "
                   "(ulimit -v)\n",
                   bytes, double(bytes) / (1 << 20));
    else
      std::fprintf(stderr,
                   "\nsenet: error: out of host memory; reduce train.batch_size or "
                   "model.width, or raise the memory limit (ulimit -v)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nsenet: error: %s\n", e.what());
    return 1;
  }
}
