// engine/ops/conv2d.cpp — conv2d forward and backward side by side (CPU: direct AVX-512/AVX2
// kernels, or im2col + GEMM; CUDA:
// the implicit-GEMM kernels fprop v3 / dgrad v2 / wgrad v2 through the CudaOps table).
#include "engine/ops/conv2d.h"

#include <cstring>

#include "engine/core/autograd.h"
#include "engine/ops/dispatch.h"

namespace senet {

cpu::Conv2dGeom conv2d_check(const char* op, const Tensor& x, const Tensor& w, int stride,
                             int pad) {
  SENET_CHECK(x.ndim() == 4 && w.ndim() == 4, op, ": input ", x.shape(),
              " must be N×C×H×W and weight ", w.shape(), " K×C×R×S");
  check_dtype(op, x, DType::F32, "input");
  check_dtype(op, w, DType::F32, "weight");
  check_same_device(op, x, w);
  SENET_CHECK(x.size(1) == w.size(1), op, ": input ", x.shape(), " has ", x.size(1),
              " channels but weight ", w.shape(), " expects ", w.size(1));
  SENET_CHECK(stride >= 1, op, ": stride ", stride, " < 1 (input ", x.shape(), ", weight ",
              w.shape(), ")");
  SENET_CHECK(pad >= 0, op, ": negative padding ", pad, " (input ", x.shape(), ", weight ",
              w.shape(), ")");
  SENET_CHECK(x.size(2) + 2 * pad >= w.size(2) && x.size(3) + 2 * pad >= w.size(3), op,
              ": kernel of weight ", w.shape(), " is larger than the padded input ", x.shape(),
              " (pad ", pad, ")");
  return cpu::conv2d_geom(int(x.size(0)), int(x.size(1)), int(x.size(2)), int(x.size(3)),
                          int(w.size(0)), int(w.size(2)), int(w.size(3)), stride, pad);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int pad) {
  const cpu::Conv2dGeom g = conv2d_check("conv2d", x, w, stride, pad);
  if (bias.defined()) {
    check_dtype("conv2d", bias, DType::F32, "bias");
    check_same_device("conv2d", x, bias);
    SENET_CHECK(bias.shape() == Shape{g.K}, "conv2d: bias ", bias.shape(),
                " does not match weight ", w.shape(), " (expected [", g.K, "])");
  }
  const bool on_cuda = use_cuda("conv2d", {&x, &w, &bias});

  Tensor y = Tensor::empty({g.N, g.K, g.P, g.Q}, DType::F32, x.device());
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  if (on_cuda) {
    cuda().conv2d_forward(g, x.data<float>(), w.data<float>(), b, y.data<float>());
  } else {
    cpu::ConvRowsHook add_bias;
    if (b)
      add_bias = [&](int, int, int k0, int k1, float* rows) {
        cpu::conv2d_add_bias(b, k0, k1, g.PQ(), rows);
      };
    cpu::conv2d_fprop(g, x.data<float>(), w.data<float>(), y.data<float>(), add_bias);
  }

  // Backward: dx = dgrad(dy, w), dw = wgrad(x, dy), db = Σ dy. Saves x and w.
  if (needs_grad({&x, &w, &bias})) {
    const bool need_x = x.requires_grad(), need_w = w.requires_grad(),
               need_b = bias.defined() && bias.requires_grad();
    Tensor sx = x.detach(), sw = w.detach();
    record("conv2d", {x, w, bias}, y,
           [g, sx, sw, need_x, need_w, need_b, on_cuda](const Tensor& dy) -> std::vector<Tensor> {
             const float* d = dy.data<float>();
             const int64_t PQ = g.PQ();
             Tensor dx = need_x ? Tensor::empty_like(sx) : Tensor();
             Tensor dw = need_w ? Tensor::empty_like(sw) : Tensor();
             Tensor db = need_b ? Tensor::empty({g.K}, DType::F32, dy.device()) : Tensor();
             if (on_cuda) {
               cuda().conv2d_backward(g, sx.data<float>(), sw.data<float>(), d,
                                      ptr_or_null<float>(dx), ptr_or_null<float>(dw),
                                      ptr_or_null<float>(db));
               return {dx, dw, db};
             }
             // dY_g: image n0 is already [K, PQ] in NCHW; a group of images is gathered side by side.
             auto dy_fill = [&](int, int n0, int gn, float* scratch) -> const float* {
               if (gn == 1) return d + int64_t(n0) * g.K * PQ;
               for (int j = 0; j < gn; ++j)
                 for (int k = 0; k < g.K; ++k)
                   std::memcpy(scratch + k * gn * PQ + j * PQ, d + (int64_t(n0 + j) * g.K + k) * PQ,
                               size_t(PQ) * 4);
               return scratch;
             };
             if (need_x || need_w)
               cpu::conv2d_bprop(g, sx.data<float>(), sw.data<float>(), dy_fill,
                                 need_x ? dx.data<float>() : nullptr,
                                 need_w ? dw.data<float>() : nullptr);
             if (need_b) cpu::conv2d_bias_grad(d, g.N, g.K, PQ, db.data<float>());
             return {dx, dw, db};
           });
  }
  return y;
}

}  // namespace senet
