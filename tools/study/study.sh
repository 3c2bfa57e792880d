#!/usr/bin/env bash
# tools/study/study.sh — the compute-fair SENet-vs-SNL study of docs/results.md, unattended and
# resumable: builds senet, runs the grid (tools/study/senet_study: a teacher per seed, 3 seeds,
# budgets 1/3/10 % of the ResNet-18 width-0.125 model's 69,632 ReLUs, eleven arms, each student the
# same 3 epochs after the teacher), then writes docs/results.md's tables and docs/results_study.png.
#   tools/study/study.sh [ROOT] [run options]   (ROOT default: runs/study2)
#   e.g. tools/study/study.sh runs/study2 --seeds 1 2 --budgets 0.03
# Rerunning the same command skips finished cells and resumes an interrupted one. The whole grid
# is 99 students: about 3½ hours on 2 cores (one student ≈ 2 min, a teacher ≈ 1 min).
# Environment: SENET_BIN  use this senet binary instead of building build/tools/senet
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
root=${1:-$here/runs/study2}
[ $# -gt 0 ] && shift
if [ -z "${SENET_BIN:-}" ]; then
  "$here/tools/setup.sh" "$here/build"
  SENET_BIN=$here/build/tools/senet
fi
"$here/tools/install_packages.sh" study python3 python3-matplotlib
cd "$here/tools/study"
/usr/bin/python3 -m senet_study run "$root" --senet "$SENET_BIN" \
  --config "$here/configs/fmnist_study.json" "$@"
/usr/bin/python3 -m senet_study report "$root" --docs "$here/docs"
