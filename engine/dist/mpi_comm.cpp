// engine/dist/mpi_comm.cpp — see mpi_comm.h. Compiled with MPI when CMake found it
// (SENET_WITH_MPI); without it, a launcher that started several processes is an error.
#include "engine/dist/mpi_comm.h"

#include <cstdlib>
#include <string>

#include "engine/core/error.h"

#ifdef SENET_WITH_MPI
#include <mpi.h>
#endif

namespace senet::dist {

static long env_long(const char* name) {
  const char* s = std::getenv(name);
  return s ? std::strtol(s, nullptr, 10) : -1;
}

bool launched_by_launcher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_RANK") ||
         std::getenv("PMIX_RANK") || env_long("SLURM_NTASKS") > 1;
}

// How many processes the launcher says it started (-1: it does not say).
static long launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (long n = env_long(v); n > 0) return n;
  return -1;
}

#ifdef SENET_WITH_MPI

namespace {

bool g_started = false;

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail_job(std::string(call) + " failed: " + std::string(text, size_t(len)));
}

struct MpiPending final : Pending {
  MPI_Request req = MPI_REQUEST_NULL;
  float* scale_data = nullptr;  // iallreduce_mean: x *= scale once the sum is in
  int64_t scale_n = 0;
  float scale = 1;
  bool done = false;
  bool test() override {
    if (done) return true;
    int flag = 0;
    check_mpi(MPI_Test(&req, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (!flag) return false;
    for (int64_t i = 0; i < scale_n; ++i) scale_data[i] *= scale;
    return done = true;
  }
};

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "mpi"; }

  void allreduce_sum(float* x, int64_t n, const char* what) override {
    reduce(x, n, MPI_FLOAT, MPI_SUM, what);
  }
  void allreduce_sum(double* x, int64_t n, const char* what) override {
    reduce(x, n, MPI_DOUBLE, MPI_SUM, what);
  }
  void allreduce_min(int64_t* x, int64_t n, const char* what) override {
    reduce(x, n, MPI_INT64_T, MPI_MIN, what);
  }
  void allgather(const void* in, int64_t bytes, void* out, const char* what) override {
    MpiPending p;
    check_mpi(
        MPI_Iallgather(in, int(bytes), MPI_BYTE, out, int(bytes), MPI_BYTE, MPI_COMM_WORLD, &p.req),
        "MPI_Iallgather");
    wait(p, what);
  }
  void broadcast(void* x, int64_t bytes, int root, const char* what) override {
    MpiPending p;
    check_mpi(MPI_Ibcast(x, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &p.req), "MPI_Ibcast");
    wait(p, what);
  }
  void barrier(const char* what) override {
    MpiPending p;
    check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &p.req), "MPI_Ibarrier");
    wait(p, what);
  }
  std::unique_ptr<Pending> iallreduce_mean(float* x, int64_t n, const char*) override {
    auto p = std::make_unique<MpiPending>();
    p->scale_data = x, p->scale_n = n, p->scale = 1.f / float(size_);
    SENET_CHECK(n <= INT32_MAX, "MPI all-reduce of ", n, " floats: more than 2³¹−1");
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, x, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &p->req),
              "MPI_Iallreduce");
    return p;
  }
  void abort_job(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this only tells the compiler so
  }

 private:
  void reduce(void* x, int64_t n, MPI_Datatype t, MPI_Op op, const char* what) {
    SENET_CHECK(n <= INT32_MAX, "MPI all-reduce of ", n, " values: more than 2³¹−1");
    MpiPending p;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, x, int(n), t, op, MPI_COMM_WORLD, &p.req),
              "MPI_Iallreduce");
    wait(p, what);
  }
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

int init_from_environment(int* argc, char*** argv) {
  if (!launched_by_launcher()) return 1;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    fail(
        "MPI_Init_thread failed: this process was started by a launcher (mpirun or srun) but "
        "could not join its job");
  g_started = true;
  // Errors come back as return codes (check_mpi names the call), not as MPI's own abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  set_world(std::make_unique<MpiComm>());
  report_stop_on_sigterm();
  const long expected = launcher_size();
  if (expected > 0 && expected != world().size())
    fail("the launcher started ", expected, " processes but MPI joined ", world().size(),
         " of them in this job: the processes did not start as one job (with srun, use "
         "--mpi=pmix)");
  return world().size();
}

void finalize() {
  if (!g_started) return;
  g_started = false;
  set_world(std::make_unique<SingleProcess>());
  MPI_Finalize();
}

#else  // no MPI in this build

bool built_with_mpi() { return false; }

int init_from_environment(int*, char***) {
  if (!launched_by_launcher() || launcher_size() == 1) return 1;
  fail("this process was started by a launcher as one of ", launcher_size(),
       " processes, but this senet was built without MPI: install libopenmpi-dev "
       "(tools/install_packages.sh) and rebuild");
}

void finalize() {}

#endif

}  // namespace senet::dist
