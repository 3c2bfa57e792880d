// kernels/wgmma_available.cu — see wgmma_available.h.
#include "kernels/wgmma_available.h"

#include "kernels/emu/cuda_compat.h"

namespace senet {

bool wgmma_available() {
#if SENET_CUDA_EMULATION
  return true;
#elif SENET_CUDA_SM90A
  static int cc[64] = {};  // 10·major + minor + 1 per device, 0 until asked
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) return false;
  if (cc[dev] == 0) {
    int major = 0, minor = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
    cc[dev] = 10 * major + minor + 1;
  }
  return cc[dev] == 91;  // sm_90a code runs on sm_90 only
#else
  return false;  // no sm_90a code in this build
#endif
}

}  // namespace senet
