// tools/bench/bench_kernels.cu — every kernel and version of kernels/registry.h over every conv of
// ResNet-18 and WRN-22-8 (tools/bench/layer_shapes.h): CHECK each against the engine's CPU backend
// (engine/cpu, the oracle), THEN time it. Every case — inputs, launch, CPU check — lives in the
// kernel-case library tools/bench/cases/: the registry entries' (cases.h), which test_kernel_registry
// runs too, and the conv layers' baselines (baselines.h); this file is the device probe, the
// timing, the rows and the report. One binary, built twice from this file:
//   bench_kernels_emu  g++ against senet_kernel_cases_emu (CPU emulation): no GPU, checks only
//   bench_kernels      nvcc against senet_kernel_cases_gpu (+ cuBLAS, cuDNN when found): checks,
//                      then cudaEvent timings on the device; checks only when the device count is 0
// Timing: per row, 3 warm-up launches, then --reps timed launches, each bracketed by its own pair of
// events, with the L2 cache flushed (a memset of 2× its size) before each (cold-L2 timings: the
// benchmark never silently stays in L2). Reported: median, min, max, noise (relative std. dev.),
// GFLOP/s and GB/s (1e9 bytes, the registry's compulsory-traffic model) at the median, arithmetic
// intensity (FLOP/byte) and % of roofline = max(flops/peak_flops, bytes/peak_bw) / median time.
// Peaks, read off the device (cudaDeviceGetAttribute; the clock is the maximum boost clock):
//   fp32  = SM count × clock × FP32 lanes per SM (64 on sm_70/sm_80, 128 on sm_86+ and sm_90) × 2
//   bw    = 2 (double data rate) × memory clock × bus width / 8     (as CUDA's bandwidthTest)
// Baseline rows (conv layers; bench-only, no registry entries; cuBLAS SGEMM at the conv's
// implicit-GEMM size is the registry entry gemm/cublas): the unfused chain conv2d_fprop v5 →
// bn_stats → bn_finalize → scale_shift_mrelu next to the fused conv_bn_mrelu_fwd_train, and
// through cuDNN (nvcc build with cuDNN only; else an n/a row) conv + BN (training) + ReLU and each
// conv pass alone, with FMA math (FP32) and tensor-op math (TF32, PyTorch's default).
// Checks: as the cases' (tools/bench/cases/kernel_case.h): conv outputs bitwise on integer inputs,
// other outputs within the tolerance each case names.
//   bench_kernels[_emu] [--n N] [--reps N] [--csv PATH [--resume]] [--row-timeout S] [--check-only]
//                       [--small] [--filter SUBSTR]
// A kernel that crashes the process, hangs (--row-timeout S: SIGALRM ends a row after S seconds)
// or loses the CUDA context costs only its own row: --resume goes on after it
// (tools/bench/bench_resume.h).
// Exit status: 0, or 1 when any check FAILs (2: bad arguments; 3: the CUDA context was lost — a
// sticky error — after the CSV was written: run again with --resume).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/registry.h"
#include "tools/bench/bench_resume.h"
#include "tools/bench/cases/baselines.h"
#include "tools/bench/cases/cases.h"
#include "tools/bench/cases/kernel_case.h"
#include "tools/bench/layer_shapes.h"

using namespace senet;
using namespace senet::cases;
using senet::bench::layer_shape;

