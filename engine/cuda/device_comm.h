// engine/cuda/device_comm.h — glue-internal: the communicator for CUDA tensors of a data-parallel
// run (NCCL on a GPU; MPI on the emulator's host-backed memory). See device_comm.cpp.
#pragma once
#include <memory>

#include "engine/dist/comm.h"

namespace senet::cuda::detail {

std::unique_ptr<dist::Comm> make_device_comm();

}  // namespace senet::cuda::detail
