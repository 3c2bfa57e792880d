#!/usr/bin/env bash
# tools/pi/setup_pi.sh — make the Python environment of `senet pi-measure` (SecretFlow SPU, JAX;
# pytest for tests/pi):
#   tools/pi/setup_pi.sh [VENV]        (default: <repo>/.venv-pi; `senet pi-measure` looks there,
#                                       or in $SENET_PI_VENV)
# Needs CPython 3.11 (SPU 0.9.5's wheels are cp311; $SENET_PI_PYTHON picks the interpreter) and PyPI.
# Idempotent: when the venv already has exactly tools/pi/requirements.txt it returns in a second.
# About 1 GB on disk (jaxlib, SPU); the first install downloads ~300 MB.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
venv=${1:-${SENET_PI_VENV:-$here/.venv-pi}}
req=$here/tools/pi/requirements.txt
stamp=$venv/.senet-requirements.txt

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "setup_pi: $venv is up to date"
  exit 0
fi

py=${SENET_PI_PYTHON:-}
if [ -z "$py" ]; then
  for c in python3.11 python3; do
    if command -v "$c" > /dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py=$(command -v "$c"); break
    fi
  done
fi
if [ -z "$py" ] && ! command -v python3 > /dev/null && command -v apt-get > /dev/null; then
  echo "setup_pi: installing python3"   # Debian 12's python3 is CPython 3.11
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv; }
  command -v python3 > /dev/null && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' &&
    py=$(command -v python3)
fi
if [ -z "$py" ]; then
  echo "setup_pi: error: SecretFlow SPU 0.9.5 needs CPython 3.11 (no python3.11 found on PATH;" \
       "set SENET_PI_PYTHON to one)" >&2
  exit 1
fi
if ! "$py" -c 'import venv, ensurepip' 2> /dev/null && command -v apt-get > /dev/null; then
  echo "setup_pi: installing python3-venv"   # Debian 12's python3 is 3.11; venv is packaged apart
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -qq --no-install-recommends python3-venv; }
fi
if ! "$py" -c 'import venv, ensurepip' 2> /dev/null; then
  echo "setup_pi: error: $py lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)" >&2
  exit 1
fi
echo "setup_pi: creating $venv with $py"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import spu, jax; print("setup_pi: spu", spu.__version__, "jax", jax.__version__)'
cp "$req" "$stamp"
