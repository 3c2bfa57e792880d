#!/usr/bin/env bash
# tools/setup.sh — install what a fresh Debian 12 machine lacks, then configure and build (Release).
#   tools/setup.sh [BUILD_DIR]          (default: build)
# Installs only missing Debian packages (needs root or sudo when something is missing).
# Environment: SENET_CMAKE_ARGS extra arguments for cmake; SENET_JOBS parallel build jobs;
#              SENET_TARGETS build only these targets (e.g. "senet": what the main job runs;
#              on a CPU without AVX-512, without the CPU kernels it could not run);
#              SENET_PI=1 also makes the venv of `senet pi-measure` (tools/pi/setup_pi.sh), before
#              configuring, so that its tests (tests/pi) are registered.
# Unless SENET_TARGETS is set, makes the small venvs of the PyTorch-interop test (.venv-interop:
# safetensors + numpy, tools/interop_venv.sh) and, where nvcc is, of the SASS report (.venv-sass:
# cuobjdump, tools/gpu/sass_venv.sh) before configuring; without PyPI they warn and their tests
# are not registered.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}

pkgs=(cmake g++ make pkg-config libopenblas-dev libgtest-dev nlohmann-json3-dev zlib1g-dev
      libjpeg62-turbo-dev libcli11-dev dataset-fashion-mnist python3-numpy python3-pytest
      python3-matplotlib python3-venv libopenmpi-dev openmpi-bin)
"$here/tools/install_packages.sh" setup "${pkgs[@]}"

# The tests' venvs are the tests' business: a targets-only build (the main job) skips them. The
# SASS report's (cuobjdump) only where nvcc builds the kernels.
if [ -z "${SENET_TARGETS:-}" ]; then
  "$here/tools/interop_venv.sh"
  if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc > /dev/null; then
    "$here/tools/gpu/sass_venv.sh"
  fi
fi
if [ "${SENET_PI:-0}" = 1 ]; then
  "$here/tools/pi/setup_pi.sh"
fi

# The CPU backend's AVX-512 kernels: always in a full build (the tests compile them on any CPU); a
# targets-only build (the main job) leaves them out where this CPU could not run them (~135 CPU-s
# of compiling, engine/CMakeLists.txt). A later full build in the same folder adds them back.
avx512=ON
if [ -n "${SENET_TARGETS:-}" ] && ! grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  avx512=OFF
  echo "setup.sh: this CPU has no AVX-512: its kernels are not built (-DSENET_CPU_AVX512=OFF)"
fi
jobs=${SENET_JOBS:-$(nproc)}
# shellcheck disable=SC2086
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSENET_CPU_AVX512=$avx512 ${SENET_CMAKE_ARGS:-}
targets=()
for t in ${SENET_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
