// kernels/registry.h — the list of every kernel launcher in kernels/*.h and each of its versions,
// with a one-line doc and the FLOP and byte counts of one launch, so that benchmarks and tests can
// iterate all of them: each entry's case (inputs, launch, CPU check) is in the kernel-case library
// tools/bench/cases/ (cases.h), which test_kernel_registry runs on small shapes and bench_kernels
// checks, then times. Rule: data only — no launch code here; one case per (name, version) there.
// Problem shape: every entry is sized from one model layer, given as the layer's Conv2dGeom
// (N = batch). What the kernel runs on, by domain:
//   conv        the conv itself (x N×C×H×W, w K×C×R×S, y N×K×P×Q)
//   activation  the conv's output tensor N×K×P×Q (BN, activations, losses on feature maps, search)
//   param       the conv's weight, K·C·R·S values (optimizer updates)
//   head        the FC layer, a 1×1 "conv" on a 1×1 map: x N×F with F = C, logits N×O with O = K
// Byte counts are the compulsory traffic of one launch: every input read once, every output
// written once (4 bytes per float, 1 per mask byte, 1/8 per pass bit), plus the workspaces written
// and read back. FLOPs count the arithmetic of the math (an FMA is 2), not index computations.
// Adding a kernel or a version: add its entry in kernels/registry.cu (a static_assert there counts
// the versions of the conv family) and its case in tools/bench/cases/cases_conv.cu (conv2d_*,
// conv_bn_mrelu, the BN family) or cases_other.cu (everything else).
#pragma once
#include <cstddef>

#include "kernels/conv2d_fprop.h"

namespace senet {

enum class kernel_domain { conv, activation, param, head };
const char* kernel_domain_name(kernel_domain d);

struct kernel_entry {
  const char* family;   // kernels/<family>.{h,cu}
  const char* name;     // the launcher
  const char* version;  // the algorithm, as in the header's version list
  const char* doc;      // one line
  kernel_domain domain;
  bool gpu_only;  // exists only in the nvcc build (cuBLAS); reported unavailable under emulation
  double (*flops)(const Conv2dGeom& p);
  double (*bytes)(const Conv2dGeom& p);
  // Split-K versions: the slices the version cuts the GEMM's K into on p (1: it runs unsplit
  // there); null for every other entry. The benchmark writes it in the row ("splits=N"), so a
  // comparison with the unsplit version can tell a layer it did not split.
  int (*splits)(const Conv2dGeom& p) = nullptr;
};

// Every entry, in file order. The pointer stays valid for the life of the program.
const kernel_entry* kernel_registry(size_t* count);

}  // namespace senet
