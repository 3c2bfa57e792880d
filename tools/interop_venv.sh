#!/usr/bin/env bash
# tools/interop_venv.sh — make the small Python venv of the PyTorch-interop test (tests/interop:
# docs/interop.md's numpy loader against `senet eval --dump-logits`): safetensors + numpy from
# PyPI, pinned in tests/interop/requirements.txt.
#   tools/interop_venv.sh [VENV]        (default: <repo>/.venv-interop, where CMake looks)
# Idempotent: when the venv already has exactly those requirements it returns at once. The engine
# needs none of this: when python3's venv module is missing or PyPI cannot be reached, it prints a
# warning, leaves no half-made venv (so the test is simply not registered) and exits 0.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.venv-interop}
req=$here/tests/interop/requirements.txt
stamp=$venv/.senet-requirements.txt

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "interop_venv: $venv is up to date"
  exit 0
fi
warn() {
  echo "interop_venv: WARNING: $*; the interop test (tests/interop) will not be registered" >&2
  rm -rf "$venv"
  exit 0
}
command -v python3 > /dev/null || warn "no python3 on PATH"
python3 -c 'import venv, ensurepip' 2> /dev/null ||
  warn "python3 lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)"
echo "interop_venv: creating $venv (safetensors, numpy)"
rm -rf "$venv"
python3 -m venv "$venv" || warn "python3 -m venv $venv failed"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --timeout 20 --retries 1 -r "$req" ||
  warn "pip could not install $req (is PyPI reachable?)"
"$venv/bin/python" -c 'import numpy, safetensors; print("interop_venv: numpy", numpy.__version__,
                                                         "safetensors", safetensors.__version__)' ||
  warn "the venv cannot import numpy and safetensors"
cp "$req" "$stamp"