namespace {

// ---------------------------------------------------------------------------------------------
// Device, timing, rows, output

struct Device {
  bool gpu = false;        // timings possible
  std::string header;      // the nvbench-style device line(s)
  double peak_gflops = 0;  // fp32
  double peak_gbs = 0;     // DRAM, 1e9 bytes/s
  size_t l2_bytes = 0;
};

Device probe_device(std::string* why_not) {
  Device d;
#if SENET_BENCH_REAL_CUDA
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    *why_not = std::string("nvcc build, no CUDA device (") +
               (e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount = 0") + ")";
    return d;
  }
  int dev_id = 0;
  CUDA_TRY(cudaGetDevice(&dev_id));
  cudaDeviceProp prop;
  CUDA_TRY(cudaGetDeviceProperties(&prop, dev_id));
  int clock_khz = 0, mem_khz = 0, bus_bits = 0, l2 = 0, rt = 0, drv = 0;
  CUDA_TRY(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev_id));
  CUDA_TRY(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev_id));
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  // FP32 lanes per SM: 64 on sm_70, sm_75 and sm_80; 128 on sm_86, sm_89, sm_90 and later.
  const int lanes = (prop.major == 8 && prop.minor == 0) || prop.major < 8 ? 64 : 128;
  d.gpu = true;
  d.peak_gflops = double(prop.multiProcessorCount) * clock_khz * 1e3 * lanes * 2 / 1e9;
  d.peak_gbs = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  d.l2_bytes = size_t(l2);
  char b[1024];
  std::snprintf(b, sizeof b,
                "# Device %d: %s  (sm_%d%d, %d SMs, %.0f MHz max clock, memory %.0f MHz × %d-bit, "
                "L2 %.0f MiB, "
                "%.1f GiB)\n# CUDA runtime %d.%d, driver %d.%d\n"
                "# peaks: fp32 %.1f GFLOP/s = %d SMs × %.3f GHz × %d FP32 lanes × 2 (FMA);  DRAM "
                "%.1f GB/s = 2 × "
                "%.3f GHz × %d bit / 8",
                dev_id, prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                clock_khz / 1e3, mem_khz / 1e3, bus_bits, l2 / 1048576.0,
                prop.totalGlobalMem / 1073741824.0, rt / 1000, (rt % 1000) / 10, drv / 1000,
                (drv % 1000) / 10, d.peak_gflops, prop.multiProcessorCount, clock_khz / 1e6, lanes,
                d.peak_gbs, mem_khz / 1e6, bus_bits);
  d.header = b;
#else
  *why_not = "emulated build (kernels run on the CPU through kernels/emu)";
#endif
  return d;
}

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0, noise = 0;  // noise: relative standard deviation
};

