// kernels/implicit_gemm_loader.cuh — the global → registers → shared-memory half of the fast main
// loops (the SIMT 128×128 tile, implicit_gemm_simt.cuh, and the TF32 tile, implicit_gemm_mma.cuh),
// over a hoisting gather (kernels/conv_gather_fast.cuh). Device code only.
//
// Per BK slice the block stages A[kk][m] (BK × BM) and B[kk][n] (BK × BN). Thread tid's share:
//   A: m = m0 + tid mod BM (the same row in every slice), kk = tid div BM + l·(threads/BM), l < A_LOADS
//   B: kk = tid mod BK, n = n0 + tid div BK + l·(threads/BK) (the same columns in every slice)
// so consecutive threads read consecutive m (pixels: coalesced NCHW reads of x or dy) and
// consecutive kk of a weight row (w is K × C·R·S: coalesced too). A gather whose A is contiguous
// along kk instead (wgrad: A[k][(n,p,q)] = dy[n,k,p,q], consecutive pixels) sets
// `a_kk_fastest = true`, and A is then read like B: kk = tid mod BK, m = m0 + tid div BK +
// l·(threads/BK) — consecutive threads on consecutive pixels of one dy row, where the m-fastest
// order would put them PQ floats apart. A gather with `a_slice` and `a_at` (tap-major dgrad,
// conv_gather_fast.cuh) has the thread's A elements of a slice — one row, kk = kk₀ + dk — decoded
// once per slice: a_slice(row, kk₀), then a_at(slice, dk) per element. Such a gather gets whole
// slices only — k_begin and k_end multiples of BK, so no element needs its own kk < k_end test —
// which its launchers guarantee: they pick it when the channel count, hence the reduction length
// (C·R·S, K·R·S, a phase's K·Rp·Sp), is a multiple of BK, and split-K cuts at multiples of BK.
// The rows and columns are decoded once (gather.a_row / b_col), here in the constructor. load() fills registers, store() writes
// them to shared memory, element (kk, m) of A at T::a_index(kk, m − m0) and (kk, n) of B at
// T::b_index(kk, n − n0) (padded rows for SIMT, fragment order for TF32): the register hop is what
// lets a main loop issue slice s+1's global loads before it computes slice s — provided load()
// only loads: whatever reads a loaded value (TF32 rounding, a prologue's activation: a_finish)
// waits in store(), after the slice's math (sass_report's "ldg cover" checks it in the SASS) —
// and on tiles with registers to spare the activation's constants are loaded with x (a_full).
// Values outside [0, M) × [k_begin, k_end) × [0, Nn) are 0; with kTf32 every value is rounded to
// TF32 once, here, instead of at every use.
#pragma once
#include "kernels/emu/cuda_compat.h"
#include "kernels/mma_tf32.cuh"
#include "kernels/type_if.h"
#include "kernels/wgmma_tf32.cuh"

