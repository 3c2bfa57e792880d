// engine/cpu/simd.h — the float vectors the CPU kernels are written in, one struct per width:
//   F32x16  16 floats in a zmm register (AVX-512F/BW/VL/DQ), masks are __mmask16 (1 bit per lane)
//   F32x8    8 floats in a ymm register (AVX2 + FMA; under AVX-512VL the same code gets 32 registers)
// Each has the same static interface, so a kernel is written once as a template over V and
// instantiated per width:
//   V::N lanes; V::T the register; V::M a lane mask
//   zero, set1, bcast(p) (broadcast *p), load/store (unaligned), load_n/store_n (first n lanes,
//   the rest read as 0 / left untouched), fma(a,b,c) = a·b + c, add, sub, mul, max
//   gt0(v) lanes > 0; nonzero_u8(p) lanes whose byte p[i] ≠ 0; select(m, a, b) = m ? a : b;
//   bits(m) / from_bits(b): the mask as the low N bits of an integer (pass bits, activation.h);
//   andnot(m, n) = ~m & n, or_(m, n); hsum(v) the sum of the lanes;
//   transpose(v[N]): v[i][j] ↔ v[j][i] in registers.
// The header is compiled in several translation units with different -m flags (the *_avx512.cpp
// and *_avx2.cpp kernels), so everything lives in the namespace the including file names in
// SENET_SIMD_NS: the avx2 build of an inline function must never be merged with the avx512 one.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <utility>

#ifndef SENET_SIMD_NS
#error "define SENET_SIMD_NS (the ISA's namespace, e.g. avx512) before including engine/cpu/simd.h"
#endif

namespace senet::cpu::SENET_SIMD_NS {

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
struct F32x16 {
  using T = __m512;
  using M = __mmask16;
  static constexpr int N = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float a) { return _mm512_set1_ps(a); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static M first(int n) { return M(n >= 16 ? 0xffff : (1u << n) - 1); }
  static T load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void store_n(float* p, T v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static M gt0(T v) { return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ); }
  static M nonzero_u8(const uint8_t* p) {
    return _mm_test_epi8_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                              _mm_set1_epi8(-1));
  }
  static T select(M m, T a, T b) { return _mm512_mask_blend_ps(m, b, a); }
  static uint32_t bits(M m) { return uint32_t(m); }
  static M from_bits(uint32_t b) { return M(b); }
  static M andnot(M m, M n) { return M(~m & n); }
  static M or_(M m, M n) { return M(m | n); }
  static float hsum(T v) { return _mm512_reduce_add_ps(v); }
  // 16×16 transpose in three steps. (1) unpack ps interleaves row pairs; (2) unpack pd makes w[q][m]
  // = rows 4q..4q+3 of column 4L+m in 128-bit lane L; (3) two rounds of shuffle_f32x4 gather lane L
  // of w[0..3][m] into output row 4L+m (0x88 picks lanes 0,2 of each source, 0xdd lanes 1,3).
  static void transpose(T v[16]) {
    T t[16], w[4][4];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int q = 0; q < 4; ++q) {
      __m512d a = _mm512_castps_pd(t[4 * q]), b = _mm512_castps_pd(t[4 * q + 2]);
      __m512d c = _mm512_castps_pd(t[4 * q + 1]), d = _mm512_castps_pd(t[4 * q + 3]);
      w[q][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      w[q][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
      w[q][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
      w[q][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int m = 0; m < 4; ++m) {
      T x = _mm512_shuffle_f32x4(w[0][m], w[1][m], 0x88),
        y = _mm512_shuffle_f32x4(w[0][m], w[1][m], 0xdd);
      T x2 = _mm512_shuffle_f32x4(w[2][m], w[3][m], 0x88),
        y2 = _mm512_shuffle_f32x4(w[2][m], w[3][m], 0xdd);
      v[m] = _mm512_shuffle_f32x4(x, x2, 0x88);
      v[4 + m] = _mm512_shuffle_f32x4(y, y2, 0x88);
      v[8 + m] = _mm512_shuffle_f32x4(x, x2, 0xdd);
      v[12 + m] = _mm512_shuffle_f32x4(y, y2, 0xdd);
    }
  }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
struct F32x8 {
  using T = __m256;
  using M = __m256;  // all-ones lanes
  static constexpr int N = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float a) { return _mm256_set1_ps(a); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static __m256i first_i(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static T load_n(const float* p, int n) { return _mm256_maskload_ps(p, first_i(n)); }
  static void store_n(float* p, T v, int n) { _mm256_maskstore_ps(p, first_i(n), v); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static M gt0(T v) { return _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ); }
  static M nonzero_u8(const uint8_t* p) {
    __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(
        _mm256_xor_si256(_mm256_cmpeq_epi32(b, _mm256_setzero_si256()), _mm256_set1_epi32(-1)));
  }
  static T select(M m, T a, T b) { return _mm256_blendv_ps(b, a, m); }
  static uint32_t bits(M m) { return uint32_t(_mm256_movemask_ps(m)); }
  static M from_bits(uint32_t b) {
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i v = _mm256_and_si256(_mm256_set1_epi32(int(b & 0xff)), sel);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(v, sel));
  }
  static M andnot(M m, M n) { return _mm256_andnot_ps(m, n); }
  static M or_(M m, M n) { return _mm256_or_ps(m, n); }
  static float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // 8×8 transpose: unpack ps, shuffle ps, then swap 128-bit halves.
  static void transpose(T v[8]) {
    T t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
      v[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
  }
};
#endif

// Compile-time loop: f(std::integral_constant<int, 0>), ..., f(<N−1>), fully unrolled, so indices
// into register arrays stay constants and the arrays stay in registers.
template <int N, class F>
inline __attribute__((always_inline)) void static_for(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(std::integral_constant<int, I>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

}  // namespace senet::cpu::SENET_SIMD_NS
