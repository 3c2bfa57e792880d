// engine/cpu/activation.cpp — masked ReLU forward (values + pass bits) and backward (dy ⊙ bits).
// Threads split the elements into chunks of whole 64-bit words (parallel_for over words).
#include "engine/cpu/activation.h"

#include <algorithm>

#include "engine/core/parallel.h"
#include "engine/cpu/bn_act_simd.h"

namespace senet::cpu {

void pack_bits(const uint8_t* p, int64_t n, uint64_t* bits, int64_t first) {
  int64_t k = 0;
  for (; k < n && ((first + k) & 63); ++k) {  // head, up to the next word boundary
    int64_t i = first + k;
    uint64_t m = uint64_t(1) << (i & 63);
    bits[i >> 6] = p[k] ? bits[i >> 6] | m : bits[i >> 6] & ~m;
  }
  for (; k + 64 <= n; k += 64) {  // whole words
    uint64_t w = 0;
    for (int b = 0; b < 64; ++b) w |= uint64_t(p[k + b] != 0) << b;
    bits[(first + k) >> 6] = w;
  }
  for (; k < n; ++k) {  // tail
    int64_t i = first + k;
    uint64_t m = uint64_t(1) << (i & 63);
    bits[i >> 6] = p[k] ? bits[i >> 6] | m : bits[i >> 6] & ~m;
  }
}

// Elements [b, e) of the flat tensor; the mask index j = i mod L advances with i.
template <bool kMasked>
static void relu_chunk(const float* x, const uint8_t* mask, int64_t L, int64_t b, int64_t e,
                       float* y, uint64_t* bits) {
  constexpr int64_t kBlock = 256;
  uint8_t p[kBlock];
  int64_t j = kMasked ? b % L : 0;
  for (int64_t i = b; i < e;) {
    // A run that neither crosses an image boundary (mask wrap) nor overflows the pass buffer.
    int64_t len = std::min(e - i, kBlock);
    if (kMasked) len = std::min(len, L - j);
    for (int64_t k = 0; k < len; ++k) {
      float v = x[i + k];
      bool pass = kMasked ? (!mask[j + k] || v > 0.f) : v > 0.f;
      y[i + k] = pass ? v : 0.f;
      p[k] = pass;
    }
    if (bits) pack_bits(p, len, bits, i);
    i += len;
    if (kMasked) j = (j + len == L) ? 0 : j + len;
  }
}

void masked_relu_forward(const float* x, const uint8_t* mask, int64_t L, int64_t n, float* y,
                         uint64_t* bits) {
  const BnActKernels* k = bn_act_kernels();
  parallel_for(0, bit_words(n), 256, [&](int64_t wb, int64_t we) {
    int64_t b = wb * 64, e = std::min(n, we * 64);
    if (k)
      k->masked_relu_chunk(x, mask, L, b, e, y, bits);
    else if (mask)
      relu_chunk<true>(x, mask, L, b, e, y, bits);
    else
      relu_chunk<false>(x, nullptr, L, b, e, y, bits);
  });
}

void masked_relu_backward(const float* dy, const uint64_t* bits, int64_t n, float* dx) {
  const BnActKernels* k = bn_act_kernels();
  parallel_for(0, bit_words(n), 256, [&](int64_t wb, int64_t we) {
    if (k) {
      k->masked_relu_backward_chunk(dy, bits, wb * 64, std::min(n, we * 64), dx);
      return;
    }
    for (int64_t w = wb; w < we; ++w) {
      uint64_t word = bits[w];
      int64_t i0 = w * 64, cnt = std::min<int64_t>(64, n - i0);
      for (int64_t k = 0; k < cnt; ++k) dx[i0 + k] = (word >> k) & 1u ? dy[i0 + k] : 0.f;
    }
  });
}

}  // namespace senet::cpu