namespace senet::detail {

// A gather's optional flags, false when it does not say: G::a_kk_fastest, G::a_deferred (below),
// G::b_deferred (below).
template <class G>
constexpr bool a_kk_fastest() {
  return requires { requires G::a_kk_fastest; };
}

// Whether G decodes A once per slice (a_slice, a_at: conv2d_dgrad_gather_tap).
template <class G>
constexpr bool a_by_slice() {
  return requires { typename G::a_slice_t; };
}

// Whether G's slice elements are loaded (a_raw) and made GEMM values (a_finish) in two steps
// (the tap-major prologue gather: fprop_gather_tap_major<conv2d_fprop_gather_act>).
template <class G>
constexpr bool a_deferred() {
  return requires { requires G::a_deferred; };
}

// Whether G's B elements are loaded (b_raw: a b_raw_t) and made GEMM values (b_finish) in two
// steps (wgrad's prologue gather, conv2d_wgrad_gather_act).
template <class G>
constexpr bool b_deferred() {
  return requires { requires G::b_deferred; };
}

// Tile flags, false when a tile does not say: T::a_kk_runs — a thread's A elements of a slice are
// consecutive kk of one row (kk = (tid div BM)·A_LOADS + l), stored 4 at a time as float4 (the
// wgmma tile's K-major shared memory: a row's 4 consecutive kk are 16 contiguous bytes, so 8 lanes
// of 8 consecutive rows fill 128 bytes — one conflict-free STS.128 wavefront, where one kk of 32
// rows would hit 8 banks); T::async_smem — the tile's shared memory is read by the tensor cores
// through the async proxy (wgmma), so each thread fences its stores (fence.proxy.async) before the
// barrier that publishes them.
template <class T>
constexpr bool a_kk_runs() {
  return requires { requires T::a_kk_runs; };
}
template <class T>
constexpr bool async_smem() {
  return requires { requires T::async_smem; };
}

// Whether tile T's loader loads G's deferred elements with their constants (G::a_raw_full,
// a_finish_full: the prologue's scale, shift and mask byte fly during the math with x): where the
// tile has registers to spare — one block per SM (min_blocks 1, up to 255 registers a thread: the
// wide TF32 tile). The 128-register tiles keep x alone in flight (3 more registers an element
// would spill there).
template <class T, class G>
constexpr bool a_full() {
  if constexpr (!a_deferred<G>() || T::min_blocks != 1)
    return false;
  else
    return requires { typename G::a_full_t; };
}

// The loader's register types: a gather's own (G::b_raw_t, G::a_full_t, G::a_slice_t) where its
// flag is on, else the default (type_if: `Of<G>::type` is named only then; G may not have it).
template <class G>
struct b_raw_of {
  using type = typename G::b_raw_t;
};
template <class G>
struct a_full_of {
  using type = typename G::a_full_t;
};
template <class G>
struct a_slice_of {
  using type = typename G::a_slice_t;
};
struct no_slice {};

template <class T, class G, bool kTf32>
struct tile_loader {
  static constexpr bool kAkk = a_kk_fastest<G>(), kSlice = a_by_slice<G>(), kRuns = a_kk_runs<T>();
  static constexpr bool kAsync = async_smem<T>();
  static constexpr bool kDefer = a_deferred<G>(), kBDefer = b_deferred<G>(), kFull = a_full<T, G>();
  static_assert(!kDefer || kSlice, "deferred elements are a slice's");
  static_assert(!(kAkk && kSlice), "a slice is one row's");
  static_assert(!(kRuns && kAkk), "a run of kk is one row's");
  static_assert(T::threads % T::BM == 0 && T::threads % T::BK == 0,
                "each thread loads fixed rows and columns");
  static constexpr int A_LOADS = T::BK * T::BM / T::threads, B_LOADS = T::BK * T::BN / T::threads;
  static constexpr int A_ROWS = kAkk ? A_LOADS : 1;  // the A rows a thread decodes
  static_assert(A_LOADS * T::threads == T::BK * T::BM && B_LOADS * T::threads == T::BK * T::BN,
                "loads must divide evenly");

  typename G::a_row_t arow[A_ROWS];
  typename G::b_col_t bcol[B_LOADS];
  bool a_ok[A_ROWS];
  int tid, n0, Nn;
  type_if<kFull, a_full_of<G>, float> ra[A_LOADS];
  type_if<kBDefer, b_raw_of<G>, float> rb[B_LOADS];
  // Kept from load() to store() for a_finish.
  [[no_unique_address]] type_if<kDefer, a_slice_of<G>, no_slice> slice;

