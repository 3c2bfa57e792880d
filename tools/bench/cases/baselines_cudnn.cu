// tools/bench/cases/baselines_cudnn.cu — the cuDNN baseline cases (baselines.h): conv + BN
// (training) + ReLU, its backward (ReLU, BN, dgrad, wgrad: the layer's training step is the two),
// and each conv pass alone (fprop, dgrad, wgrad), each with FMA math (FP32) or tensor-op math
// (TF32 allowed, PyTorch's default), the algorithm the fastest cudnnFind… reports for that math,
// run with the math that entry ran with (as PyTorch does). Inputs as the conv cases' (integers:
// the FMA conv is exact), checked within kTolReduce where Winograd/FFT algorithms round; the
// backward's dy (BN's output) is not integer, so its dx and dw are checked within kTolTf32 (the
// check guards the wiring; a false FAIL would drop the row's timing).
// Rule: built into senet_kernel_cases_gpu only, and only when cudnn.h and libcudnn are found
// (gpu/CMakeLists.txt, which defines SENET_BENCH_HAVE_CUDNN); it uses cuDNN's legacy API, which
// cuDNN 9 marks deprecated.
#include "tools/bench/cases/baselines.h"

#if SENET_BENCH_REAL_CUDA && SENET_BENCH_HAVE_CUDNN
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/bench/cases/inputs.h"
#include "tools/bench/cases/reference.h"

