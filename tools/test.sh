#!/usr/bin/env bash
# tools/test.sh — install what is missing, build (Release; CUDA sources also through nvcc when it
# is present), and run the whole test suite with CTest; then the reduced sanitizer pass
# (tools/sanitize.sh with SENET_SANITIZE_SET=ci: parsers, I/O, data, tensors and the emulated CUDA
# layer under ASan + UBSan + LSan, in BUILD_DIR-asan), after checking the sources' formatting
# (tools/format.sh --check). This is the README's test command and CI's.
#   tools/test.sh [BUILD_DIR]   (default: build)
# SENET_SKIP_SANITIZE=1 skips the sanitizer pass; SENET_PI=0 skips the venv of `senet pi-measure`
# and its tests (tools/pi/setup_pi.sh, ~1 GB from PyPI). CI sets neither.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
# The tests of `senet pi-measure` need its Python venv (SecretFlow SPU): setup.sh makes it.
export SENET_PI=${SENET_PI:-1}
t0=$(date +%s)
"$here/tools/setup.sh" "$build"
t1=$(date +%s)
echo "test.sh: set-up and build took $((t1 - t0)) s"
status=0
"$here/tools/format.sh" --check || status=$?  # the sources as clang-format writes them
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 900) || status=$?
t2=$(date +%s)
echo "test.sh: tests took $((t2 - t1)) s"
if [ "${SENET_SKIP_SANITIZE:-0}" != 1 ]; then
  SENET_SANITIZE_SET=ci "$here/tools/sanitize.sh" "$build-asan" || status=$?
  t3=$(date +%s)
  echo "test.sh: sanitizer pass took $((t3 - t2)) s"
fi
echo "test.sh: total $(( $(date +%s) - t0 )) s, exit status $status"
exit "$status"
