// engine/dist/comm.h — the processes of a data-parallel run and the few collectives they need.
//
// A run on K processes ("ranks") computes what one process computes, split by examples:
//   * every rank holds the same weights and optimizer state;
//   * each global batch of B examples is cut into K slices of B/K (engine/data/loader.h, Shard);
//   * after the backward, the gradients are summed over the ranks and divided by K
//     (engine/dist/grad_reducer.h): ḡ = (1/K) Σ_r ∇L_r, the gradient of the mean loss over the
//     whole batch, because every slice has the same size;
//   * BatchNorm in training mode normalises with the statistics of the whole batch
//     (engine/dist/sync_bn.h), so the result does not depend on K;
//   * the optimizer then makes the same step on every rank.
//
// Comm is the interface those pieces call; the backends are
//   SingleProcess  (always)        rank 0 of 1, every collective is the identity;
//   MpiComm        (engine/dist/mpi_comm.cpp, when MPI is found) host buffers over MPI;
// and a device side for CUDA tensors (engine/dist/device_comm.h). Every collective must be called
// by every rank, in the same order, with the same sizes: that is the contract, as in MPI and NCCL.
//
// No collective waits forever: each one waits at most timeout() seconds (default 300, environment
// SENET_DIST_TIMEOUT) and then stops the whole job with a message naming this rank, the
// collective and the step (set_step(), e.g. "stage2 epoch 3 step 17"): a rank that died or hung
// becomes an error, never a silent hang.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace senet::dist {

// An operation started by iallreduce_sum(), finished by Comm::wait().
class Pending {
 public:
  virtual ~Pending() = default;
  virtual bool test() = 0;  // true once complete (non-blocking)
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* backend() const = 0;  // "single", "mpi"

  // In place, every rank gets the same bytes. `what` names the collective in timeout messages.
  virtual void allreduce_sum(float* x, int64_t n, const char* what) = 0;
  virtual void allreduce_sum(double* x, int64_t n, const char* what) = 0;
  virtual void allreduce_min(int64_t* x, int64_t n, const char* what) = 0;
  // out: size()·bytes, rank r's `in` at offset r·bytes.
  virtual void allgather(const void* in, int64_t bytes, void* out, const char* what) = 0;
  virtual void broadcast(void* x, int64_t bytes, int root, const char* what) = 0;
  virtual void barrier(const char* what) = 0;
  // Start the mean over ranks, x ← (1/K) Σ_r x_r, in place; x must stay valid until wait()
  // returns. (The gradient buckets: every rank's slice has the same size, so the mean of the
  // slices' gradients is the gradient of the whole batch.)
  virtual std::unique_ptr<Pending> iallreduce_mean(float* x, int64_t n, const char* what) = 0;
  // Polls p until complete, at most timeout() seconds (then abort_job with a message).
  void wait(Pending& p, const char* what);
  // Ends every process of the job with exit status `code` (MPI_Abort); never returns.
  [[noreturn]] virtual void abort_job(int code) = 0;
};

// rank 0 of 1: what a plain `senet train` runs with.
class SingleProcess final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char* backend() const override { return "single"; }
  void allreduce_sum(float*, int64_t, const char*) override {}
  void allreduce_sum(double*, int64_t, const char*) override {}
  void allreduce_min(int64_t*, int64_t, const char*) override {}
  void allgather(const void* in, int64_t bytes, void* out, const char*) override;
  void broadcast(void*, int64_t, int, const char*) override {}
  void barrier(const char*) override {}
  std::unique_ptr<Pending> iallreduce_mean(float*, int64_t, const char*) override;
  [[noreturn]] void abort_job(int code) override;
};

// The run's communicator (SingleProcess until set_world()).
Comm& world();
void set_world(std::unique_ptr<Comm> comm);
// The communicator for device buffers (CUDA tensors) of a run under a launcher, set by the CUDA
// glue: NCCL on a GPU, MPI on the emulator's host-backed memory. Null until set (and without a
// launcher, where world() serves both). Its collectives take device pointers.
Comm* device_world();
void set_device_world(std::unique_ptr<Comm> comm);
// The communicator for buffers on device d: world() for the CPU; device_world() for CUDA when set
// (else world() on one rank; an error naming `what` on several).
Comm& comm_for(int device_is_cuda, const char* what);
inline int rank() { return world().rank(); }
inline int world_size() { return world().size(); }
inline bool is_writer() { return world().rank() == 0; }  // rank 0 writes files and prints
// This process's index among the ranks on its machine, from the launcher's environment
// (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, MPI_LOCALRANKID); 0 without one. Picks the GPU.
int local_rank();

// Seconds this process has spent in Comm::wait so far (every collective: gradient buckets, BN
// statistics, checks): the time the ranks cost each other, for the benchmark and metrics.jsonl.
double collective_seconds();

// Seconds a collective may wait before the job is stopped.
double timeout();
void set_timeout(double seconds);
// Where the run is, for messages: "teacher epoch 2 step 31" (thread-local to the main thread).
void set_step(std::string where);
const std::string& step();

// Prints "senet: rank R of K: <message>" on the error stream and ends the job (abort_job(code)).
[[noreturn]] void fail_job(const std::string& message, int code = 1);

// Ranks other than 0 print nothing on stdout and stderr (rank 0 reports for the job); their errors
// still reach the terminal through error_stream(), a copy of the original stderr.
void quiet_other_ranks();
FILE* error_stream();
// On SIGTERM (what mpirun / srun send the other ranks when one rank dies or the job is cancelled)
// print "senet: rank R of K: stopped by the launcher at <step>" before dying of it.
void report_stop_on_sigterm();

}  // namespace senet::dist
