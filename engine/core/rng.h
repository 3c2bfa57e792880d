// engine/core/rng.h — Philox4x32-10, a counter-based random number generator.
// A value depends only on (seed, counter): element i of a fill uses counter = offset + i, so the
// numbers are the same on every machine and for every thread count (Salmon et al., SC'11).
//   philox(counter, key) → 4 × uint32;   uniform in [0,1) = (u >> 8) · 2⁻²⁴
//   normal: Box–Muller on two uniforms  z = √(−2 ln u₁) · cos(2π u₂)
// Generator keeps (seed, offset); every draw advances offset, and both are saved in checkpoints.
#pragma once
#include <cmath>
#include <cstdint>

namespace senet {

struct Philox4 {
  uint32_t v[4];
};

// Philox4x32-10 block function: 10 rounds of multiply-xor with a Weyl key schedule.
inline Philox4 philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
  uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(kM0) * c0, p1 = uint64_t(kM1) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = uint32_t(p1);
    c2 = n2;
    c3 = uint32_t(p0);
    k0 += kW0;
    k1 += kW1;
  }
  return {{c0, c1, c2, c3}};
}

// Stateless draws addressed by (seed, stream, index): the building block for reproducible fills,
// shuffles and augmentation decisions that do not depend on the order they are computed in.
inline uint32_t rand_u32(uint64_t seed, uint64_t stream, uint64_t index) {
  return philox4x32(index, stream, seed).v[0];
}
inline float rand_uniform(uint64_t seed, uint64_t stream, uint64_t index) {  // [0, 1)
  return float(rand_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}
inline float rand_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  Philox4 r = philox4x32(index, stream, seed);
  float u1 = (float(r.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]: log is finite
  float u2 = float(r.v[1] >> 8) * (1.0f / 16777216.0f);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530717958647692f * u2);
}
// Unbiased integer in [0, n) (Lemire's multiply-shift; bias < 2⁻³² · n, negligible for data sizes).
inline uint32_t rand_below(uint64_t seed, uint64_t stream, uint64_t index, uint32_t n) {
  return uint32_t((uint64_t(rand_u32(seed, stream, index)) * n) >> 32);
}

// A seeded stream of draws. `offset` counts draws made so far; (seed, offset) is the whole state.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  explicit Generator(uint64_t s = 0) : seed(s) {}
  // Reserve n consecutive counters and return the first: fills use index = base + i.
  uint64_t reserve(uint64_t n) {
    uint64_t base = offset;
    offset += n;
    return base;
  }
  uint32_t next_u32() { return rand_u32(seed, 0, reserve(1)); }
  float next_uniform() { return rand_uniform(seed, 0, reserve(1)); }
  float next_normal() { return rand_normal(seed, 0, reserve(1)); }
  uint32_t next_below(uint32_t n) { return rand_below(seed, 0, reserve(1), n); }
};

}  // namespace senet
