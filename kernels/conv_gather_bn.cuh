// kernels/conv_gather_bn.cuh — the hoisting gathers of dgrad and wgrad (kernels/conv_gather_fast.cuh)
// with the BN backward folded in (kernels/conv_dy_bn.h): their dy side reads da and y and returns
// the dy that mrelu_bn_bwd's element-wise kernel would have written. Device code only.
// Each is its fast gather with the dy load replaced: same decode (dgrad's a_tap), then two loads
// (da, y) instead of one, the channel's constants (two float4 loads, L1-resident: 8·K floats; in
// wgrad a row is one channel, so they are loaded once per thread, outside the k loop), one mask
// byte (read for every activation kind: no branch), an FMA and a compare for the pass bit, and
// three more FLOPs for dy. The main loops and their epilogues are unchanged.
#pragma once
#include "kernels/conv_dy_bn.h"
#include "kernels/conv_gather_act.cuh"
#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

// dy of one element from dz, y and the channel's constants lo = {scale, shift, μ, invstd},
// hi = {c1, c2, c3, 0}: the one expression mrelu_bn_bwd's element-wise kernel and the gathers
// below evaluate (explicit fmaf: no contraction choice left to the compiler).
__device__ __forceinline__ float bn_bwd_dy_of_dz(const float4& lo, const float4& hi, float dz,
                                                 float y) {
  const float xhat = (y - lo.z) * lo.w;
  return fmaf(hi.x, dz, fmaf(hi.y, xhat, hi.z));
}
// The same from da, with the pass bit p = !relu || z > 0, z = fmaf(scale, y, shift)
// (conv_input_act's expression: the forward's own bit).
__device__ __forceinline__ float bn_bwd_dy(const float4& lo, const float4& hi, bool relu, float da,
                                           float y) {
  const float z = fmaf(lo.x, y, lo.y);
  return bn_bwd_dy_of_dz(lo, hi, relu && !(z > 0.0f) ? 0.0f : da, y);
}

// conv_dy_bn as the gathers use it (the pass bit's mask decode: act_relu_k, over positions p·Q + q).
struct dy_bn_k {
  const float* __restrict__ y;
  const float4* __restrict__ coef;  // 2 per channel
  act_relu_k relu;
  static dy_bn_k make(const conv_dy_bn& t, int PQ) {
    return {t.y, reinterpret_cast<const float4*>(t.coef),
            act_relu_k::make(t.act, t.mask, t.mask_per_channel, PQ, t.coef)};
  }
  __device__ __forceinline__ float dy(float da, float yv, int k, int pq) const {
    return bn_bwd_dy(coef[2 * k], coef[2 * k + 1], relu(k, pq), da, yv);
  }
};

// dgrad: A = dy at the taps of (n, h, w), computed from da and y. Base: conv2d_dgrad_gather_fast
// (v3, v4) or conv2d_dgrad_phase_gather (v5, one phase of a strided conv); its dy is da, and its
// a_tap gives the element's offset, channel and position.
template <class Base>
struct conv2d_dgrad_gather_bn : Base {
  dy_bn_k bn;
  // make(p, t, w) or, for a phase, make(p, t, w, a, b): Base::make's arguments with da for dy.
  template <class... Phase>
  static conv2d_dgrad_gather_bn make(const Conv2dGeom& p, const conv_dy_bn& t, const float* w,
                                     Phase... phase) {
    return {Base::make(p, t.da, w, phase...), dy_bn_k::make(t, p.P * p.Q)};
  }
  struct a_row_t : Base::a_row_t {
    const float* __restrict__ y_img;  // y[n]
  };
  __device__ __forceinline__ a_row_t a_row(int m) const {
    const typename Base::a_row_t r = Base::a_row(m);
    return {r, bn.y + (r.img - this->dy)};
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    const dy_tap t = this->a_tap(row, kk, ok);
    const float v = bn.dy(row.img[t.idx], row.y_img[t.idx], t.k, t.pq);
    return t.in ? v : 0.0f;
  }
};

// wgrad (v3, v4): A[k, (n,p,q)] = dy computed from da and y. Base: conv2d_wgrad_gather_fast, or
// conv2d_wgrad_gather_act when x also comes through a prologue (its b side is kept as it is).
// A thread decodes several A rows here (the loader reads A kk-fastest): a row keeps only its
// offset and channel; the channel's constants are loaded per element (L1 hits), which costs fewer
// registers than holding 8 of them per row.
template <class Base>
struct conv2d_wgrad_gather_bn : Base {  // its dy is da
  dy_bn_k bn;
  static conv2d_wgrad_gather_bn make(const Base& base, const Conv2dGeom& p, const conv_dy_bn& t) {
    return {base, dy_bn_k::make(t, p.P * p.Q)};
  }
  struct a_row_t {
    int off, k;  // da[0, k] and y[0, k] are at element off = k·P·Q
  };
  __device__ __forceinline__ a_row_t a_row(int k) const { return {k * this->PQ.d, k}; }
  __device__ __forceinline__ float a(const a_row_t& row, int m, bool ok) const {
    int n, pq;
    this->PQ.divmod(m, n, pq);
    const int p = ok ? pq : 0, idx = row.off + (ok ? n * this->K * this->PQ.d : 0) + p;
    const float v = bn.dy(this->dy[idx], bn.y[idx], row.k, p);
    return ok ? v : 0.0f;
  }
};

}  // namespace senet::detail
