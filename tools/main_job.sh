#!/usr/bin/env bash
# tools/main_job.sh — the README's first command: install what is missing, build, and run the main
# job: the SENet pipeline on Fashion-MNIST (teacher → sensitivity → allocation → mask search →
# fine-tuning) with a small ResNet-18 and a budget of ~3 % of its ReLUs, about 10 minutes on 2 cores.
#   tools/main_job.sh [extra `senet pipeline` options, e.g. --budget 4000]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# Only the binary it runs: the tests and benchmarks are tools/test.sh's (a fresh clone builds the
# `senet` target's ~100 objects instead of every test binary).
SENET_TARGETS=senet "$here/tools/setup.sh" "$here/build"
"$here/build/tools/senet" info
exec "$here/build/tools/senet" pipeline --config "$here/configs/fmnist_senet.json" \
  --out "$here/runs/fmnist_senet" "$@"
