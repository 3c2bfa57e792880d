// engine/ops/leading_block.h — the leading block x[:rows, :cols, ...] of a tensor, with autograd.
// Dynamic channel reduction (docs/method.md §Dynamic channel reduction) runs a width-s network on the first ⌊s·C⌋ channels:
// a conv weight K×C×R×S becomes W[:K', :C'], an FC weight O×F becomes W[:O, :F'], an activation
// B×C×H×W becomes A[:, :C'] — all leading blocks.
//   y[r, c, i] = x[r, c, i]   for r < rows, c < cols, i over the trailing dims (flattened)
//   backward:  dx = zeros(x) with dy in the block (the rest of x gets no gradient)
// Tensors are contiguous, so y is a copy (one memory copy per row, on any device) — except
// cols = size(1): then y is the view x.slice(0, rows), and the whole of x is returned as it is.
#pragma once
#include "engine/core/tensor.h"

namespace senet {

Tensor leading_block(const Tensor& x, int64_t rows, int64_t cols);

}  // namespace senet
