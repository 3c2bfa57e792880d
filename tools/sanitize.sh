#!/usr/bin/env bash
# tools/sanitize.sh — build everything with AddressSanitizer + UndefinedBehaviorSanitizer (leak
# checking on) and run the whole test suite under CTest. The emulated CUDA kernels are included:
# the emulator announces its fiber switches to ASan (kernels/emu/context.cpp). No nvcc build.
#   tools/sanitize.sh [BUILD_DIR] [CTEST_ARGS...]     (default BUILD_DIR: build-asan)
#   e.g. tools/sanitize.sh build-asan -LE slow        (skip tests labelled slow)
#   SENET_SANITIZE_SET=ci tools/sanitize.sh           (the reduced set tools/test.sh runs in CI: only
#       the parsers, I/O, data loaders, tensors, the CPU conv/BN kernels (their in-place reads must
#       never leave a tensor) and the emulated CUDA runtime and kernels — labels core, cpu, io, data,
#       fuzz, emu, kernels — are built and run, the emulated ones in the default schedule only; the
#       whole suite takes ~3× longer)
# Environment: SENET_JOBS parallel build and test jobs (default: nproc); SENET_CMAKE_ARGS extra
# cmake arguments; ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS are appended to the defaults below.
# Optimisation is -O1 -g1 (RelWithDebInfo with its flags replaced: asserts stay on, NDEBUG is not
# defined; -g1 = line tables only: the reports keep file:line, and the build takes ~40 % less
# than with -g). On a CPU without AVX-512 the CPU backend's AVX-512 kernels, which could not run
# here, are not built (-DSENET_CPU_AVX512=OFF: ~270 CPU-seconds of ASan compiles). Exit status:
# CTest's.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-asan}
[ $# -gt 0 ] && shift
jobs=${SENET_JOBS:-$(nproc)}

now() { date +%s; }
t0=$(now)
avx512=ON
if ! grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  avx512=OFF
  echo "sanitize.sh: this CPU has no AVX-512: its kernels are not built (-DSENET_CPU_AVX512=OFF)"
fi
# shellcheck disable=SC2086
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1" \
  -DSENET_SANITIZE=address,undefined -DSENET_CUDA=OFF -DSENET_CPU_AVX512=$avx512 \
  ${SENET_CMAKE_ARGS:-}
t1=$(now)
ctest_select=()
if [ "${SENET_SANITIZE_SET:-all}" = ci ]; then
  # The set's executables are one target, sanitize_ci_set (tests/CMakeLists.txt): built in one
  # make goal, so both cores stay busy.
  target=(--target sanitize_ci_set)
  # The emulated tests once, in the default schedule: the reverse and random:7 re-runs hunt races,
  # which the Release pass of tools/test.sh does; memory errors do not wait for a schedule. Nor
  # the TF32 kernels' random-data tolerance test (41 s under ASan): it launches the kernels the
  # bitwise tests launch, on the same shapes, with other numbers — no other memory access (the
  # prologue tests leave out their random-float round here for the same reason:
  # tests/kernels/prologue_cases.h).
  ctest_select=(-L '^(core|cpu|io|data|fuzz|emu|kernels)$'
                -E '[.](reverse|random7)$|RandomDataWithinTheTf32Bound')
else
  target=()
fi
cmake --build "$build" -j "$jobs" "${target[@]}"
t2=$(now)

# halt_on_error: the first report fails the test. detect_stack_use_after_return also exercises the
# fake stacks that the fiber annotations hand over. LeakSanitizer runs at each process exit.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:detect_odr_violation=2:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="report_objects=1${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
(cd "$build" && ctest --output-on-failure -j "$jobs" --timeout 900 "${ctest_select[@]}" "$@") | tee "$build/sanitize-ctest.log" || status=$?
t3=$(now)

echo
echo "sanitize.sh: ctest summary"
grep -E "tests passed|tests failed|^[[:space:]]+[0-9]+ - |Total Test time" "$build/sanitize-ctest.log" || true
echo "sanitize.sh: configure $((t1 - t0)) s, build $((t2 - t1)) s, tests $((t3 - t2)) s, total $((t3 - t0)) s"
exit "$status"