  __device__ __forceinline__ tile_loader(const G& g, int tid_, int m0, int n0_, int M, int Nn_)
      : tid(tid_), n0(n0_), Nn(Nn_) {
    // Rows and columns are clamped into the tensors (m0 < M, n0 < Nn): a masked load stays valid.
#pragma unroll
    for (int l = 0; l < A_ROWS; ++l) {
      const int m = m0 + a_m(l);
      a_ok[l] = m < M;
      arow[l] = g.a_row(a_ok[l] ? m : m0);
    }
#pragma unroll
    for (int l = 0; l < B_LOADS; ++l) bcol[l] = g.b_col(n0 + b_n(l) < Nn ? n0 + b_n(l) : n0);
  }
  // A's load l: row a_m(l) and reduction index a_kk(l) within the tile and the slice.
  // Load l is load 0 moved by (a_kk_step·l, a_m_step·l), or for B by b_n_step·l columns.
  static constexpr int a_kk_step = kAkk ? 0 : kRuns ? 1 : T::threads / T::BM;
  static constexpr int a_m_step = kAkk ? T::threads / T::BK : 0;
  static constexpr int b_n_step = T::threads / T::BK;
  __device__ __forceinline__ int a_m(int l) const {
    return (kAkk ? tid / T::BK : tid % T::BM) + l * a_m_step;
  }
  __device__ __forceinline__ int a_kk(int l) const {
    return (kAkk ? tid % T::BK : kRuns ? tid / T::BM * A_LOADS : tid / T::BM) + l * a_kk_step;
  }
  __device__ __forceinline__ int b_n(int l) const { return tid / T::BK + l * b_n_step; }

