// kernels/conv_gather_act.cuh — the hoisting gathers of fprop and wgrad (kernels/conv_gather_fast.cuh)
// with the previous layer's BN + activation applied to x as it is loaded (kernels/conv_input_act.h).
// Device code only (included by kernels/*.cu).
// Each is its fast gather with one function replaced: the x side — fprop's a(row, kk), wgrad's
// b(col, m) — decodes (c, h, w) as before, loads x, and returns input_act_apply(...) of it, or 0
// outside the image (the padding of a). Per element: three more loads (scale[c], shift[c]: C floats,
// L1-resident; one mask byte, read for every activation kind: no branch), one FMA, a compare. The
// main loops and their epilogues are unchanged: the same kernels instantiated with these gathers.
#pragma once
#include "kernels/conv_gather_fast.cuh"
#include "kernels/conv_input_act.h"

namespace senet::detail {

// One in-image element x at (c, h, w), chw = (c·H + h)·W + w (the per-position mask's index):
// z = scale·x + shift and its pass bit p = !relu || z > 0 — scale_shift_mrelu's expressions,
// residual-free. x_eff = p ? z : 0 (input_act_apply); the BN backward needs p alone
// (kernels/mrelu_bn_bwd.cu recomputes it from y instead of reading stored bits).
__device__ __forceinline__ bool input_act_pass(const conv_input_act& t, float x, int c, int64_t chw,
                                               float* z_out) {
  const float z = fmaf(t.scale[c], x, t.shift[c]);
  const bool relu = t.act == Act::ReLU || (t.act == Act::MaskedReLU &&
                                           (t.mask_per_channel ? t.mask[c] : t.mask[chw]) != 0);
  *z_out = z;
  return !relu || z > 0.0f;
}
__device__ __forceinline__ float input_act_apply(const conv_input_act& t, float x, int c,
                                                 int64_t chw) {
  float z;
  return input_act_pass(t, x, c, chw, &z) ? z : 0.0f;
}

// Whether the activation of element (c, hw) is a ReLU, without a branch on the activation kind:
// the mask byte of (c, hw) is mask[c·mask_c + hw·mask_hw] — per channel (1, 0), per position
// (H·W, 1), or without a mask (0, 0) a valid dummy byte that is always read and never used
// (relu = relu_all). (The folded BN backward, kernels/conv_gather_bn.cuh, keeps the per-channel
// part in its constants instead and reads a byte only under a per-position mask.)
struct act_relu_k {
  const uint8_t* __restrict__ mask;
  int mask_c, mask_hw;
  bool relu_all, use_mask;
  // dummy: any readable device byte, read in place of a mask when there is none.
  static act_relu_k make(Act act, const uint8_t* mask, bool per_channel, int HW,
                         const void* dummy) {
    const bool m = act == Act::MaskedReLU;
    return {m ? mask : static_cast<const uint8_t*>(dummy), m ? (per_channel ? 1 : HW) : 0,
            m && !per_channel ? 1 : 0, act == Act::ReLU, m};
  }
  __device__ __forceinline__ bool operator()(int c, int hw) const { return of(byte(c, hw)); }
  // The same in two steps: the mask byte's load, and the flag from it (no branch).
  __device__ __forceinline__ int byte(int c, int hw) const {
    return mask[c * mask_c + hw * mask_hw];
  }
  __device__ __forceinline__ bool of(int b) const { return relu_all | (use_mask & (b != 0)); }
};

// conv_input_act as the gathers use it.
struct input_act_k {
  const float* __restrict__ scale;
  const float* __restrict__ shift;
  act_relu_k relu;
  static input_act_k make(const conv_input_act& t, int HW) {
    return {t.scale, t.shift, act_relu_k::make(t.act, t.mask, t.mask_per_channel, HW, t.scale)};
  }
  // x_eff of the in-image element x at channel c, position hw (input_act_apply's value).
  __device__ __forceinline__ float apply(float x, int c, int hw) const {
    return apply(x, consts(c, hw));
  }
  // The same in two steps, so that a main loop can load an element's constants with x, before
  // its math, and apply them after (kernels/implicit_gemm_loader.cuh, a_full).
  struct consts_t {
    float scale, shift;
    int mask_byte;
  };
  __device__ __forceinline__ consts_t consts(int c, int hw) const {
    return {scale[c], shift[c], relu.byte(c, hw)};
  }
  __device__ __forceinline__ float apply(float x, const consts_t& k) const {
    const float z = fmaf(k.scale, x, k.shift);
    return relu.of(k.mask_byte) && !(z > 0.0f) ? 0.0f : z;
  }
};

// fprop: A = im2col(x_eff).
struct conv2d_fprop_gather_act : conv2d_fprop_gather_fast {
  input_act_k act;
  static conv2d_fprop_gather_act make(const Conv2dGeom& p, const float* x, const float* w,
                                      const conv_input_act& act) {
    return {conv2d_fprop_gather_fast::make(p, x, w), input_act_k::make(act, p.H * p.W)};
  }
  __device__ __forceinline__ float a(const a_row_t& row, int kk, bool ok) const {
    int c, rs, r, s;
    RS.divmod(kk, c, rs);
    S.divmod(rs, r, s);
    const int h = row.h0 + r, ww = row.w0 + s;
    const bool in = ok && unsigned(h) < unsigned(H) && unsigned(ww) < unsigned(W);
    const int hw = in ? h * W + ww : 0, cc = in ? c : 0;
    const float v = act.apply(row.img[cc * H * W + hw], cc, hw);
    return in ? v : 0.0f;
  }
  static constexpr bool transforms_x = true;
  __device__ __forceinline__ float value(float x, int c, int hw) const {
    return act.apply(x, c, hw);
  }
  using consts_t = input_act_k::consts_t;
  __device__ __forceinline__ consts_t consts(int c, int hw) const { return act.consts(c, hw); }
  __device__ __forceinline__ float value(float x, const consts_t& k) const {
    return act.apply(x, k);
  }
};

// wgrad: B = im2col(x_eff).
struct conv2d_wgrad_gather_act : conv2d_wgrad_gather_fast {
  input_act_k act;
  static conv2d_wgrad_gather_act make(const Conv2dGeom& p, const float* x, const float* dy,
                                      const conv_input_act& act) {
    return {conv2d_wgrad_gather_fast::make(p, x, dy), input_act_k::make(act, p.H * p.W)};
  }
  struct b_col_t : conv2d_wgrad_gather_fast::b_col_t {
    int c;  // the column's input channel (for scale, shift and the mask)
  };
  __device__ __forceinline__ b_col_t b_col(int j) const {
    return {conv2d_wgrad_gather_fast::b_col(j), j / (R * S)};
  }
  // In two steps, so that the main loop's loader applies the activation after the slice's math
  // instead of waiting for the load (kernels/implicit_gemm_loader.cuh, b_deferred): b_raw loads
  // x and keeps its position (hw < 0 outside the image, x then 0), b_finish activates it.
  static constexpr bool b_deferred = true;
  struct b_raw_t {
    float x;
    int hw;
  };
  __device__ __forceinline__ b_raw_t b_raw(const b_col_t& col, int m, bool ok) const {
    int n, pq, p, q;
    PQ.divmod(m, n, pq);
    Q.divmod(pq, p, q);
    const int h = p * stride + col.r0, ww = q * stride + col.s0;
    const bool in = ok && unsigned(h) < unsigned(H) && unsigned(ww) < unsigned(W);
    const int hw = h * W + ww;
    return {load_or_zero_at(col.chan, n * C * H * W + hw, in), in ? hw : -1};
  }
  __device__ __forceinline__ float b_finish(const b_col_t& col, b_raw_t r) const {
    const float v = act.apply(r.x, col.c, r.hw < 0 ? 0 : r.hw);  // every element: no branch
    return r.hw >= 0 ? v : 0.0f;
  }
  __device__ __forceinline__ float b(const b_col_t& col, int m, bool ok) const {
    return b_finish(col, b_raw(col, m, ok));
  }
};

}  // namespace senet::detail