// 3 warm-up launches, then `reps` launches each between its own events, L2 flushed before each.
Timing time_case(const Case& c, int reps, const Device& d) {
  for (int i = 0; i < 3; ++i) CUDA_TRY(c.launch());
  CUDA_TRY(cudaDeviceSynchronize());
  DevP<uint8_t> flush = d.l2_bytes ? std::make_shared<Dev<uint8_t>>(2 * d.l2_bytes) : nullptr;
  cudaEvent_t e0, e1;
  CUDA_TRY(cudaEventCreate(&e0));
  CUDA_TRY(cudaEventCreate(&e1));
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    if (flush) CUDA_TRY(cudaMemsetAsync(flush->get(), i & 1, flush->size(), nullptr));
    CUDA_TRY(cudaEventRecord(e0, nullptr));
    CUDA_TRY(c.launch());
    CUDA_TRY(cudaEventRecord(e1, nullptr));
    CUDA_TRY(cudaEventSynchronize(e1));
    float t = 0;
    CUDA_TRY(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  Timing t;
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
  double var = 0;
  for (double v : ms) var += (v - mean) * (v - mean);
  std::sort(ms.begin(), ms.end());
  t.median_ms = ms[ms.size() / 2], t.min_ms = ms.front(), t.max_ms = ms.back();
  t.noise = mean > 0 ? std::sqrt(var / double(ms.size())) / mean : 0;
  return t;
}

struct Row {
  std::string layer, family, name, version, status, detail;  // status: PASS | FAIL | n/a
  int N = 0;
  double err = 0, flops = 0, bytes = 0;
  bool timed = false;
  Timing t;
};

struct Options {
  int n = -1, reps = 20, row_timeout = 0;
  std::string csv, filter;
  bool check_only = false, small = false, resume = false;
};

bool matches(const Options& o, const std::string& a, const std::string& b) {
  return o.filter.empty() || a.find(o.filter) != std::string::npos ||
         b.find(o.filter) != std::string::npos;
}

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--n" && has)
      o.n = std::max(1, std::atoi(argv[++i]));
    else if (a == "--reps" && has)
      o.reps = std::max(10, std::atoi(argv[++i]));
    else if (a == "--csv" && has)
      o.csv = argv[++i];
    else if (a == "--filter" && has)
      o.filter = argv[++i];
    else if (a == "--resume")
      o.resume = true;
    else if (a == "--row-timeout" && has)
      o.row_timeout = std::max(1, std::atoi(argv[++i]));
    else if (a == "--check-only")
      o.check_only = true;
    else if (a == "--small")
      o.small = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--n N] [--reps N (>= 10)] [--csv PATH [--resume]] [--row-timeout S] "
                   "[--check-only] [--small] [--filter SUBSTR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (o.resume && o.csv.empty()) {
    std::fprintf(stderr, "%s: --resume needs --csv PATH (the rows of the run it goes on from)\n",
                 argv[0]);
    return 2;
  }
  // An earlier run's rows (--resume), or a fresh start (an old marker would be misread later).
  const bench::Resume resume = o.resume ? bench::read_resume(o.csv) : bench::Resume{};
  if (!o.resume) bench::clear_running(o.csv);
  if (resume.died)
    std::printf("# --resume: %zu rows kept; the last run stopped on %s %s (%s): FAIL, not rerun\n",
                resume.done.size(), resume.died_on.kernel.c_str(), resume.died_on.version.c_str(),
                resume.died_on.layer.c_str());
  // Test hook (tests/tools/test_bench_resume.cpp): SENET_BENCH_FAULT = "kill:SUBSTR|hang:SUBSTR|…"
  // makes every row whose "family kernel version layer" contains a SUBSTR die (SIGKILL) or hang,
  // as a kernel that crashes the process or never ends would.
  std::vector<std::pair<bool, std::string>> faults;  // (kill, substring)
  for (std::string f = std::getenv("SENET_BENCH_FAULT") ? std::getenv("SENET_BENCH_FAULT") : "";
       !f.empty();) {
    const size_t bar = f.find('|');
    const std::string one = f.substr(0, bar);
    if (one.rfind("kill:", 0) == 0 || one.rfind("hang:", 0) == 0)
      faults.emplace_back(one[0] == 'k', one.substr(5));
    f = bar == std::string::npos ? "" : f.substr(bar + 1);
  }

  std::string why_not;
  Device d;
  try {
    d = probe_device(&why_not);
  } catch (const std::exception& e) {
    why_not = e.what();
  }
  size_t nreg = 0;
  const kernel_entry* reg = kernel_registry(&nreg);
  if (o.n < 0) o.n = d.gpu && !o.small ? 32 : 2;
  const bool timing = d.gpu && !o.check_only;
  const std::vector<layer_shape> shapes =
      o.small ? bench::small_layer_shapes() : bench::model_layer_shapes();

  std::printf(
      "# bench_kernels — %zu registry entries (kernels/registry.h) × %zu layer shapes (%s) at N = "
      "%d\n",
      nreg, shapes.size(),
      o.small ? "--small: channels ÷8, spatial ÷4" : "ResNet-18 and WRN-22-8, 32×32", o.n);
  if (!d.gpu) {
    std::printf("# NO GPU: %s — %s\n", why_not.c_str(),
                SENET_BENCH_REAL_CUDA
                    ? "nothing can launch here; bench_kernels_emu runs the checks"
                    : "checks only (each kernel against the CPU backend), no timings");
  } else {
    std::printf("%s\n", d.header.c_str());
    if (timing)
      std::printf(
          "# timing: %d reps after 3 warm-ups, cudaEvent per rep, L2 flushed before each (cold "
          "L2); "
          "median, min, max, noise = rel. std. dev.\n",
          o.reps);
    else
      std::printf("# --check-only: no timings\n");
  }
