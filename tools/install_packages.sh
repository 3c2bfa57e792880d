#!/usr/bin/env bash
# tools/install_packages.sh — install the Debian packages of a list that are not installed yet
# (apt-get, as root or through sudo); a no-op when all are there. Used by setup.sh and fuzz.sh.
#   tools/install_packages.sh LABEL PACKAGE...     (LABEL prefixes the one line it prints)
set -euo pipefail
label=$1
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "$label: installing missing packages: ${missing[*]}"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
