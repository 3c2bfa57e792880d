// tools/bench/bench_train_step.cpp — images per second of one training step, exactly as
// `senet train` runs it (forward, softmax cross-entropy, zero_grad, backward, the finite check,
// SGD Nesterov, loss.item() and count_correct), on one fixed synthetic batch.
// Not a test: the peer comparison with PyTorch (tools/bench/vs_pytorch.py) runs this binary and
// tools/bench/torch_step.py on the same model layout, batch and thread count.
//   bench_train_step --arch resnet18 --width 0.25 --in-channels 1 --classes 10 --batch 128
//                    [--image 32] [--wrn-depth 16 --wrn-k 4] [--threads 2] [--steps 10]
//                    [--warmup 3] [--seconds S]   (--help: all options, typed and checked)
//                    [--device cuda [--allow-tf32 [--tf32-wgmma]] [--graph] [--fold-bn]]
//                    [--stage distill [--relu-fraction 0.03]]
// --device cuda: this binary runs the CUDA emulation (kernels/emu/: a check of the CUDA paths, its
// times mean nothing), bench_train_step_gpu (tools/bench/gpu/, the same source) the nvcc-built
// kernels; the step's parts are then not separated (kernels run asynchronously; loss.item() ends
// each step).
// --graph records forward, loss, zero_grad, backward and the SGD step once as a CUDA graph
// (engine/cuda/graph.h; SGD reads η from device memory, as `senet train` records its step:
// senet/epoch_loop.h) — the first step runs eagerly, the second records — and replays it each
// step; the finite check, loss.item() and count_correct stay eager ("forward_ms" is then the
// replay's launch, "backward_ms" 0, and the finite check reads the gradients after the update,
// which leaves them as they are). Against the same command without --graph, the difference is the
// launch overhead of the recorded part. The cross-entropy checks the labels on the host in both
// modes, as `senet train` does and a recording requires (since 2026-12-06: CUDA figures from
// before had the loss check them on the device, with a read-back per step).
// --stage distill times SENet's stage-2/3 step instead (senet/distill.h), as `senet pipeline` runs
// it: the frozen teacher's forward (eval mode, no grad), the student's forward with random masks
// keeping --relu-fraction of every counted site's ReLUs, CE + KD + PRAM at the stage ends
// (distill_loss, the stage's default weights), the student's backward and SGD; "forward_ms" then
// holds both forwards and the loss.
// Prints one JSON line: {"impl": "senet", "images_per_second": median over the timed steps,
// "forward_ms" / "backward_ms" / "check_and_update_ms" (medians of the step's parts: forward + loss,
// zero_grad + backward, finite check + SGD + loss.item + count_correct), "step_ms": [...],
// "peak_rss_mib": VmHWM at exit, ...}. --seconds S times steps until S
// seconds have passed (at least --steps).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/autograd.h"
#include "engine/core/parallel.h"
#include "engine/core/rng.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/cuda/graph.h"
#include "engine/ops/count_correct.h"
#include "engine/ops/cross_entropy.h"
#include "engine/optim/sgd.h"
#include "models/model.h"
#include "senet/distill.h"
#include "senet/masks.h"
#include "senet/trainer.h"
#include "tools/cli11_helpers.h"

using namespace senet;