#if SENET_BENCH_REAL_CUDA
  if (!d.gpu) {
    // No device: nothing can launch. List what would run; bench_kernels_emu checks every kernel.
    std::printf(
        "\n| # | family | kernel | version | domain | check |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nreg; ++i)
      std::printf("| %zu | %s | %s | %s | %s | SKIP (no device) |\n", i + 1, reg[i].family,
                  reg[i].name, reg[i].version, kernel_domain_name(reg[i].domain));
    std::printf(
        "\n# summary: %zu kernels/versions listed, none run (no CUDA device); run "
        "bench_kernels_emu "
        "--check-only for the checks\n",
        nreg);
    return 0;
  }
#endif

  std::vector<Row> rows;
  bool context_lost = false;
  // Check, then (with a GPU) time one case; fills row.status/err/detail/t.
  auto run = [&](Row& row, const std::function<Case(Arena&)>& make) {
    Arena arena;  // outlives c (declared first)
    try {
      const Case c = make(arena);
      CUDA_TRY(c.launch());
      CUDA_TRY(cudaDeviceSynchronize());
      Check chk;
      c.check(chk);
      row.status = chk.ok ? "PASS" : "FAIL", row.err = chk.worst, row.detail = chk.detail;
      if (chk.ok && timing) {
        row.t = time_case(c, o.reps, d);
        row.timed = true;
      }
    } catch (const std::exception& e) {
      row.status = "FAIL", row.detail = e.what();
      cudaGetLastError();  // clear a launch error so the next row starts clean
      // A sticky error (illegal address or instruction, …) survives that: every later call fails.
      if (cudaDeviceSynchronize() != cudaSuccess) {
        row.detail +=
            std::string(" — ") + bench::kContextLost + " (sticky error): later rows need --resume";
        context_lost = true;
      }
    }
  };
  // A row an earlier run has (--resume): skipped.
  auto done_before = [&](const Row& row) {
    return resume.done.count(bench::RowKey{row.layer, row.family, row.name, row.version}.id()) > 0;
  };
  // One row: FAIL when the earlier run died on it (--resume), else named in the marker and run
  // under --row-timeout.
  auto run_row = [&](Row& row, const std::function<Case(Arena&)>& make) {
    const bench::RowKey key{row.layer, row.family, row.name, row.version};
    if (resume.died && key.id() == resume.died_on.id()) {
      row.status = "FAIL";
      row.detail = std::string(bench::kStoppedHere) +
                   " (a crash, a hang cut by a time box, a lost CUDA context): not rerun";
      return;
    }
    if (resume.given_up(key)) {
      row.status = "FAIL";
      row.detail =
          "not run: " +
          (resume.given_up_version(key) ? "this version" : "a " + key.domain() + " version") +
          " died or lost the CUDA context on " + std::to_string(bench::kMaxDeaths) + " rows before";
      return;
    }
    bench::mark_running(o.csv, key);
    std::fflush(stdout);                                    // what the row's death would lose
    if (o.row_timeout > 0) alarm(unsigned(o.row_timeout));  // SIGALRM's default: end the process
    const std::string what = row.family + " " + row.name + " " + row.version + " " + row.layer;
    for (const auto& [kill, substr] : faults) {
      if (what.find(substr) == std::string::npos) continue;
      if (kill) raise(SIGKILL);
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // hang: until the alarm
    }
    run(row, make);
    alarm(0);
  };
  auto derived = [&](const Row& r, double* gflops, double* gbs, double* ai, double* roof) {
    const double s = r.t.median_ms * 1e-3;
    *gflops = r.flops / s / 1e9, *gbs = r.bytes / s / 1e9,
    *ai = r.bytes > 0 ? r.flops / r.bytes : 0;
    const double t_roof = std::max(r.flops / (d.peak_gflops * 1e9), r.bytes / (d.peak_gbs * 1e9));
    *roof = 100.0 * t_roof / s;
  };
  // The CSV gets each row as it is done — one write(2) of the whole line, appended (after the
  // header, or after an earlier run's rows with --resume) — so a run killed at any point keeps
  // every finished row and no half line, and a resumed run never meets a row twice.
  int csv_fd = -1;
  if (!o.csv.empty()) {
    csv_fd = open(o.csv.c_str(), O_WRONLY | O_CREAT | (o.resume ? O_APPEND : O_TRUNC), 0644);
    struct stat st {};
    const bool empty = csv_fd >= 0 && fstat(csv_fd, &st) == 0 && st.st_size == 0;
    const std::string header =
        "layer,N,family,kernel,version,check,max_err,detail,flops,bytes,median_us,min_us,max_us,"
        "noise,gflops,gbs,flop_per_byte,pct_roofline,device,peak_gflops,peak_gbs\n";
    if (csv_fd < 0 || (empty && write(csv_fd, header.data(), header.size()) < 0)) {
      std::fprintf(stderr, "cannot write %s\n", o.csv.c_str());
      return 2;
    }
  }
  auto add_row = [&](const Row& r) {
    rows.push_back(r);
    if (csv_fd < 0) return;
    char num[256];  // the numeric fields, bounded; the strings go in whole
    std::snprintf(num, sizeof num, ",%.3e,", r.err);
    std::string detail = r.detail;  // one physical line a row (an exception's text may have more)
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    std::replace(detail.begin(), detail.end(), '\r', ' ');
    std::string line = csv_quote(r.layer) + "," + std::to_string(r.N) + "," + r.family + "," +
                       r.name + "," + csv_quote(r.version) + "," + r.status + num +
                       csv_quote(detail);
    std::snprintf(num, sizeof num, ",%.6e,%.6e", r.flops, r.bytes);
    line += num;
    if (r.timed) {
      double gf, gb, ai, rf;
      derived(r, &gf, &gb, &ai, &rf);
      std::snprintf(num, sizeof num, ",%.3f,%.3f,%.3f,%.4f,%.2f,%.2f,%.3f,%.2f",
                    r.t.median_ms * 1e3, r.t.min_ms * 1e3, r.t.max_ms * 1e3, r.t.noise, gf, gb, ai,
                    rf);
      line += num;
    } else {
      line += ",,,,,,,,";
    }
    std::snprintf(num, sizeof num, ",%.1f,%.1f\n", d.peak_gflops, d.peak_gbs);
    line += "," + csv_quote(d.gpu ? "gpu" : why_not) + num;
    // A short write (a full disk) would leave half a line for the next row to join: take it back
    // and stop, naming why.
    const off_t before = lseek(csv_fd, 0, SEEK_END);
    if (write(csv_fd, line.data(), line.size()) != ssize_t(line.size())) {
      if (before >= 0 && ftruncate(csv_fd, before) != 0) std::perror("ftruncate");
      std::fprintf(stderr, "bench_kernels: cannot append a row to %s (disk full?): stopped\n",
                   o.csv.c_str());
      std::exit(2);
    }
  };
  // Any registry entry without a case is itself a failure (the bench must cover every kernel).
  for (size_t i = 0; i < nreg; ++i)
    if (!kernel_case(reg[i])) {
      Row r;
      r.layer = "-", r.family = reg[i].family, r.name = reg[i].name, r.version = reg[i].version;
      r.status = "FAIL", r.detail = "no case in tools/bench/cases/";
      if (!done_before(r)) add_row(r);
    }

  for (const layer_shape& s : shapes) {
    const Conv2dGeom p = s.params(o.n);
    const std::string label = s.label();
    for (size_t i = 0; i < nreg; ++i) {
      const kernel_entry& e = reg[i];
      if ((e.domain == kernel_domain::head) != s.fc()) continue;
      const std::string key = std::string(e.family) + " " + e.name + " " + e.version;
      if (!matches(o, key, label)) continue;
      const Hook* hook = kernel_case(e);
      if (!hook) continue;  // reported above
      Row r;
      r.layer = label, r.N = o.n, r.family = e.family, r.name = e.name, r.version = e.version;
      r.flops = e.flops(p), r.bytes = e.bytes(p);
      if (done_before(r)) continue;
      if (e.gpu_only && !SENET_BENCH_REAL_CUDA)
        r.status = "n/a", r.detail = "nvcc build only (cuBLAS)";
      else
        run_row(r, [&](Arena& arena) { return (*hook)(p, arena); });
      if (e.splits && r.detail.empty()) r.detail = "splits=" + std::to_string(e.splits(p));
      add_row(r);
      if (context_lost) break;
    }
    // Baselines next to the fused kernel (tools/bench/cases/baselines.h), in their row order.
    for (const Baseline& b : conv_baselines()) {
      if (s.fc() || context_lost) break;
      if (!matches(o, b.match, label)) continue;
      Row r;
      r.layer = label, r.N = o.n, r.family = "baseline", r.name = b.name, r.version = b.version;
      r.flops = b.flops(p), r.bytes = b.bytes(p);
      if (done_before(r)) continue;
      if (!b.hook)
        r.status = "n/a", r.detail = b.unavailable;
      else
        run_row(r, [&](Arena& arena) { return b.hook(p, arena); });
      add_row(r);
      if (context_lost) break;
    }
    if (context_lost) {
      bench::clear_running(o.csv);  // its row is in the CSV, as FAIL
      std::fprintf(stderr, "bench_kernels: the CUDA context is lost at %s %s (%s); %s\n",
                   rows.back().name.c_str(), rows.back().version.c_str(), rows.back().layer.c_str(),
                   o.csv.empty() ? "the rows after it did not run"
                                 : "run again with --resume to go on after it");
      return 3;
    }
  }

  // --- output: markdown table (stdout), CSV (--csv)
  int pass = 0, fail = 0, na = 0;
  for (const Row& r : rows) (r.status == "PASS" ? pass : r.status == "FAIL" ? fail : na)++;
  if (timing) {
    std::printf(
        "\n| layer | N | kernel | version | check | max err | median µs | min µs | max µs | noise "
        "| GFLOP/s | "
        "GB/s | FLOP/B | %% roofline "
        "|\n|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Row& r : rows) {
      if (!r.timed) {
        std::printf("| %s | %d | %s | %s | %s | %.1e | | | | | | | | %s |\n", r.layer.c_str(), r.N,
                    r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err, r.detail.c_str());
        continue;
      }
      double gf, gb, ai, rf;
      derived(r, &gf, &gb, &ai, &rf);
      std::printf(
          "| %s | %d | %s | %s | %s | %.1e | %.1f | %.1f | %.1f | %.1f%% | %.1f | %.1f | %.2f | "
          "%.1f%% |\n",
          r.layer.c_str(), r.N, r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err,
          r.t.median_ms * 1e3, r.t.min_ms * 1e3, r.t.max_ms * 1e3, 100 * r.t.noise, gf, gb, ai, rf);
    }
  } else {
    std::printf(
        "\n| layer | N | family | kernel | version | check | max err | detail |\n"
        "|---|---:|---|---|---|---|---:|---|\n");
    for (const Row& r : rows)
      std::printf("| %s | %d | %s | %s | %s | %s | %.1e | %s |\n", r.layer.c_str(), r.N,
                  r.family.c_str(), r.name.c_str(), r.version.c_str(), r.status.c_str(), r.err,
                  r.detail.c_str());
  }
  if (csv_fd >= 0) close(csv_fd);
  bench::clear_running(o.csv);
  std::printf(
      "\n# summary: %zu kernels/versions in the registry; %zu rows: %d PASS, %d FAIL, %d n/a%s\n",
      nreg, rows.size(), pass, fail, na, timing ? "" : " (checks only)");
  return fail ? 1 : 0;
}
