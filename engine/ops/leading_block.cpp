// engine/ops/leading_block.cpp — see leading_block.h: the block copy and its gradient scatter.
#include "engine/ops/leading_block.h"

#include "engine/core/autograd.h"

namespace senet {

// Rows of `cols·inner` elements between a [rows, cols, inner] block and a [R, C, inner] tensor.
static void copy_rows(void* block, const void* full, bool to_block, int64_t rows, int64_t cols,
                      int64_t C, int64_t inner, size_t esize, Device d) {
  const size_t block_row = size_t(cols * inner) * esize, full_row = size_t(C * inner) * esize;
  for (int64_t r = 0; r < rows; ++r) {
    char* b = static_cast<char*>(block) + size_t(r) * block_row;
    char* f = const_cast<char*>(static_cast<const char*>(full)) + size_t(r) * full_row;
    if (to_block)
      copy_bytes(b, d, f, d, block_row);
    else
      copy_bytes(f, d, b, d, block_row);
  }
}

Tensor leading_block(const Tensor& x, int64_t rows, int64_t cols) {
  SENET_CHECK(x.ndim() >= 2, "leading_block: input ", x.shape(), " needs at least 2 dims");
  SENET_CHECK(0 <= rows && rows <= x.size(0) && 0 <= cols && cols <= x.size(1),
              "leading_block: block [", rows, ", ", cols, "] does not fit input ", x.shape());
  if (cols == x.size(1)) return rows == x.size(0) ? x : x.slice(0, rows);
  Shape s = x.shape();
  s[0] = rows;
  s[1] = cols;
  const int64_t C = x.size(1);
  int64_t inner = 1;
  for (int i = 2; i < x.ndim(); ++i) inner *= x.size(i);
  const size_t esize = dtype_size(x.dtype());
  Tensor y = Tensor::empty(s, x.dtype(), x.device());
  copy_rows(y.raw(), x.raw(), true, rows, cols, C, inner, esize, x.device());
  if (needs_grad({&x})) {
    Shape in_shape = x.shape();
    record("leading_block", {x}, y,
           [in_shape, rows, cols, C, inner](const Tensor& dy) -> std::vector<Tensor> {
             Tensor dx = Tensor::zeros(in_shape, DType::F32, dy.device());
             copy_rows(dy.raw(), dx.raw(), false, rows, cols, C, inner, sizeof(float), dy.device());
             return {dx};
           });
  }
  return y;
}

}  // namespace senet
