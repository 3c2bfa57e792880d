// engine/cpu/activation.h — (masked) ReLU on the CPU, with the 1-bit "pass" mask the backward uses.
// A masked ReLU keeps a ReLU where m = 1 and is the identity where m = 0 (SENet's partial-ReLU):
//   p = !m || x > 0          (the pass bit: does the gradient flow through this element?)
//   y = p ? x : 0            (= m ? max(x, 0) : x)
//   dx = p ? dy : 0          (= dy ⊙ (m ? [x > 0] : 1))
// A plain ReLU is the all-ones mask (mask == nullptr here): p = x > 0.
// Bits: element i is bit (i & 63) of word i >> 6. Threads own whole words, so chunks start at
// multiples of 64 elements and never share a word.
// Mask layout: one byte per element of one image (L = C·H·W bytes, broadcast over the batch);
// a per-channel mask is expanded to that layout by the op (engine/ops/activation.cpp).
#pragma once
#include <cstdint>

namespace senet::cpu {

inline int64_t bit_words(int64_t n) { return (n + 63) / 64; }
inline bool bit_get(const uint64_t* bits, int64_t i) { return (bits[i >> 6] >> (i & 63)) & 1u; }

// Set bits [first, first+n) of `bits` to p[0..n) (0 or 1). The caller owns the words touched.
void pack_bits(const uint8_t* p, int64_t n, uint64_t* bits, int64_t first);

// x, y: n elements = (n / L) images of L elements; mask: L bytes or nullptr (plain ReLU).
// bits (bit_words(n) words) may be nullptr when no backward will run.
void masked_relu_forward(const float* x, const uint8_t* mask, int64_t L, int64_t n, float* y,
                         uint64_t* bits);
void masked_relu_backward(const float* dy, const uint64_t* bits, int64_t n, float* dx);

}  // namespace senet::cpu
