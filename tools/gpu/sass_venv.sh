#!/usr/bin/env bash
# tools/gpu/sass_venv.sh — make the venv with cuobjdump and nvdisasm (PyPI wheels, pinned in
# tools/gpu/requirements.txt) that tools/gpu/sass_report.py reads the kernels' SASS with
# (tools/test_venv.sh: idempotent; without PyPI a warning, and the SASS test is not registered).
#   tools/gpu/sass_venv.sh [VENV]       (default: <repo>/.venv-sass, where CMake looks)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
exec "$here/tools/test_venv.sh" sass_venv "${1:-$here/.venv-sass}" "$here/tools/gpu/requirements.txt"
