#!/usr/bin/env bash
# tools/test_venv.sh — make a small Python venv that some tests need, from pinned PyPI packages:
#   tools/test_venv.sh NAME VENV REQUIREMENTS [MODULE...]
# NAME prefixes its messages (and says which tests go without it), MODULE... must import in the
# venv afterwards. Used by tools/interop_venv.sh (safetensors + numpy) and tools/gpu/sass_venv.sh
# (cuobjdump + nvdisasm wheels). Idempotent: when the venv already has exactly those requirements
# it returns at once. The engine needs none of this: when python3's venv module is missing or PyPI
# cannot be reached, it prints a warning, leaves no half-made venv (so CMake does not register the
# tests that need it) and exits 0.
set -uo pipefail
name=$1 venv=$2 req=$3
shift 3
stamp=$venv/.senet-requirements.txt

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
  echo "$name: $venv is up to date"
  exit 0
fi
warn() {
  echo "$name: WARNING: $*; the tests that need $venv will not be registered" >&2
  rm -rf "$venv"
  exit 0
}
command -v python3 > /dev/null || warn "no python3 on PATH"
python3 -c 'import venv, ensurepip' 2> /dev/null ||
  warn "python3 lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)"
echo "$name: creating $venv ($req)"
rm -rf "$venv"
python3 -m venv "$venv" || warn "python3 -m venv $venv failed"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --timeout 20 --retries 1 -r "$req" ||
  warn "pip could not install $req (is PyPI reachable?)"
for m in "$@"; do
  "$venv/bin/python" -c "import $m; print('$name: $m', getattr($m, '__version__', ''))" ||
    warn "the venv cannot import $m"
done
cp "$req" "$stamp"
