// engine/dist/mpi_comm.h — Comm over MPI (OpenMPI on these machines) for host buffers, and the
// start-up of a run under a launcher (mpirun, srun).
// Every collective is the non-blocking MPI-3 call (MPI_Iallreduce, MPI_Iallgather, MPI_Ibcast,
// MPI_Ibarrier) polled by Comm::wait, so none can wait longer than dist::timeout().
// Only the main thread calls MPI (MPI_THREAD_FUNNELED); the engine's worker threads never do.
#pragma once
#include "engine/dist/comm.h"

namespace senet::dist {

// True when this process was started by a launcher: mpirun / mpiexec (OMPI_COMM_WORLD_SIZE,
// PMI_RANK, PMIX_RANK) or Slurm's srun with several tasks (SLURM_NTASKS > 1).
bool launched_by_launcher();

// When launched_by_launcher(): MPI_Init_thread, set_world(MpiComm), and a check that MPI sees as
// many processes as the launcher started (else the processes did not join one job, e.g. srun
// without --mpi=pmix). Returns the world size. Without a launcher: nothing, returns 1.
// Throws senet::Error when the binary was built without MPI and a launcher started it with K > 1.
int init_from_environment(int* argc, char*** argv);
// MPI_Finalize when init_from_environment started MPI (after the last collective).
void finalize();
// True when this binary was built with MPI.
bool built_with_mpi();

}  // namespace senet::dist
