// kernels/wgmma_available.h — whether the Hopper warpgroup-MMA kernels (kernels/wgmma_tf32.cuh:
// conv2d_fprop v7, conv2d_dgrad v6, conv2d_wgrad v5, the fused conv→BN with params.wgmma) can run here: under the emulation always; on a GPU when this
// build has sm_90a code (CMAKE_CUDA_ARCHITECTURES with 90a: SENET_CUDA_SM90A) and the current
// device is sm_90 (asked once per device with cudaDeviceGetAttribute: no synchronisation).
// Their launchers run the mma.sync version instead where it is false. Host code.
#pragma once

namespace senet {

bool wgmma_available();

}  // namespace senet
