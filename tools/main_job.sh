#!/usr/bin/env bash
# tools/main_job.sh — the README's first command: install what is missing, build, and run the main
# job on Fashion-MNIST (a small ResNet-18 trained on 2 cores; the SENet pipeline joins it here).
#   tools/main_job.sh [extra `senet train` options, e.g. --epochs 5]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tools/setup.sh" "$here/build"
"$here/build/tools/senet" info
"$here/build/tools/senet" summary --config "$here/configs/fmnist_resnet18_w025.json"
exec "$here/build/tools/senet" train --config "$here/configs/fmnist_resnet18_w025.json" \
  --out "$here/runs/fmnist_resnet18_w025" "$@"
