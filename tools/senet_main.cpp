// tools/senet_main.cpp — `senet <command> [options]`: the project's one binary. Its command line is
// CLI11's (tools/cli.h: one subcommand per command, each with only its own options).
//   senet --help, senet <command> --help   the generated help; exit 0
//   usage errors (unknown command or option, a value of the wrong type or range, a missing
//   required option)                      "senet: error: <what>" and the help to read; exit 2
//   run errors (bad files, configs, budgets, shapes, out of memory)
//                                          "senet: error: <message>"; exit 1
//   under mpirun / srun (engine/dist/mpi_comm.h): train, pipeline and eval run data-parallel on
//   every rank (senet/data_parallel.h); rank 0 prints; an error on any rank stops the whole job
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/dist/comm.h"
#include "engine/dist/mpi_comm.h"
#include "senet/data_parallel.h"
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

// A run error: "senet: error: <message>", exit 1. On several ranks the rank that hit it says so and
// the whole job stops (MPI_Abort), so no other rank waits for it.
int run_error(const char* message) {
  if (senet::dist::world_size() > 1) senet::dist::fail_job(std::string("error: ") + message, 1);
  std::fprintf(stderr, "\nsenet: error: %s\n", message);
  return 1;
}

// Several ranks must run one command: the same arguments on every rank, and a command that runs
// data-parallel (the others would only repeat the same work K times).
void check_same_command(int argc, char** argv, const CLI::App& app) {
  namespace dist = senet::dist;
  const auto subs = app.get_subcommands();
  const std::string cmd = subs.empty() ? "" : subs.front()->get_name();
  SENET_CHECK(cmd == "train" || cmd == "pipeline" || cmd == "eval", "senet ", cmd,
              " runs on one process; the commands that run on several ranks are train, pipeline "
              "and eval (this one was started as ",
              dist::world_size(), " processes)");
  std::string line;
  for (int i = 1; i < argc; ++i) line += std::string(argv[i]) + '\n';
  const int r = senet::first_rank_unlike_rank0(line, "the command-line check at start");
  SENET_CHECK(r < 0, "rank ", r,
              " was started with other arguments than rank 0: every rank must run the same "
              "command");
  dist::quiet_other_ranks();
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
  // Under a launcher (mpirun -np K, srun): join the job; ranks other than 0 stay quiet.
  try {
    if (senet::dist::init_from_environment(&argc, &argv) > 1) check_same_command(argc, argv, app);
  } catch (const senet::Error& e) {
    return run_error(e.what());
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
    int rc = 2;  // require_subcommand(1) made the parse fail without one
    for (const auto& c : commands)
      if (c.app->parsed()) rc = c.run();
    senet::dist::finalize();
    return rc;
  } catch (const senet::Error& e) {
    return run_error(e.what());
  } catch (const std::bad_alloc&) {
    char msg[256];
    size_t bytes = senet::cli::last_failed_allocation();
    if (bytes)
      std::snprintf(msg, sizeof msg,
                    "out of host memory: an allocation of %zu bytes (%.1f MiB) failed; reduce "
                    "train.batch_size or model.width, or raise the memory limit (ulimit -v)",
                    bytes, double(bytes) / (1 << 20));
    else
      std::snprintf(msg, sizeof msg,
                    "out of host memory; reduce train.batch_size or model.width, or raise the "
                    "memory limit (ulimit -v)");
    return run_error(msg);
  } catch (const std::exception& e) {
    return run_error(e.what());
  }
}