#define CUDNN_TRY(expr)                                                              \
  do {                                                                               \
    const cudnnStatus_t s_ = (expr);                                                 \
    if (s_ != CUDNN_STATUS_SUCCESS)                                                  \
      throw std::runtime_error(std::string(#expr) + ": " + cudnnGetErrorString(s_)); \
  } while (0)

namespace senet::cases {

using namespace senet::inputs;

namespace {

// cudnnConvolutionForward (algorithm by cudnnFind…, CUDNN_FMA_MATH: fp32, no TF32; or with tf32,
// CUDNN_TENSOR_OP_MATH: the fastest algorithm, TF32 tensor cores allowed, PyTorch's default) →
// cudnnBatchNormalizationForwardTraining (spatial, batch statistics, running stats updated) →
// cudnnActivationForward (ReLU; cuDNN has no masked ReLU, so the baseline's activation is plain).
struct CudnnChain {
  cudnnHandle_t h = nullptr;
  cudnnTensorDescriptor_t xd = nullptr, yd = nullptr, bnd = nullptr;
  cudnnFilterDescriptor_t wd = nullptr;
  cudnnConvolutionDescriptor_t cd = nullptr;
  cudnnActivationDescriptor_t ad = nullptr;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  std::string algo_name;
  DevP<uint8_t> ws;
  size_t ws_bytes = 0;
  ~CudnnChain() {
    if (ad) cudnnDestroyActivationDescriptor(ad);
    if (cd) cudnnDestroyConvolutionDescriptor(cd);
    if (wd) cudnnDestroyFilterDescriptor(wd);
    if (bnd) cudnnDestroyTensorDescriptor(bnd);
    if (yd) cudnnDestroyTensorDescriptor(yd);
    if (xd) cudnnDestroyTensorDescriptor(xd);
    if (h) cudnnDestroy(h);
  }
};

// The handle and the conv's descriptors (NCHW fp32 x, w, y; cross-correlation), FMA math (FP32)
// or tensor-op math (TF32 allowed).
std::shared_ptr<CudnnChain> cudnn_conv_descriptors(const Conv2dGeom& p, bool tf32) {
  auto cc = std::make_shared<CudnnChain>();
  CUDNN_TRY(cudnnCreate(&cc->h));
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc->xd));
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc->yd));
  CUDNN_TRY(cudnnCreateFilterDescriptor(&cc->wd));
  CUDNN_TRY(cudnnCreateConvolutionDescriptor(&cc->cd));
  CUDNN_TRY(
      cudnnSetTensor4dDescriptor(cc->xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.C, p.H, p.W));
  CUDNN_TRY(
      cudnnSetFilter4dDescriptor(cc->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.K, p.C, p.R, p.S));
  CUDNN_TRY(cudnnSetConvolution2dDescriptor(cc->cd, p.pad, p.pad, p.stride, p.stride, 1, 1,
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_TRY(cudnnSetConvolutionMathType(cc->cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  CUDNN_TRY(
      cudnnSetTensor4dDescriptor(cc->yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.N, p.K, p.P, p.Q));
  return cc;
}

// The fastest algorithm cudnnFind… reports for this math (it sorts by time; FMA math must be FMA).
template <class Perf>
int fastest(const Perf* perf, int got, bool tf32) {
  for (int i = 0; i < got; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS && (tf32 || perf[i].mathType == CUDNN_FMA_MATH))
      return i;
  throw std::runtime_error("cuDNN: no algorithm for this pass and math");
}

struct Algo {
  int algo = 0;
  size_t ws_bytes = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;  // the math the fastest entry ran with (set it to run it)
};

Algo find_algo_uncached(const CudnnChain& cc, ConvPass pass, bool tf32) {
  int got = 0;
  if (pass == ConvPass::fprop) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    CUDNN_TRY(cudnnFindConvolutionForwardAlgorithm(cc.h, cc.xd, cc.wd, cc.cd, cc.yd,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
    const int i = fastest(perf, got, tf32);
    return {int(perf[i].algo), perf[i].memory, perf[i].mathType};
  }
  if (pass == ConvPass::dgrad) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    CUDNN_TRY(cudnnFindConvolutionBackwardDataAlgorithm(
        cc.h, cc.wd, cc.yd, cc.cd, cc.xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
    const int i = fastest(perf, got, tf32);
    return {int(perf[i].algo), perf[i].memory, perf[i].mathType};
  }
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  CUDNN_TRY(cudnnFindConvolutionBackwardFilterAlgorithm(
      cc.h, cc.xd, cc.yd, cc.cd, cc.wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
  const int i = fastest(perf, got, tf32);
  return {int(perf[i].algo), perf[i].memory, perf[i].mathType};
}

// The fastest algorithm of one conv pass with cc's descriptors (made from p) and math, and its
// workspace. cudnnFind… times every algorithm (up to a second a pass on the large layers at
// N = 128), so each (layer, pass, math) is found once: the chain, its backward and the passes
// alone share the answer.
Algo find_algo(const CudnnChain& cc, const Conv2dGeom& p, ConvPass pass, bool tf32) {
  static std::map<std::vector<int>, Algo> found;
  const std::vector<int> key{p.N, p.C, p.H, p.W, p.K, p.R, p.S, p.stride, p.pad, int(pass), tf32};
  const auto it = found.find(key);
  if (it != found.end()) return it->second;
  return found[key] = find_algo_uncached(cc, pass, tf32);
}

// The BN and activation descriptors of the chain (BN spatial, on y's channels; ReLU: cuDNN has
// no masked ReLU, so the baseline's activation is plain).
void add_bn_relu_descriptors(CudnnChain& cc) {
  CUDNN_TRY(cudnnCreateTensorDescriptor(&cc.bnd));
  CUDNN_TRY(cudnnCreateActivationDescriptor(&cc.ad));
  CUDNN_TRY(cudnnDeriveBNTensorDescriptor(cc.bnd, cc.yd, CUDNN_BATCHNORM_SPATIAL));
  CUDNN_TRY(
      cudnnSetActivationDescriptor(cc.ad, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
}

}  // namespace

Case cudnn_chain_case(const Conv2dGeom& p, bool tf32, Arena& arena) {
  auto cc = cudnn_conv_descriptors(p, tf32);
  add_bn_relu_descriptors(*cc);

  const int64_t n = p.y_size();
  Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
      b = uniform(p.K, 4);
  Vec rm = uniform(p.K, 5), rv = uniform(p.K, 6, 0.5f, 2.f);
  auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
       drm = arena.dev(rm), drv = arena.dev(rv);
  auto dy = arena.dev<float>(n), dz = arena.dev<float>(n), da = arena.dev<float>(n),
       smean = arena.dev<float>(p.K), sinv = arena.dev<float>(p.K);

  const Algo fwd = find_algo(*cc, p, ConvPass::fprop, tf32);
  cc->algo = cudnnConvolutionFwdAlgo_t(fwd.algo), cc->ws_bytes = fwd.ws_bytes;
  CUDNN_TRY(cudnnSetConvolutionMathType(cc->cd, fwd.math));
  cc->ws = arena.dev<uint8_t>(int64_t(std::max<size_t>(cc->ws_bytes, 1)));
  return Case{[=] {
                const float one = 1.f, zero = 0.f;
                cudnnStatus_t s = cudnnConvolutionForward(
                    cc->h, &one, cc->xd, dx->get(), cc->wd, dw->get(), cc->cd, cc->algo,
                    cc->ws->get(), cc->ws_bytes, &zero, cc->yd, dy->get());
                if (s == CUDNN_STATUS_SUCCESS)
                  s = cudnnBatchNormalizationForwardTraining(
                      cc->h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, cc->yd, dy->get(), cc->yd,
                      dz->get(), cc->bnd, dg->get(), db->get(), 0.1, drm->get(), drv->get(), 1e-5,
                      smean->get(), sinv->get());
                if (s == CUDNN_STATUS_SUCCESS)
                  s = cudnnActivationForward(cc->h, cc->ad, &one, cc->yd, dz->get(), &zero, cc->yd,
                                             da->get());
                return s == CUDNN_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
              },
              [=](Check& c) {
                const Vec y = cpu_conv(p, x, w);
                const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
                Vec a;
                std::vector<uint64_t> bits;
                cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::ReLU, nullptr, nullptr, &a, &bits);
                c.close("y", dy->download(), y, kTolReduce);  // Winograd/FFT algorithms round
                c.close("a", da->download(), a, kTol);
              }};
}

// The chain's backward, from da = ∂L/∂a: cudnnActivationBackward (ReLU: dz) →
// cudnnBatchNormalizationBackward (dγ, dβ and dy from the batch statistics the forward saved) →
// cudnnConvolutionBackwardData (dx) and …BackwardFilter (dw), each the fastest algorithm of the
// math. With cudnn_chain_case, the layer's training step through cuDNN — what the fused forward
// plus conv_bn_mrelu_bwd compete with (issue 16's first target). The forward's tensors (y, z, a,
// μ, 1/σ) are the CPU's, uploaded.
Case cudnn_chain_bwd_case(const Conv2dGeom& p, bool tf32, Arena& arena) {
  auto cc = cudnn_conv_descriptors(p, tf32);
  add_bn_relu_descriptors(*cc);
  const Algo dgrad = find_algo(*cc, p, ConvPass::dgrad, tf32);
  const Algo wgrad = find_algo(*cc, p, ConvPass::wgrad, tf32);
  cc->ws_bytes = std::max(dgrad.ws_bytes, wgrad.ws_bytes);
  cc->ws = arena.dev<uint8_t>(int64_t(std::max<size_t>(cc->ws_bytes, 1)));

  const Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = uniform(p.K, 3),
            b = uniform(p.K, 4), da = uniform(p.y_size(), 5);
  const Vec y = cpu_conv(p, x, w);
  const BnRef r = cpu_bn(y, p.N, p.K, int64_t(p.P) * p.Q);
  Vec z, a;  // BN's output, and the ReLU's
  std::vector<uint64_t> no_bits, bits;
  cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::None, nullptr, nullptr, &z, &no_bits);
  cpu_bn_act(p, y, r.mean, r.invstd, g, b, Act::ReLU, nullptr, nullptr, &a, &bits);
  auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g), db = arena.dev(b),
       dda = arena.dev(da), dy = arena.dev(y), dz = arena.dev(z), dact = arena.dev(a),
       smean = arena.dev(r.mean), sinv = arena.dev(r.invstd);
  auto ddz = arena.dev<float>(p.y_size()), ddy = arena.dev<float>(p.y_size()),
       ddx = arena.dev<float>(p.x_size()), ddw = arena.dev<float>(p.w_size()),
       ddg = arena.dev<float>(p.K), ddb = arena.dev<float>(p.K);
  return Case{
      [=] {
        const float one = 1.f, zero = 0.f;
        cudnnStatus_t s =
            cudnnActivationBackward(cc->h, cc->ad, &one, cc->yd, dact->get(), cc->yd, dda->get(),
                                    cc->yd, dz->get(), &zero, cc->yd, ddz->get());
        if (s == CUDNN_STATUS_SUCCESS)
          s = cudnnBatchNormalizationBackward(cc->h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
                                              &zero, cc->yd, dy->get(), cc->yd, ddz->get(), cc->yd,
                                              ddy->get(), cc->bnd, dg->get(), ddg->get(),
                                              ddb->get(), 1e-5, smean->get(), sinv->get());
        if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionMathType(cc->cd, dgrad.math);
        if (s == CUDNN_STATUS_SUCCESS)
          s = cudnnConvolutionBackwardData(cc->h, &one, cc->wd, dw->get(), cc->yd, ddy->get(),
                                           cc->cd, cudnnConvolutionBwdDataAlgo_t(dgrad.algo),
                                           cc->ws->get(), cc->ws_bytes, &zero, cc->xd, ddx->get());
        if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionMathType(cc->cd, wgrad.math);
        if (s == CUDNN_STATUS_SUCCESS)
          s = cudnnConvolutionBackwardFilter(cc->h, &one, cc->xd, dx->get(), cc->yd, ddy->get(),
                                             cc->cd, cudnnConvolutionBwdFilterAlgo_t(wgrad.algo),
                                             cc->ws->get(), cc->ws_bytes, &zero, cc->wd,
                                             ddw->get());
        return s == CUDNN_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
      },
      [=](Check& c) {
        Vec rg, rb, rdy, rdx, rdw;
        cpu_bn_act_bwd(p, y, r, g, b, Act::ReLU, nullptr, bits, da, &rg, &rb, &rdy, nullptr);
        cpu_conv_bprop(p, x, w, rdy, &rdx, &rdw);
        c.close("dgamma", ddg->download(), rg, kTolReduce);
        c.close("dbeta", ddb->download(), rb, kTolReduce);
        c.close("dx", ddx->download(), rdx, kTolTf32);  // dy not integer: TF32, Winograd round
        c.close("dw", ddw->download(), rdw, kTolTf32);
      }};
}

// One cuDNN convolution pass alone — fprop (cudnnConvolutionForward), dgrad (…BackwardData) or
// wgrad (…BackwardFilter) — with FMA math (FP32) or tensor-op math (TF32 allowed), the algorithm
// the fastest that cudnnFind… reports for that math. The baselines of issue 16's targets.
Case cudnn_conv_case(const Conv2dGeom& p, ConvPass pass, bool tf32, Arena& arena) {
  auto cc = cudnn_conv_descriptors(p, tf32);  // BN and activation descriptors unused
  Vec x = small_ints(p.x_size(), 1), w = small_ints(p.w_size(), 2), g = small_ints(p.y_size(), 3);
  auto dx = arena.dev(x), dw = arena.dev(w), dg = arena.dev(g);
  auto out = arena.dev<float>(pass == ConvPass::fprop   ? p.y_size()
                              : pass == ConvPass::dgrad ? p.x_size()
                                                        : p.w_size());
  const Algo found = find_algo(*cc, p, pass, tf32);
  CUDNN_TRY(cudnnSetConvolutionMathType(cc->cd, found.math));
  const int algo = found.algo;
  cc->ws_bytes = found.ws_bytes;
  cc->ws = arena.dev<uint8_t>(int64_t(std::max<size_t>(cc->ws_bytes, 1)));
  return Case{
      [=] {
        const float one = 1.f, zero = 0.f;
        cudnnStatus_t s;
        if (pass == ConvPass::fprop)
          s = cudnnConvolutionForward(cc->h, &one, cc->xd, dx->get(), cc->wd, dw->get(), cc->cd,
                                      cudnnConvolutionFwdAlgo_t(algo), cc->ws->get(), cc->ws_bytes,
                                      &zero, cc->yd, out->get());
        else if (pass == ConvPass::dgrad)
          s = cudnnConvolutionBackwardData(cc->h, &one, cc->wd, dw->get(), cc->yd, dg->get(),
                                           cc->cd, cudnnConvolutionBwdDataAlgo_t(algo),
                                           cc->ws->get(), cc->ws_bytes, &zero, cc->xd, out->get());
        else
          s = cudnnConvolutionBackwardFilter(cc->h, &one, cc->xd, dx->get(), cc->yd, dg->get(),
                                             cc->cd, cudnnConvolutionBwdFilterAlgo_t(algo),
                                             cc->ws->get(), cc->ws_bytes, &zero, cc->wd,
                                             out->get());
        return s == CUDNN_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
      },
      [=](Check& c) {
        Vec ref;
        if (pass == ConvPass::fprop)
          ref = cpu_conv(p, x, w);
        else if (pass == ConvPass::dgrad)
          cpu_conv_bprop(p, x, w, g, &ref, nullptr);
        else
          cpu_conv_bprop(p, x, w, g, nullptr, &ref);
        c.close("out", out->download(), ref, kTolReduce);  // Winograd/FFT round
      }};
}

}  // namespace senet::cases
#endif
