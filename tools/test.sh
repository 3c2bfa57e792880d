#!/usr/bin/env bash
# tools/test.sh — install what is missing, build (Release; CUDA sources also through nvcc when it
# is present), and run the whole test suite with CTest. This is the README's test command and CI's.
#   tools/test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
t0=$(date +%s)
"$here/tools/setup.sh" "$build"
t1=$(date +%s)
echo "test.sh: set-up and build took $((t1 - t0)) s"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 900
t2=$(date +%s)
echo "test.sh: tests took $((t2 - t1)) s"
