#!/usr/bin/env bash
# tools/format.sh — clang-format over every tracked C++/CUDA source (.clang-format at the root:
# Google style, 100 columns), with Debian 12's clang-format (14): one formatter, one version, so
# the check below never flips with the machine.
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   change nothing: list the files that differ and exit 1 (tools/test.sh, CI)
# The fuzz corpora are data, not code, and stay as they are.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
"$here/tools/install_packages.sh" format clang-format
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = --check ]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format: ${#bad[@]} of ${#files[@]} files differ from clang-format (run tools/format.sh):"
    printf '  %s\n' "${bad[@]}"
    exit 1
  fi
  echo "format: ${#files[@]} files as clang-format writes them"
else
  clang-format -i "${files[@]}"
  echo "format: formatted ${#files[@]} files"
fi
