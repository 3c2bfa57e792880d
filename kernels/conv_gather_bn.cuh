// kernels/conv_gather_bn.cuh — the hoisting gathers of dgrad and wgrad (kernels/conv_gather_fast.cuh)
// with the BN backward folded in (kernels/conv_dy_bn.h): their dy side reads da and y and returns
// the dy that mrelu_bn_bwd's element-wise kernel would have written. Device code only.
// Each is its fast gather with the dy load replaced: same decode (dgrad's a_tap), then two loads
// (da, y) instead of one, the channel's constants (two float4 loads, L1-resident: 8·K floats),
// under a per-position mask its byte (a load predicated on the launch-uniform mask pointer), and
// four FLOPs: the pass bit's FMA and compare, dy's two FMAs. The main loops and their epilogues
// are unchanged.
#pragma once
#include "kernels/conv_dy_bn.h"
#include "kernels/conv_gather_fast.cuh"
#include "kernels/emu/cuda_compat.h"

namespace senet::detail {

// dy of one element from dz, y and the channel's constants lo = {scale, shift, c1, c2'},
// hi = {c3', relu, 0, 0}: the one expression mrelu_bn_bwd's element-wise kernel and the gathers
// below evaluate (explicit fmaf: no contraction choice left to the compiler).
__device__ __forceinline__ float bn_bwd_dy_of_dz(const float4& lo, const float4& hi, float dz,
                                                 float y) {
  return fmaf(lo.z, dz, fmaf(lo.w, y, hi.x));
}
// The same from da, with the pass bit p = !relu || z > 0, z = fmaf(scale, y, shift)
// (conv_input_act's expression: the forward's own bit); relu is the channel's flag, or
// pos_relu (a per-position mask's byte).
__device__ __forceinline__ float bn_bwd_dy(const float4& lo, const float4& hi, bool pos_relu,
                                           float da, float y) {
  const float z = fmaf(lo.x, y, lo.y);
  const bool relu = hi.y != 0.0f || pos_relu;
  return bn_bwd_dy_of_dz(lo, hi, relu && !(z > 0.0f) ? 0.0f : da, y);
}

// conv_dy_bn as the gathers use it: dy of the element at offset i of image n's da and y
// (i = k·P·Q + p·Q + q; base: n·K·P·Q, a multiple of K·P·Q), channel k.
struct dy_bn_k {
  const float* __restrict__ y;
  const float4* __restrict__ coef;   // 2 per channel
  const uint8_t* __restrict__ mask;  // per position (K·P·Q), or null
  static dy_bn_k make(const conv_dy_bn& t) {
    return {t.y, reinterpret_cast<const float4*>(t.coef), t.mask};
  }
  __device__ __forceinline__ float dy(float da, float yv, int k, int i) const {
    const bool pos_relu = mask != nullptr && mask[i] != 0;  // launch-uniform: a predicated load
    return bn_bwd_dy(coef[2 * k], coef[2 * k + 1], pos_relu, da, yv);
  }
};

// dgrad: A = dy at the taps of (n, h, w), computed from da and y. Base: conv2d_dgrad_gather_fast
// (v3, v4 when K is not a multiple of BK; else the tap-major gather below); its dy is da, and its
// a_tap gives the element's offset and channel.
template <class Base>
struct conv2d_dgrad_gather_bn : Base {
  dy_bn_k bn;
  static conv2d_dgrad_gather_bn make(const Conv2dGeom& p, const conv_dy_bn& t, const float* w) {
    return {Base::make(p, t.da, w), dy_bn_k::make(t)};
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
    const float v = bn.dy(row.img[t.idx], row.y_img[t.idx], t.k, t.idx);
    return t.in ? v : 0.0f;
  }
};

// dgrad, tap-major (conv2d_dgrad_gather_tap or conv2d_dgrad_phase_gather_tap): the slice's decode
// also finds its channel's constants; each element is then channel k + dk of the same pixel: da one
// multiply-add away (dk·P·Q floats, as in the plain gather), y a fixed byte distance from da (y − da:
// both are N×K×P×Q), the constants at an immediate offset (coef + 2·(k + dk)), and under a
// per-position mask its byte at da's element offset. (Giving y its own pointer per slice made nvcc,
// short of registers, rebuild both addresses from the tensors' bases per element: ~10 instructions
// more.)
template <class Tap>
struct conv2d_dgrad_gather_tap_bn : Tap {  // its dy is da
  dy_bn_k bn;
  int64_t y_from_da;  // bytes from da[i] to y[i]
  // make(p, t, w) or, for a phase, make(p, t, w, a, b).
  template <class... Phase>
  static conv2d_dgrad_gather_tap_bn make(const Conv2dGeom& p, const conv_dy_bn& t, const float* w,
                                         Phase... phase) {
    return {Tap::make(p, t.da, w, phase...), dy_bn_k::make(t),
            reinterpret_cast<intptr_t>(t.y) - reinterpret_cast<intptr_t>(t.da)};
  }
  using typename Tap::a_row_t;
  struct a_slice_t : Tap::a_slice_t {
    const float4* __restrict__ coef;  // channel k's constants
  };
  __device__ __forceinline__ a_slice_t a_slice(const a_row_t& row, int kk, bool ok) const {
    const typename Tap::a_slice_t sl = Tap::a_slice(row, kk, ok);
    return {sl, bn.coef + 2 * sl.k};
  }
  __device__ __forceinline__ float a_at(const a_slice_t& sl, int dk, bool ok) const {
    const int off = dk * this->P * this->Q;
    const float* da = sl.at + off;
    const float yv = *reinterpret_cast<const float*>(reinterpret_cast<const char*>(da) + y_from_da);
    const bool pos_relu = bn.mask != nullptr && bn.mask[sl.i + off] != 0;  // launch-uniform
    const float v = bn_bwd_dy(sl.coef[2 * dk], sl.coef[2 * dk + 1], pos_relu, *da, yv);
    return sl.in && ok ? v : 0.0f;
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    return a_at(a_slice(row, kk, ok), 0, true);
  }
};

// wgrad (v3, v4, v5): A[k, (n,p,q)] = dy computed from da and y. Base: conv2d_wgrad_gather_fast, or
// conv2d_wgrad_gather_act when x also comes through a prologue (its b side is kept as it is).
// A thread decodes several A rows here (the loader reads A kk-fastest): a row keeps only its
// offset and channel; the channel's constants are loaded per element (L1 hits), which costs fewer
// registers than holding 8 of them per row.
template <class Base>
struct conv2d_wgrad_gather_bn : Base {  // its dy is da
  dy_bn_k bn;
  static conv2d_wgrad_gather_bn make(const Base& base, const conv_dy_bn& t) {
    return {base, dy_bn_k::make(t)};
  }
  struct a_row_t {
    int off, k;  // da[0, k] and y[0, k] are at element off = k·P·Q
  };
  __device__ __forceinline__ a_row_t a_row(int k) const { return {k * this->PQ.d, k}; }
  __device__ __forceinline__ float a(const a_row_t& row, int m, bool ok) const {
    int n, pq;
    this->PQ.divmod(m, n, pq);
    const int p = ok ? pq : 0, i = row.off + p, idx = i + (ok ? n * this->K * this->PQ.d : 0);
    const float v = bn.dy(this->dy[idx], bn.y[idx], row.k, i);
    return ok ? v : 0.0f;
  }
};

}  // namespace senet::detail
