// engine/cpu/blas.cpp — CPUID → OPENBLAS_CORETYPE → dlopen(OpenBLAS) → cblas_sgemm.
#include "engine/cpu/blas.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/cpu_isa.h"

#ifndef SENET_BLAS_LIBRARY
#define SENET_BLAS_LIBRARY "libopenblas.so.0"
#endif

namespace senet::cpu {
namespace {

// cblas enums (values fixed by the CBLAS standard).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);
using StrFn = char* (*)();
using SetThreadsFn = void (*)(int);

struct Blas {
  SgemmFn sgemm = nullptr;
  BlasInfo info;
};

Blas load() {
  Blas blas;
  const CpuFeatures& f = cpu_features();
  blas.info.cpu_features = f.names();

  const char* user = std::getenv("OPENBLAS_CORETYPE");
  blas.info.coretype_from_user = user && *user;
  if (blas.info.coretype_from_user) {
    blas.info.coretype = user;
  } else {
    const char* pick = nullptr;
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.os_zmm)
      pick = "SkylakeX";
    else if (f.avx2 && f.fma && f.os_ymm)
      pick = "Haswell";
    if (pick) {
      setenv("OPENBLAS_CORETYPE", pick, 0);
      blas.info.coretype = pick;
    }
  }
  // Our pool does the threading; ask OpenBLAS for one thread before it starts its own.
  setenv("OPENBLAS_NUM_THREADS", "1", 0);

  const char* candidates[] = {SENET_BLAS_LIBRARY, "libopenblas.so.0", "libopenblas.so"};
  void* h = nullptr;
  std::string tried;
  for (const char* path : candidates) {
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) {
      blas.info.library = path;
      break;
    }
    tried += std::string(tried.empty() ? "" : ", ") + path + " (" + dlerror() + ")";
  }
  SENET_CHECK(h, "could not load OpenBLAS; tried: ", tried,
              ". Install it with: apt-get install libopenblas-dev (if it is installed and the error"
              " is 'failed to map segment', the address-space limit, ulimit -v, is too low)");
  blas.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
  SENET_CHECK(blas.sgemm, "OpenBLAS library ", blas.info.library, " has no cblas_sgemm");
  if (auto fn = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"))) fn(1);
  if (auto fn = reinterpret_cast<StrFn>(dlsym(h, "openblas_get_config"))) blas.info.config = fn();
  if (auto fn = reinterpret_cast<StrFn>(dlsym(h, "openblas_get_corename"))) blas.info.core = fn();
  return blas;
}

const Blas& blas() {
  static Blas b = load();  // thread-safe one-time initialisation
  return b;
}

// OpenBLAS (0.3.21, Debian 12) gives each concurrent caller a work buffer of 128 MiB of address
// space, allocated on first need and kept; when that allocation fails it retries forever (a hang,
// OpenMathLib/OpenBLAS#5289, fixed in 0.3.30 by exit()). So a call that makes more calls in flight
// than ever before (OpenBLAS may need a new buffer) first checks that the space can be mapped —
// a clear error if not — and runs under a lock, so buffers are added one at a time and each check
// sees the ones before it. The check maps the buffer plus a margin for what the other threads
// allocate meanwhile (a new glibc arena reserves 64 MiB), since the space is given back before
// OpenBLAS takes it. Calls within the known count skip all this; it happens at most once per
// thread count, so it costs nothing.
constexpr size_t kOpenBlasBuffer = size_t(129) << 20;  // 128 MiB + slack for its alignment
constexpr size_t kMargin = size_t(128) << 20;
std::atomic<int> g_in_flight{0}, g_buffers{0};  // g_buffers: most calls ever in flight
std::mutex g_grow;

struct InFlight {
  std::unique_lock<std::mutex> grow;
  int grown_to = 0;
  InFlight() {
    if (g_in_flight.fetch_add(1) + 1 <= g_buffers.load()) return;
    grow = std::unique_lock<std::mutex>(g_grow);
    const int now = g_in_flight.load();
    if (now <= g_buffers.load()) {
      grow.unlock();
      return;
    }
    const size_t probe = kOpenBlasBuffer + kMargin;
    void* p = mmap(nullptr, probe, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      g_in_flight.fetch_sub(1);
      fail(
          "out of host memory: OpenBLAS needs a work buffer of 128 MiB of address space per "
          "thread, and mapping ",
          probe >> 20, " MiB (buffer + margin) failed: ", std::strerror(err),
          "; raise the memory limit (ulimit -v) or lower --threads");
    }
    munmap(p, probe);
    grown_to = now;
  }
  ~InFlight() {
    if (grow.owns_lock() && grown_to > g_buffers.load()) g_buffers.store(grown_to);
    g_in_flight.fetch_sub(1);
  }
};

}  // namespace

const BlasInfo& blas_info() { return blas().info; }

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // C = beta·C (BLAS would do the same; keep it explicit for K == 0)
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j)
        C[size_t(i) * ldc + j] = beta == 0 ? 0.f : beta * C[size_t(i) * ldc + j];
    return;
  }
  const Blas& b = blas();
  InFlight guard;
  b.sgemm(kRowMajor, ta ? kTrans : kNoTrans, tb ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B, ldb,
          beta, C, ldc);
}

void sgemm_parallel(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  // Split the columns of C into per-thread blocks (multiples of 16 keep the kernels' tiles whole).
  int64_t blocks = (N + 15) / 16;
  parallel_for(0, blocks, 4, [&](int64_t b0, int64_t b1) {
    int j0 = int(b0 * 16), j1 = int(std::min<int64_t>(N, b1 * 16));
    const float* Bj = tb ? B + size_t(j0) * ldb : B + j0;
    sgemm(ta, tb, M, j1 - j0, K, alpha, A, lda, Bj, ldb, beta, C + j0, ldc);
  });
}

}  // namespace senet::cpu
