// tests/support/conv_reference.h — the plain-loop convolution backward (double sums), a bitwise
// comparison, and a scoped thread count: shared by the conv op tests and the CPU kernel tests.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/parallel.h"
#include "engine/cpu/conv2d.h"

namespace senet::test {

// dx[n,c,ih,iw] = Σ w[k,c,r,s]·dy[n,k,p,q] over taps reading (ih, iw);  dw = Σ x·dy.  Double sums.
inline void conv2d_backward_reference(const cpu::Conv2dGeom& g, const float* x, const float* w,
                                      const float* dy, std::vector<double>& dx,
                                      std::vector<double>& dw) {
  dx.assign(size_t(g.N) * g.C * g.H * g.W, 0.0);
  dw.assign(size_t(g.K) * g.C * g.R * g.S, 0.0);
  for (int n = 0; n < g.N; ++n)
    for (int k = 0; k < g.K; ++k)
      for (int p = 0; p < g.P; ++p)
        for (int q = 0; q < g.Q; ++q) {
          double d = dy[((size_t(n) * g.K + k) * g.P + p) * g.Q + q];
          for (int c = 0; c < g.C; ++c)
            for (int r = 0; r < g.R; ++r)
              for (int s = 0; s < g.S; ++s) {
                int ih = p * g.stride - g.pad + r, iw = q * g.stride - g.pad + s;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                size_t xi = ((size_t(n) * g.C + c) * g.H + ih) * g.W + iw;
                size_t wi = ((size_t(k) * g.C + c) * g.R + r) * g.S + s;
                dx[xi] += w[wi] * d;
                dw[wi] += x[xi] * d;
              }
        }
}

// got[i] == float(want[i]) for every element; reports the first five differences.
inline void expect_bitwise(const std::vector<float>& got, const std::vector<double>& want,
                           const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != float(want[i]) && bad++ < 5)
      ADD_FAILURE() << what << " element " << i << ": " << got[i] << " vs " << want[i];
}

class ThreadCount {  // restores the thread count at scope exit
 public:
  explicit ThreadCount(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(saved_); }

 private:
  int saved_;
};

}  // namespace senet::test