int main(int argc, char** argv) {
  models::ModelConfig mc;
  mc.arch = models::Arch::ResNet18;
  int batch = 128, threads = 2, steps = 10, warmup = 3;
  double seconds = 0;
  std::string device = "cpu";
  bool allow_tf32 = false;
  CLI::App app{
      "Images per second of one training step, as `senet train` runs it, on one fixed "
      "synthetic batch; prints one JSON line",
      "bench_train_step"};
  std::string arch = "resnet18";
  app.add_option("--arch", arch, "the model")
      ->type_name("ARCH")
      ->check(CLI::IsMember(std::vector<std::string>{"resnet18", "resnet34", "wrn"}))
      ->capture_default_str();
  app.add_option("--width", mc.width, "channel width multiplier")
      ->type_name("X")
      ->check(cli::number_at_least(0, /*strict=*/true))
      ->capture_default_str();
  app.add_option("--wrn-depth", mc.wrn_depth, "WRN depth")
      ->type_name("D")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--wrn-k", mc.wrn_k, "WRN widening factor")
      ->type_name("K")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--in-channels", mc.in_channels, "input channels")
      ->type_name("C")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--image", mc.image_size, "input height and width")
      ->type_name("S")
      ->transform(cli::integer_at_least(8))
      ->capture_default_str();
  app.add_option("--classes", mc.num_classes, "classes")
      ->type_name("N")
      ->transform(cli::integer_at_least(2))
      ->capture_default_str();
  app.add_option("--batch", batch, "images per step")
      ->type_name("B")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--threads", threads, "threads")
      ->type_name("T")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--steps", steps, "timed steps (at least)")
      ->type_name("N")
      ->transform(cli::integer_at_least(1))
      ->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")
      ->type_name("N")
      ->transform(cli::integer_at_least(0))
      ->capture_default_str();
  app.add_option("--seconds", seconds, "time steps until S seconds have passed (0: just --steps)")
      ->type_name("S")
      ->check(cli::number_at_least(0, /*strict=*/false))
      ->capture_default_str();
  app.add_option("--device", device,
                 "cpu, or cuda (emulated in bench_train_step, the GPU in bench_train_step_gpu)")
      ->type_name("DEVICE")
      ->check(CLI::IsMember(std::vector<std::string>{"cpu", "cuda"}))
      ->capture_default_str();
  app.add_flag("--allow-tf32", allow_tf32, "CUDA convolutions on TF32 tensor cores");
  bool tf32_wgmma = false;
  app.add_flag("--tf32-wgmma", tf32_wgmma,
               "CUDA, with --allow-tf32: the TF32 convolutions on Hopper's warpgroup MMA where it "
               "runs (engine/cuda/cuda_ops.h set_cuda_tf32_wgmma)")
      ->needs("--allow-tf32");
  bool graph = false;
  app.add_flag("--graph", graph,
               "CUDA: replay forward, loss, zero_grad, backward and SGD as one CUDA graph (needs "
               "--warmup 2 or more: one eager step, one recording)");
  bool fold_bn = false;
  app.add_flag("--fold-bn", fold_bn,
               "CUDA: fold the BN backward into dgrad/wgrad where it can (no dy tensor; "
               "kernels/conv_dy_bn.h)");
  std::string stage = "train";
  app.add_option("--stage", stage,
                 "train: the supervised step; distill: SENet's stage-2/3 step (teacher forward, "
                 "masked student, CE + KD + PRAM)")
      ->type_name("STAGE")
      ->check(CLI::IsMember(std::vector<std::string>{"train", "distill"}))
      ->capture_default_str();
  double relu_fraction = 0.03;
  app.add_option("--relu-fraction", relu_fraction,
                 "distill: the fraction of each counted site's ReLUs the student's masks keep")
      ->type_name("F")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cli::parse_or_exit(app, argc, argv);
  if (graph && (device != "cuda" || warmup < 2)) {
    std::fprintf(stderr, "bench_train_step: --graph needs --device cuda and --warmup >= 2\n");
    return 2;
  }
  try {
    mc.arch = *enum_from_name<models::Arch>(arch);  // one of the names checked above
    set_num_threads(threads);
    const Device dev = device == "cuda" ? Device::CUDA : Device::CPU;
    if (dev == Device::CUDA) {
      set_cuda_initializer([] { cuda::init(); });
      try {
        if (!init_cuda_backend()) {
          std::fprintf(stderr, "bench_train_step: --device cuda: no CUDA backend registered\n");
          return 2;
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_train_step: --device cuda: %s\n", e.what());
        return 77;  // no device: a skip for the GPU-day script
      }
      set_cuda_allow_tf32(allow_tf32);
      set_cuda_fold_bn_backward(fold_bn);
      set_cuda_tf32_wgmma(tf32_wgmma);
    }
    mc.seed = 1;
    auto model = models::make_model(mc);
    model->train();
    // --stage distill: a frozen teacher (another initialisation), the student's random masks, PRAM
    // at the stage ends; both models keep their post-ReLU activations for PRAM.
    const bool distill = stage == "distill";
    std::shared_ptr<models::Model> teacher;
    DistillConfig dc;
    if (distill) {
      models::ModelConfig tc = mc;
      tc.seed = 2;
      teacher = models::make_model(tc);
      teacher->eval();
      teacher->set_capture(true);
      teacher->to(dev);
      std::vector<int64_t> counts;
      for (auto* site : model->counted_sites())
        counts.push_back(std::max<int64_t>(1, std::llround(relu_fraction * double(site->size()))));
      set_random_masks(*model, counts, Granularity::Pixel, 3);
      model->set_capture(true);
      dc.pram_sites = stage_end_sites(*model);
    }
    model->to(dev);

    // One fixed batch: N(0, 1) pixels (the normalised data's scale) and uniform labels.
    const int64_t n = batch, pix = int64_t(mc.in_channels) * mc.image_size * mc.image_size;
    std::vector<float> xv(size_t(n * pix));
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = rand_normal(11, 0, i);
    std::vector<int32_t> yv(static_cast<size_t>(n));
    for (size_t i = 0; i < yv.size(); ++i)
      yv[i] = int32_t(rand_below(12, 0, i, uint32_t(mc.num_classes)));
    Tensor x = Tensor::from_vector(xv, {n, mc.in_channels, mc.image_size, mc.image_size}).to(dev);
    Tensor y = Tensor::from_vector_i32(yv, {n}).to(dev);

    std::vector<ParamRef> params;
    for (auto& [name, t] : model->named_parameters()) params.push_back({name, t});
    SGD opt(params, 0.01f, 0.9f, 5e-4f, /*nesterov=*/true);

    using Clock = std::chrono::steady_clock;
    std::vector<double> ms, fwd_ms, bwd_ms, opt_ms;  // the step, and its forward / backward / rest
    float last_loss = 0;
    int64_t correct = 0;
    Tensor logits, loss;
    // The recorded part of a step; `forward_done` (eager steps) marks where the backward starts.
    auto forward_backward = [&](Clock::time_point* forward_done) {
      if (distill) {
        const Tensor zt = teacher_logits(*teacher, x);
        logits = model->forward(x);
        loss = distill_loss(*teacher, *model, logits, zt, y, &yv, dc).first;
      } else {
        logits = model->forward(x);
        loss = softmax_cross_entropy(logits, y, &yv);
      }
      if (forward_done) *forward_done = Clock::now();
      model->zero_grad();
      loss.backward();
    };
    std::unique_ptr<cuda::Graph> recorded;  // --graph: made at step 2, replayed from then on
    auto t_start = Clock::now();
    for (int s = 0;; ++s) {
      const bool timed = s >= warmup;
      if (timed && int(ms.size()) >= steps &&
          std::chrono::duration<double>(Clock::now() - t_start).count() >= seconds)
        break;
      if (s == warmup) t_start = Clock::now();
      auto t0 = Clock::now(), t1 = t0;
      if (!graph || s == 0) {
        forward_backward(&t1);
      } else {
        opt.use_device_scalars(true);
        opt.stage_device_scalars();  // η of this step, uploaded before the replay reads it
        if (!recorded) {
          recorded = std::make_unique<cuda::Graph>("train step", [&] {
            forward_backward(nullptr);
            opt.step();
          });
        } else {
          opt.replayed_step();
        }
        recorded->replay();
        t1 = Clock::now();
      }
      auto t2 = Clock::now();
      check_finite(loss, *model, "step " + std::to_string(s + 1));
      if (!graph || s == 0) opt.step();
      last_loss = loss.item();
      correct += count_correct(logits.detach(), y);
      auto t3 = Clock::now();
      auto ms_of = [](auto a, auto b) {
        return std::chrono::duration<double, std::milli>(b - a).count();
      };
      if (timed) {
        ms.push_back(ms_of(t0, t3));
        fwd_ms.push_back(ms_of(t0, t1));
        bwd_ms.push_back(ms_of(t1, t2));
        opt_ms.push_back(ms_of(t2, t3));
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const double med = sorted[sorted.size() / 2];
    // Peak RSS: VmHWM of this process image (getrusage's ru_maxrss would also count the parent's
    // memory at fork: a Python driver with PyTorch imported reads as ≈ 500 MiB).
    double peak_mib = 0;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmHWM:", 6) == 0) peak_mib = std::atof(line + 6) / 1024.0;
      std::fclose(f);
    }
    std::printf(
        "{\"impl\": \"senet%s\", \"stage\": \"%s\", \"relu_fraction\": %g, \"arch\": \"%s\", "
        "\"width\": %g, \"batch\": "
        "%d, "
        "\"threads\": %d, "
        "\"images_per_second\": %.2f, \"median_step_ms\": %.3f, \"min_step_ms\": %.3f, "
        "\"forward_ms\": %.3f, \"backward_ms\": %.3f, \"check_and_update_ms\": %.3f, "
        "\"steps\": %zu, \"peak_rss_mib\": %.1f, \"last_loss\": %.5f, \"step_ms\": [",
        dev == Device::CUDA
            ? (std::string(allow_tf32 ? (tf32_wgmma ? "-cuda-tf32-wgmma" : "-cuda-tf32")
                                      : "-cuda-fp32") +
               (graph ? "-graph" : "") + (fold_bn ? "-foldbn" : ""))
                  .c_str()
            : "",
        stage.c_str(), distill ? relu_fraction : 1.0, arch.c_str(), double(mc.width), batch,
        threads, 1000.0 * double(batch) / med, med, sorted.front(), median(fwd_ms), median(bwd_ms),
        median(opt_ms), ms.size(), peak_mib, double(last_loss));
    for (size_t i = 0; i < ms.size(); ++i) std::printf("%s%.3f", i ? ", " : "", ms[i]);
    std::printf("]}\n");
    (void)correct;
    return 0;
  } catch (const std::exception& e) {  // a bad shape, a failed allocation: a message, no abort
    std::fprintf(stderr, "bench_train_step: %s\n", e.what());
    return 1;
  }
}
