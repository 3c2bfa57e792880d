// kernels/scale_shift_mrelu.cu — a = act(scale_k·y + shift_k (+ r)) with 1-bit pass mask
// Math (y, r, a: N×K×P×Q flattened, element i; k = (i / PQ) mod K):
//   z = scale_k·y_i + shift_k (+ r_i);  m = per-element mask[i mod K·PQ] or per-channel mask[k]
//   none: a = z;  relu: a = max(z,0);  masked_relu: a = m ? max(z,0) : z
//   pass bit p_i = (act none) || !m || z > 0  (a = p ? z : 0), the backward's dz = da ⊙ p
// Launch: block 256, grid min(⌈n/256⌉, 4096) with a grid-stride loop whose trip count is the same
//   for all lanes of a warp (block offsets are multiples of 256), so a warp's 32 consecutive
//   elements form exactly one bit word: __ballot_sync(p) → lane 0 stores it. Coalesced loads,
//   one 4-byte store per 32 elements for the bits. 3 passes over memory: read y (+r), write a.
// Versions: v1 only (memory-bound elementwise).
// Numerics: scale·y + shift as one fmaf. With a large mean offset (|μ| ≫ σ) this form loses
//   ~|μ|/σ ulps to cancellation vs the CPU backend's (y−μ)·scale + β; the BN tests state it.
#include "kernels/scale_shift_mrelu.h"

#include "kernels/emu/cuda_compat.h"

namespace senet {

__global__ void __launch_bounds__(256) scale_shift_mrelu_ballot_kernel(
    scale_shift_mrelu_params p, const float* __restrict__ y, const float* __restrict__ scale,
    const float* __restrict__ shift, const float* __restrict__ residual,
    const uint8_t* __restrict__ mask, float* __restrict__ a, uint32_t* __restrict__ bits) {
  const int64_t n = p.size(), KPQ = int64_t(p.K) * p.PQ;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t base = int64_t(blockIdx.x) * blockDim.x; base < n; base += stride) {
    const int64_t i = base + threadIdx.x;
    bool pass = false;
    if (i < n) {
      const int k = int(i / p.PQ % p.K);
      float z = fmaf(scale[k], y[i], shift[k]);
      if (residual) z += residual[i];
      const bool m = p.act == Act::ReLU || (p.act == Act::MaskedReLU &&
                                            (p.mask_per_channel ? mask[k] : mask[i % KPQ]) != 0);
      pass = !m || z > 0.0f;
      a[i] = pass ? z : 0.0f;
    }
    const unsigned word = __ballot_sync(0xffffffffu, pass);
    if (bits && (threadIdx.x & 31) == 0 && i < n) bits[i >> 5] = word;
  }
}

cudaError_t scale_shift_mrelu(scale_shift_mrelu_params p, const float* y, const float* scale,
                              const float* shift, const float* residual, const uint8_t* mask,
                              float* a, uint32_t* bits, cudaStream_t stream) {
  if (p.N < 1 || p.K < 1 || p.PQ < 1 || !y || !scale || !shift || !a) return cudaErrorInvalidValue;
  if (p.act != Act::None && p.act != Act::ReLU && p.act != Act::MaskedReLU)
    return cudaErrorInvalidValue;
  if (p.act == Act::MaskedReLU && !mask) return cudaErrorInvalidValue;
  const int64_t blocks = (p.size() + 255) / 256;
  return launch(scale_shift_mrelu_ballot_kernel, dim3(unsigned(blocks < 4096 ? blocks : 4096)),
                dim3(256), 0, stream, p, y, scale, shift, residual, mask, a, bits);
}

}  // namespace senet
