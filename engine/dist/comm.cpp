// engine/dist/comm.cpp — see comm.h.
#include "engine/dist/comm.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <unistd.h>

#include "engine/core/error.h"

namespace senet::dist {

namespace {

std::unique_ptr<Comm>& world_slot() {
  static std::unique_ptr<Comm> w = std::make_unique<SingleProcess>();
  return w;
}

double default_timeout() {
  if (const char* s = std::getenv("SENET_DIST_TIMEOUT")) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (end != s && *end == '\0' && v > 0) return v;
    std::fprintf(stderr, "senet: SENET_DIST_TIMEOUT=%s is not a positive number of seconds\n", s);
    std::exit(2);
  }
  return 300;
}

double g_timeout = default_timeout();
FILE* g_errors = nullptr;  // quiet_other_ranks(): the original stderr
int g_error_fd = 2;        // its descriptor (for the signal handler)
std::string g_step;

struct Done final : Pending {
  bool test() override { return true; }
};

}  // namespace

static double g_collective_seconds = 0;
double collective_seconds() { return g_collective_seconds; }

void Comm::wait(Pending& p, const char* what) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  struct Count {  // adds the time spent here on every way out
    clock::time_point t0;
    ~Count() { g_collective_seconds += std::chrono::duration<double>(clock::now() - t0).count(); }
  } count{t0};
  // Spin briefly (a bucket of a small model completes in microseconds), then yield for up to a
  // millisecond (another rank sharing this core can run), then sleep between polls so a waiting
  // rank does not take the core another rank's compute needs.
  for (int spin = 0; spin < 2000; ++spin)
    if (p.test()) return;
  while (!p.test()) {
    const double waited = std::chrono::duration<double>(clock::now() - t0).count();
    if (waited < 1e-3)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (waited > timeout()) {
      char msg[512];
      std::snprintf(msg, sizeof msg,
                    "%s at %s: no answer from the other ranks after %.1f s (SENET_DIST_TIMEOUT); "
                    "a rank has died or hung, stopping the job",
                    what, step().empty() ? "start-up" : step().c_str(), waited);
      fail_job(msg, 3);
    }
  }
}

void SingleProcess::allgather(const void* in, int64_t bytes, void* out, const char*) {
  std::memcpy(out, in, size_t(bytes));
}

std::unique_ptr<Pending> SingleProcess::iallreduce_mean(float*, int64_t, const char*) {
  return std::make_unique<Done>();
}

void SingleProcess::abort_job(int code) { std::exit(code); }

Comm& world() { return *world_slot(); }
void set_world(std::unique_ptr<Comm> comm) {
  SENET_CHECK(comm != nullptr, "dist::set_world: null communicator");
  world_slot() = std::move(comm);
}

static std::unique_ptr<Comm>& device_slot() {
  static std::unique_ptr<Comm> d;
  return d;
}
Comm* device_world() { return device_slot().get(); }
void set_device_world(std::unique_ptr<Comm> comm) { device_slot() = std::move(comm); }

Comm& comm_for(int device_is_cuda, const char* what) {
  if (!device_is_cuda) return world();
  if (device_world()) return *device_world();
  if (world().size() == 1) return world();
  SENET_CHECK(device_world() != nullptr, what, ": a run on ", world().size(),
              " ranks has CUDA tensors but no device communicator (this binary's CUDA glue has "
              "none: NCCL was not found when it was built)");
  return *device_world();
}

int local_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 0;
}

double timeout() { return g_timeout; }
void set_timeout(double seconds) {
  SENET_CHECK(seconds > 0, "dist::set_timeout: ", seconds, " is not a positive number of seconds");
  g_timeout = seconds;
}
// set_step also keeps a copy in a fixed buffer that the SIGTERM handler below can read.
static char g_step_buf[256];
static char g_rank_buf[64];

void set_step(std::string where) {
  std::snprintf(g_step_buf, sizeof g_step_buf, "%s", where.c_str());
  g_step = std::move(where);
}

// Only async-signal-safe calls here: write(2), signal, raise.
extern "C" void report_stop_and_die(int sig) {
  const char* parts[] = {"senet: ", g_rank_buf, ": stopped by the launcher at ",
                         g_step_buf[0] ? g_step_buf : "start-up",
                         " (another rank failed, or the job was cancelled); files written so far "
                         "stay as they are\n"};
  const int fd = g_error_fd;
  for (const char* p : parts) {
    ssize_t ignored = ::write(fd, p, std::strlen(p));
    (void)ignored;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void report_stop_on_sigterm() {
  std::snprintf(g_rank_buf, sizeof g_rank_buf, "rank %d of %d", world().rank(), world().size());
  ::signal(SIGTERM, report_stop_and_die);
}
const std::string& step() { return g_step; }

FILE* error_stream() { return g_errors ? g_errors : stderr; }

void quiet_other_ranks() {
  if (world().rank() == 0 || g_errors) return;
  std::fflush(stdout);
  std::fflush(stderr);
  const int fd = ::dup(2);
  if (fd >= 0) g_errors = ::fdopen(fd, "w"), g_error_fd = fd;
  if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr))
    std::fprintf(error_stream(), "senet: rank %d: cannot silence its output\n", world().rank());
}

void fail_job(const std::string& message, int code) {
  std::fprintf(error_stream(), "senet: rank %d of %d: %s\n", world().rank(), world().size(),
               message.c_str());
  std::fflush(error_stream());
  world().abort_job(code);
  std::_Exit(code);  // abort_job does not return; this tells the compiler so
}

}  // namespace senet::dist