  __device__ __forceinline__ static float round(float v) {
    if constexpr (kTf32)
      return to_tf32(v);
    else
      return v;
  }
  // Slice [k0, k0 + BK) of A and B into registers: the loads alone — nothing here reads a loaded
  // value, so they fly while the caller computes the previous slice (the gathers' zero for an
  // invalid element is a predicated load's, kernels/load_or_zero.cuh). k0 ≥ k_end is allowed (the
  // pipeline's prefetch after the last slice): every element is then masked.
  __device__ __forceinline__ void load(const G& g, int k0, int k_end) {
    if constexpr (kSlice) {  // one decode for the thread's A_LOADS elements of the (whole) slice
      const typename G::a_slice_t sl = g.a_slice(arow[0], k0 + a_kk(0), a_ok[0] && k0 < k_end);
#pragma unroll
      for (int l = 0; l < A_LOADS; ++l) {
        if constexpr (kFull)
          ra[l] = g.a_raw_full(sl, l * a_kk_step, true);
        else if constexpr (kDefer)
          ra[l] = g.a_raw(sl, l * a_kk_step, true);
        else
          ra[l] = g.a_at(sl, l * a_kk_step, true);
      }
      if constexpr (kDefer) slice = sl;
    } else {
#pragma unroll
      for (int l = 0; l < A_LOADS; ++l) {
        const int k = k0 + a_kk(l), r = kAkk ? l : 0;
        ra[l] = g.a(arow[r], k, a_ok[r] && k < k_end);
      }
    }
    const int kb = k0 + tid % T::BK;
#pragma unroll
    for (int l = 0; l < B_LOADS; ++l) {
      const bool ok = n0 + b_n(l) < Nn && kb < k_end;
      if constexpr (kBDefer)
        rb[l] = g.b_raw(bcol[l], kb, ok);
      else
        rb[l] = g.b(bcol[l], kb, ok);
    }
  }
  // A's load l as the GEMM value: a deferred gather's a_finish, then the rounding to TF32.
  __device__ __forceinline__ float a_value(const G& g, int l) const {
    if constexpr (kFull)
      return round(g.a_finish_full(slice, l * a_kk_step, true, ra[l]));
    else if constexpr (kDefer)
      return round(g.a_finish(slice, l * a_kk_step, true, ra[l]));
    else
      return round(ra[l]);
  }
  // The registers into the tile's shared memory (a stage: As BK·LDA floats, Bs BK·LDB): the first
  // reads of the loaded values — a deferred gather's a_finish / b_finish, the rounding to TF32.
  // Load l goes to load 0's place plus a constant: the tiles' a_index and b_index are additive
  // over the steps (a_index(kk + a_kk_step·l, m + a_m_step·l) = a_index(kk, m) + a_index(a_kk_step·l,
  // a_m_step·l) for the thread's kk < a_kk_step or m < a_m_step), so one address a thread.
  __device__ __forceinline__ void store(const G& g, float* As, float* Bs) const {
    float* a0 = As + T::a_index(a_kk(0), a_m(0));
    float* b0 = Bs + T::b_index(tid % T::BK, b_n(0));
    if constexpr (kRuns) {  // runs of 4 kk: 16 contiguous, aligned bytes (see a_kk_runs)
      static_assert(A_LOADS % 4 == 0, "whole runs of 4");
#pragma unroll
      for (int l = 0; l < A_LOADS; l += 4)
        *reinterpret_cast<float4*>(a0 + T::a_index(l, 0)) =
            make_float4(a_value(g, l), a_value(g, l + 1), a_value(g, l + 2), a_value(g, l + 3));
    } else {
#pragma unroll
      for (int l = 0; l < A_LOADS; ++l) a0[T::a_index(l * a_kk_step, l * a_m_step)] = a_value(g, l);
    }
#pragma unroll
    for (int l = 0; l < B_LOADS; ++l) {
      if constexpr (kBDefer)
        b0[T::b_index(0, l * b_n_step)] = round(g.b_finish(bcol[l], rb[l]));
      else
        b0[T::b_index(0, l * b_n_step)] = round(rb[l]);
    }
    if constexpr (kAsync) fence_async_smem();
  }
};

// The two-stage pipeline both fast loops share: As and Bs hold two stages (2·BK·LDA and
// 2·BK·LDB floats). Slice s is computed out of stage s mod 2 by compute(As_stage, Bs_stage) while
// slice s+1's global loads are in flight into registers; they are stored into the other stage
// after it, and one __syncthreads per slice separates the writes of one stage from the reads of
// the last (every thread of the block calls it; an empty range does nothing).
// The prefetch is unconditional: after the last slice it loads a slice past k_end, every element
// masked (no memory read), and its registers are never stored. Written `if (more) ld.load(…)`, the
// loads were a conditional region that ptxas was free to move as a whole, and for some
// instantiations it did: in the tap-major SIMT fprop (conv2d_fprop_implicit_gemm_kernel and
// conv_bn_mrelu_infer_kernel, sm_90) the slice's loads sank below its 512 FFMAs to just before
// their stores — sass_report's "ldg cover" 8/512, the global latency waited out every slice, where
// the split-K twin of the same loop showed 512/512. Straight-line loads stay on top (478/512).
// after_store() runs between a slice's stores and the barrier: an asynchronous compute (wgmma)
// issues in compute() and waits there, so that the tensor cores read one stage while the threads
// write the other.
struct no_after_store {
  __device__ __forceinline__ void operator()() const {}
};
template <class T, class G, bool kTf32, class Compute, class AfterStore = no_after_store>
__device__ __forceinline__ void two_stage_pipeline(int tid, int m0, int n0, int M, int Nn,
                                                   int k_begin, int k_end, const G& g, float* As,
                                                   float* Bs, Compute&& compute,
                                                   AfterStore&& after_store = {}) {
  if (k_begin >= k_end) return;  // the same for every thread of the block
  tile_loader<T, G, kTf32> ld(g, tid, m0, n0, M, Nn);
  ld.load(g, k_begin, k_end);
  ld.store(g, As, Bs);
  __syncthreads();
  int stage = 0;
  for (int k0 = k_begin; k0 < k_end; k0 += T::BK) {
    const bool more = k0 + T::BK < k_end;
    ld.load(g, k0 + T::BK, k_end);  // in flight during compute(); all masked when !more
    compute(As + stage * T::BK * T::LDA, Bs + stage * T::BK * T::LDB);
    if (more) ld.store(g, As + (stage ^ 1) * T::BK * T::LDA, Bs + (stage ^ 1) * T::BK * T::LDB);
    after_store();
    __syncthreads();  // the other stage is written; this one is free to overwrite next time
    stage ^= 1;
  }
}

}  // namespace senet::detail
