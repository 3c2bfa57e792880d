#!/usr/bin/env bash
# tools/interop_venv.sh — make the small Python venv of the PyTorch-interop test (tests/interop:
# docs/interop.md's numpy loader against `senet eval --dump-logits`): safetensors + numpy from
# PyPI, pinned in tests/interop/requirements.txt (tools/test_venv.sh: idempotent; without PyPI a
# warning, and the test is not registered).
#   tools/interop_venv.sh [VENV]        (default: <repo>/.venv-interop, where CMake looks)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exec "$here/tools/test_venv.sh" interop_venv "${1:-$here/.venv-interop}" \
  "$here/tests/interop/requirements.txt" numpy safetensors
