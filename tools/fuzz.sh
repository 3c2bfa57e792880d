#!/usr/bin/env bash
# tools/fuzz.sh — build the libFuzzer targets of tests/fuzz/ with clang 14 (ASan + UBSan) and run
# each for a while, then print a summary: executions, exec/s, coverage (cov = edges, ft = features,
# from libFuzzer's final line), corpus size, crashes.
#   tools/fuzz.sh [SECONDS] [TARGET...]     (default: 600 s each, every target)
#   e.g. tools/fuzz.sh 600 safetensors idx  (TARGET = the <format> of tests/fuzz/fuzz_<format>.cpp)
# Installs clang-14 and libclang-rt-14-dev (libFuzzer's runtime) when missing (root or sudo).
# Each target fuzzes in one process; SENET_FUZZ_PARALLEL (default 2) of them run at once.
# Crashes counted are the artifacts this run wrote. Working corpora grow under $SENET_FUZZ_WORK/<format>/corpus (default build-fuzz/work, ignored by
# git), seeded from tests/fuzz/corpus/<format> and tests/fuzz/regressions/<format>; a later run goes
# on from them (delete the folder to start from the seeds). Crash, leak, timeout and OOM inputs land
# in $SENET_FUZZ_WORK/<format>/artifacts/; fix the parser, then copy the input into
# tests/fuzz/regressions/<format>/ (CTest replays it: label fuzz).
# Environment: SENET_FUZZ_BUILD (default build-fuzz), SENET_FUZZ_WORK, SENET_FUZZ_PARALLEL,
# SENET_JOBS (build jobs, default nproc), SENET_FUZZ_ARGS (extra libFuzzer flags).
# Exit status: 1 when any target found a crash, else 0.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
[ $# -gt 0 ] && shift
build=${SENET_FUZZ_BUILD:-$here/build-fuzz}
work=${SENET_FUZZ_WORK:-$build/work}
parallel=${SENET_FUZZ_PARALLEL:-2}
jobs=${SENET_JOBS:-$(nproc)}

all=(safetensors idx cifar10 cifar100 tiny_imagenet config masks checkpoint)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (have: ${all[*]})" >&2; exit 2; }
done

# Longest input per format: a few records / files of the format, with room to grow.
max_len() {
  case "$1" in
    cifar10 | cifar100) echo 16384 ;;
    masks | tiny_imagenet) echo 8192 ;;
    checkpoint) echo 131072 ;;
    *) echo 4096 ;;
  esac
}
dict() {  # libFuzzer dictionary for the JSON-based formats
  case "$1" in
    safetensors | config | masks | checkpoint) echo "-dict=$here/tests/fuzz/json.dict" ;;
  esac
}

pkgs=(clang-14 libclang-rt-14-dev cmake make libopenblas-dev nlohmann-json3-dev zlib1g-dev
      libjpeg62-turbo-dev libcli11-dev)
"$here/tools/install_packages.sh" fuzz "${pkgs[@]}"

# The parsers link the CPU backend but never run its kernels: its AVX-512 ones are left out (the
# slowest files to compile under ASan).
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DSENET_FUZZ=ON \
  -DSENET_BUILD_TESTS=OFF -DSENET_CUDA=OFF -DSENET_CPU_AVX512=OFF "${launcher[@]}" >/dev/null
# Every target: the one goal fuzz_all, whose files compile side by side (named goals build one by one).
goals=("${targets[@]/#/fuzz_}")
[ "${targets[*]}" = "${all[*]}" ] && goals=(fuzz_all)
cmake --build "$build" -j "$jobs" --target "${goals[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

run_one() {  # fuzz one target for $secs seconds; its log is $work/<t>/fuzz.log
  local t=$1 d=$work/$1
  mkdir -p "$d/corpus" "$d/artifacts"
  touch "$d/start"  # crashes of this run: artifacts newer than this
  for src in "$here/tests/fuzz/corpus/$t" "$here/tests/fuzz/regressions/$t"; do
    [ -d "$src" ] && find "$src" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$d/corpus/" \;
  done
  local rc=0
  # shellcheck disable=SC2046,SC2086
  "$build/tests/fuzz/fuzz_$t" "$d/corpus" -max_total_time="$secs" -print_final_stats=1 \
    -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" $(dict "$t") \
    -artifact_prefix="$d/artifacts/" ${SENET_FUZZ_ARGS:-} >"$d/fuzz.log" 2>&1 || rc=$?
  echo "$rc" >"$d/rc"
  echo "fuzz: $t finished (exit $rc)"
}

running=0
for t in "${targets[@]}"; do
  rm -f "$work/$t/fuzz.log" "$work/$t/rc"
  echo "fuzz: $t for $secs s"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

# Summary from each log: the final stats and the last status line (#N DONE/pulse cov: ft: corp:).
status=0
summary=$work/summary.md
{
  echo "| target | seconds | execs | exec/s | cov | ft | corpus (files/bytes) | crashes | exit |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    log=$work/$t/fuzz.log
    execs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" | tail -1 || true)
    rate=$(grep -oP 'stat::average_exec_per_sec:\s*\K[0-9]+' "$log" | tail -1 || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(grep -oP 'cov: \K[0-9]+' <<<"$last" || true)
    ft=$(grep -oP 'ft: \K[0-9]+' <<<"$last" || true)
    corp=$(grep -oP 'corp: \K[0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" || true)
    crashes=$(find "$work/$t/artifacts" -maxdepth 1 -type f -newer "$work/$t/start" | wc -l)
    rc=$(cat "$work/$t/rc" 2>/dev/null || echo "?")
    if [ "$crashes" -gt 0 ] || [ "$rc" != 0 ]; then status=1; fi
    echo "| $t | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes | $rc |"
  done
} >"$summary"
cat "$summary"
echo "fuzz: summary in $summary; logs in $work/<target>/fuzz.log"
exit "$status"
