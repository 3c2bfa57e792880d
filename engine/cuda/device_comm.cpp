// engine/cuda/device_comm.cpp — the communicator for CUDA tensors of a run on several ranks
// (dist::device_world(), engine/dist/comm.h), made by senet::cuda::init():
//   NcclComm     (the nvcc-built glue, when NCCL was found): NCCL collectives on the backend's
//                stream, one GPU per rank; its communicator is bootstrapped through MPI (rank 0's
//                ncclUniqueId broadcast by dist::world()). A collective is waited for by polling
//                an event recorded after it, so it too stops the job after dist::timeout().
//   HostMemoryComm (the emulated glue): the emulator's device memory is host memory, so after the
//                stream has drained, dist::world()'s MPI collectives work on the pointers as they
//                are. The same code paths as on a GPU, tested in CI under mpirun.
#include "engine/cuda/device_comm.h"

#include <memory>
#include <string>

#include "engine/core/error.h"
#include "engine/cuda/glue.h"

#if SENET_KERNELS_CUDA && SENET_WITH_NCCL
#include <nccl.h>
#endif

namespace senet::cuda::detail {

namespace {

using dist::Comm;
using dist::Pending;

#if SENET_KERNELS_CUDA && SENET_WITH_NCCL

void check_nccl(ncclResult_t r, const char* call) {
  if (r != ncclSuccess) dist::fail_job(std::string(call) + " failed: " + ncclGetErrorString(r));
}

// Complete once the stream has passed the event recorded after the collective.
struct EventPending final : Pending {
  cudaEvent_t ev = nullptr;
  EventPending() {
    SENET_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    SENET_CUDA_CHECK(cudaEventRecord(ev, stream()));
  }
  ~EventPending() override { cudaEventDestroy(ev); }
  bool test() override {
    const cudaError_t e = cudaEventQuery(ev);
    if (e == cudaErrorNotReady) return false;
    SENET_CUDA_CHECK(e);
    return true;
  }
};

class NcclComm final : public Comm {
 public:
  NcclComm() {
    Comm& w = dist::world();
    ncclUniqueId id{};
    if (w.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    w.broadcast(&id, sizeof id, 0, "the NCCL start-up");
    check_nccl(ncclCommInitRank(&comm_, w.size(), id, w.rank()), "ncclCommInitRank");
  }
  ~NcclComm() override { ncclCommDestroy(comm_); }
  int rank() const override { return dist::world().rank(); }
  int size() const override { return dist::world().size(); }
  const char* backend() const override { return "nccl"; }

  void allreduce_sum(float* x, int64_t n, const char* what) override {
    run(ncclAllReduce(x, x, size_t(n), ncclFloat, ncclSum, comm_, stream()), what);
  }
  void allreduce_sum(double* x, int64_t n, const char* what) override {
    run(ncclAllReduce(x, x, size_t(n), ncclDouble, ncclSum, comm_, stream()), what);
  }
  void allreduce_min(int64_t* x, int64_t n, const char* what) override {
    run(ncclAllReduce(x, x, size_t(n), ncclInt64, ncclMin, comm_, stream()), what);
  }
  void allgather(const void* in, int64_t bytes, void* out, const char* what) override {
    run(ncclAllGather(in, out, size_t(bytes), ncclChar, comm_, stream()), what);
  }
  void broadcast(void* x, int64_t bytes, int root, const char* what) override {
    run(ncclBroadcast(x, x, size_t(bytes), ncclChar, root, comm_, stream()), what);
  }
  void barrier(const char* what) override { dist::world().barrier(what); }
  std::unique_ptr<Pending> iallreduce_mean(float* x, int64_t n, const char*) override {
    check_nccl(ncclAllReduce(x, x, size_t(n), ncclFloat, ncclAvg, comm_, stream()),
               "ncclAllReduce");
    return std::make_unique<EventPending>();
  }
  void abort_job(int code) override {
    ncclCommAbort(comm_);
    dist::world().abort_job(code);
  }

 private:
  void run(ncclResult_t r, const char* what) {
    check_nccl(r, what);
    EventPending done;
    wait(done, what);
  }
  ncclComm_t comm_ = nullptr;
};

#endif

// Drains the stream, then hands the (host-addressable) pointers to the host communicator.
class HostMemoryComm final : public Comm {
 public:
  int rank() const override { return dist::world().rank(); }
  int size() const override { return dist::world().size(); }
  const char* backend() const override { return "mpi (emulated device memory)"; }
  void allreduce_sum(float* x, int64_t n, const char* what) override {
    drain();
    dist::world().allreduce_sum(x, n, what);
  }
  void allreduce_sum(double* x, int64_t n, const char* what) override {
    drain();
    dist::world().allreduce_sum(x, n, what);
  }
  void allreduce_min(int64_t* x, int64_t n, const char* what) override {
    drain();
    dist::world().allreduce_min(x, n, what);
  }
  void allgather(const void* in, int64_t bytes, void* out, const char* what) override {
    drain();
    dist::world().allgather(in, bytes, out, what);
  }
  void broadcast(void* x, int64_t bytes, int root, const char* what) override {
    drain();
    dist::world().broadcast(x, bytes, root, what);
  }
  void barrier(const char* what) override { dist::world().barrier(what); }
  std::unique_ptr<Pending> iallreduce_mean(float* x, int64_t n, const char* what) override {
    drain();
    return dist::world().iallreduce_mean(x, n, what);
  }
  void abort_job(int code) override { dist::world().abort_job(code); }

 private:
  static void drain() { SENET_CUDA_CHECK(cudaStreamSynchronize(stream())); }
};

}  // namespace

std::unique_ptr<dist::Comm> make_device_comm() {
#if SENET_KERNELS_CUDA
#if SENET_WITH_NCCL
  return std::make_unique<NcclComm>();
#else
  fail("a run on ", dist::world_size(),
       " ranks with --device cuda needs NCCL, and this build has "
       "none (nccl.h / libnccl were not found when it was built)");
#endif
#else
  return std::make_unique<HostMemoryComm>();
#endif
}

}  // namespace senet::cuda::detail
