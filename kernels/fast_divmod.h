// kernels/fast_divmod.h — integer division by a divisor fixed for the whole launch, as a multiply:
// the implicit-GEMM gathers divide indices by P·Q, Q, R·S, S, H·W, W and the stride, and a
// run-time `/` costs ~20 instructions on a GPU (there is no divide unit: a reciprocal and two
// fix-up steps), while
//   ⌊n / d⌋ = (umulhi(n, mul) + n) >> shift        for 0 ≤ n < 2³¹, 1 ≤ d < 2³¹
// costs three (IMAD.HI, IADD, SHF) and no branch, with shift = ⌈log₂ d⌉ and
// mul = ⌈2^(32+shift) / d⌉ − 2³²: the true multiplier lies in [2³², 2³³), its top bit is the
// "+ n" (umulhi + n < 2³² since n < 2³¹). d = 1 gives shift = 0, mul = 0: n itself.
// Why it is exact: (mul + 2³²)·d = 2^(32+shift) + e with 0 ≤ e < d ≤ 2^shift, so
//   n·(mul + 2³²) / 2^(32+shift) = n/d + n·e / (d·2^(32+shift)),
// and the second term is below 2³¹·d / (d·2^(32+shift)) = 2^−(shift+1) ≤ 1/(2d): never enough to
// reach the next integer, because n/d's fractional part is at most (d−1)/d. (Granlund &
// Montgomery, "Division by invariant integers using multiplication", PLDI 1994.)
// Built on the host (the constructor), passed to kernels by value; the test checks it against `/`.
#pragma once
#include <cstdint>

#include "kernels/host_device.h"

namespace senet {

struct fast_divmod {
  int d = 1;
  uint32_t mul = 0;
  int shift = 0;

  fast_divmod() = default;
  explicit fast_divmod(int divisor) : d(divisor) {
    if (d < 1) return;  // the caller's error (launchers check the geometry first): never launched
    while ((int64_t(1) << shift) < d) ++shift;  // 2^(shift−1) < d ≤ 2^shift
    mul = uint32_t(((uint64_t(1) << (32 + shift)) + uint64_t(d) - 1) / uint64_t(d) -
                   (uint64_t(1) << 32));
  }
  // ⌊n / d⌋ for 0 ≤ n < 2³¹.
  SENET_HD int div(int n) const {
#if defined(__CUDA_ARCH__)
    return int((__umulhi(uint32_t(n), mul) + uint32_t(n)) >> shift);
#else
    return int((uint32_t((uint64_t(uint32_t(n)) * mul) >> 32) + uint32_t(n)) >> shift);
#endif
  }
  // q = ⌊n / d⌋, r = n − q·d. Exact for 0 ≤ n < 2³¹. Callers may pass a negative n and discard
  // the results (dgrad's taps above the image): the remainder is then computed modulo 2³², in
  // unsigned arithmetic, so that no signed overflow (undefined behaviour) happens on the way; the
  // same instructions as the signed form.
  SENET_HD void divmod(int n, int& q, int& r) const {
    q = div(n);
    r = int(uint32_t(n) - uint32_t(q) * uint32_t(d));
  }
};

}  // namespace senet
