#!/usr/bin/env bash
# tools/bench/vs_pytorch.sh — one command for the CPU peer comparison with PyTorch: makes the venv
# (.venv-bench, PyTorch from PyPI, tools/bench/requirements-torch.txt; ~4 GB with its CUDA wheels,
# once), builds bench_train_step and bench_conv_layers (Release, BUILD_DIR), then runs
# tools/bench/vs_pytorch.py: the training step of four models and every ResNet-18 conv layer, ours
# and PyTorch's, interleaved for --rounds rounds. Extra arguments go to vs_pytorch.py, e.g.
#   tools/bench/vs_pytorch.sh --rounds 5 --rows step
# Environment: BUILD_DIR (default build), SENET_BENCH_VENV (default .venv-bench).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$here/build}
venv=${SENET_BENCH_VENV:-$here/.venv-bench}
req=$here/tools/bench/requirements-torch.txt
if ! [ -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.senet-requirements.txt"; then
  echo "vs_pytorch: making $venv (PyTorch from PyPI)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.senet-requirements.txt"
fi
if ! [ -f "$build/CMakeCache.txt" ]; then
  "$here/tools/install_packages.sh" setup cmake g++ make pkg-config libopenblas-dev libgtest-dev \
    nlohmann-json3-dev zlib1g-dev libjpeg62-turbo-dev libcli11-dev
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target bench_vs_pytorch -j "$(nproc)" >&2  # bench_train_step, bench_conv_layers
exec "$venv/bin/python" "$here/tools/bench/vs_pytorch.py" --build "$build" --python "$venv/bin/python" "$@"
