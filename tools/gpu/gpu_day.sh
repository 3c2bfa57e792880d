#!/usr/bin/env bash
# tools/gpu/gpu_day.sh — the one prepared command for the day a GPU is lent (issue 16, item 6;
# ../shared/GPU_DAY.md). Two halves:
#
#   tools/gpu/gpu_day.sh build      HERE (no GPU): an nvcc Release build for sm_90a without MPI in
#                                   build-gpu/, then gpu_day/payload.tar.xz = the binaries + the
#                                   shared libraries the device lacks (OpenBLAS, which the CPU
#                                   reference dlopens, libgfortran, libstdc++, ...): ~60 MiB
#                                   unpacked, ~15 MiB packed (the call carries 64 MiB in all).
#   tools/gpu/gpu_day.sh run        ON THE DEVICE, in the repository root with gpu_day/ carried:
#       device run: command "bash tools/gpu/gpu_day.sh run", carry ["gpu_day"], timeout_s 540
#                                   Each step time-boxed (≈ 7 minutes in all), results under $OUT:
#     1 nvidia-smi, the libraries found                           → $OUT/summary.txt (the table, last)
#     2 the GPU test suites (test_emu_gpu: the emulator's CUDA semantics, stream capture included,
#       checked on the hardware; test_kernels_gpu, test_cuda_backend_gpu; passed / skipped /
#       failed per binary, "ALL SKIPPED" when none reached the GPU; a binary that crashes or
#       loses its CUDA context runs again a test suite per process, so one bad kernel costs only
#       its own suite)                                                    → $OUT/tests_*.log
#     3a bench_tensor_roof: FFMA, mma.sync and wgmma TF32 loops in TFLOP/s, % of peak → $OUT/roof.log
#     3 bench_kernels at N = 128 on the ResNet-18 and WRN-22-8 layer shapes: every version of
#       every kernel, cuBLAS and cuDNN (FMA math and TF32) baselines; a row that crashes, hangs
#       (30 s a row) or loses the CUDA context is a FAIL row and the run resumes after it
#       (tools/bench/bench_resume.h)                                 → $OUT/bench.csv, bench.log
#     4 the training step (CIFAR ResNet-18, batch 128): ours FP32, TF32 (mma.sync, and on Hopper's
#       wgmma: --tf32-wgmma), FP32 with forward, backward and SGD replayed as a CUDA graph, FP32
#       and TF32 with the BN backward folded into dgrad/wgrad, PyTorch eager on the device's torch
#       (channels_last, TF32 off and on); SENet's distillation step (stages 2-3: teacher forward,
#       masked student, CE + KD + PRAM) eager and as a graph, and PyTorch's (the users' script);
#       WRN-22-8's step (batch 128, FP32), ours and PyTorch's
#                                                                                  → $OUT/step.log
#     5 compute-sanitizer racecheck + memcheck on the conv kernel tests, ncu on the main conv
#       kernels (where the runtime allows; a failure is reported, not fatal)  → $OUT/tools.log
#     6 the table (tools/gpu/gpu_figures.py): each conv kernel's geomean ratio to cuDNN (same pass,
#       same math), the step in img/s and its ratio to PyTorch    → printed last, and summary.txt;
#       the markdown for kernels/README.md's "Measured GPU figures" → $OUT/figures.md
#     Each step leaves the later ones their minimum, so a slow step cannot squeeze out the rest.
# Rehearse here: `tools/gpu/gpu_day.sh build && OUT=/tmp/gpu_out tools/gpu/gpu_day.sh run` (every
# GPU step then reports "no device" and the script still ends with its table).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-}
pkg="$here/gpu_day"     # what travels: payload.tar.xz and the commit it was built from
stage="$here/build-gpu/gpu_day_stage"

build() {
  local b="$here/build-gpu"
  command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
  mkdir -p "$b"
  cmake -S "$here" -B "$b" -DCMAKE_BUILD_TYPE=Release -DSENET_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90a -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON >"$b/configure.log" 2>&1 ||
    { tail -20 "$b/configure.log"; return 1; }
  cmake --build "$b" -j "$(nproc)" --target gpu_day_payload || return 1  # CMakeLists.txt
  rm -rf "$stage" "$pkg" && mkdir -p "$stage/bin" "$stage/lib" "$pkg"
  cp "$b/tests/kernels/gpu/test_kernels_gpu" "$b/tests/cuda_backend/test_cuda_backend_gpu" \
    "$b/tests/emu/gpu/test_emu_gpu" \
    "$b/tools/bench/gpu/bench_kernels" "$b/tools/bench/gpu/bench_train_step_gpu" \
    "$b/tools/bench/gpu/bench_tensor_roof" "$stage/bin/"
  strip --strip-unneeded "$stage"/bin/* 2>/dev/null
  # Shared libraries: everything ldd finds, and the OpenBLAS that engine/cpu/blas.cpp dlopens,
  # except glibc's own and CUDA's (the device has the driver, and cuDNN/cuBLAS/NCCL/cudart in its
  # PyTorch wheels; run() points LD_LIBRARY_PATH there).
  { ldd "$stage"/bin/* /lib/x86_64-linux-gnu/libopenblas.so.0 | awk '/=> \// {print $3}'
    echo /lib/x86_64-linux-gnu/libopenblas.so.0; } | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | ld-linux*) ;;
      libcuda.so* | libcudnn* | libcublas* | libnccl* | libcudart* | libnvrtc*) ;;
      *) cp -L "$lib" "$stage/lib/" ;;
    esac
  done
  cp "$here/tools/bench/torch_step.py" "$here/tools/gpu/gpu_figures.py" "$stage/"
  git -C "$here" describe --always --dirty >"$pkg/commit" 2>/dev/null
  cp "$pkg/commit" "$stage/commit" 2>/dev/null
  tar -C "$stage" -cJf "$pkg/payload.tar.xz" . || return 1
  local unpacked=$(($(du -sk "$stage" | cut -f1) / 1024)) packed=$(($(du -sk "$pkg" | cut -f1) / 1024))
  ls -la "$stage/bin" "$stage/lib"
  echo "gpu_day: $pkg/payload.tar.xz: ${packed} MiB (${unpacked} MiB unpacked); carry gpu_day"
  [ "$packed" -le 48 ] || { echo "gpu_day: too big to carry with the working tree"; return 1; }
}

run() {
  local out=${OUT:-$here/gpu_day_out}
  mkdir -p "$out"
  local log="$out/summary.txt" t0=$SECONDS
  : >"$log"
  say() { echo "$*" | tee -a "$log"; }
  # Every step is time-boxed, and all of them end by GPU_DAY_SECONDS (default 480) after the start,
  # leaving the rest of a 540 s call for the table and the copy back. Each step also leaves the
  # later steps their minimum (`reserve`, seconds): a slow early step cannot squeeze out the
  # training step or the sanitizer — the steps' caps add up to more than the deadline.
  local deadline=$((SECONDS + ${GPU_DAY_SECONDS:-480})) reserve=0
  box() {  # box CAP cmd...: run cmd for at most min(CAP, time left − reserve) seconds
    local cap=$1 left=$((deadline - reserve - SECONDS))
    shift
    [ "$left" -lt "$cap" ] && cap=$left
    [ "$cap" -ge 5 ] || { echo "(skipped: out of time) $*"; return 124; }
    timeout "$cap" "$@"
  }
  [ -f "$pkg/payload.tar.xz" ] ||
    { say "gpu_day: $pkg/payload.tar.xz missing: run 'tools/gpu/gpu_day.sh build' here, carry gpu_day"; return 1; }
  local unpack=/tmp/gpu_day_pkg
  rm -rf "$unpack" && mkdir -p "$unpack" && tar -C "$unpack" -xJf "$pkg/payload.tar.xz" || return 1
  pkg=$unpack
  # The device's CUDA libraries: its PyTorch wheels' nvidia/*/lib folders.
  local nv
  nv=$(python3 -c "import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))" 2>/dev/null)/nvidia
  local libs="$pkg/lib"
  for d in "$nv"/*/lib; do [ -d "$d" ] && libs="$libs:$d"; done
  export LD_LIBRARY_PATH="$libs:${LD_LIBRARY_PATH:-}"
  say "== gpu_day at $(cat "$pkg/commit" 2>/dev/null) on $(hostname), $(date -u +%FT%TZ)"
  (box 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
    --format=csv,noheader || echo "nvidia-smi failed") 2>&1 | sed 's/^/gpu: /' | tee -a "$log"
  for l in libcudnn.so.9 libcublas.so.13 libnccl.so.2 libopenblas.so.0; do
    local found
    found=$(for d in ${libs//:/ }; do [ -e "$d/$l" ] && echo "$d/$l"; done | head -1)
    say "lib $l: ${found:-$(ldconfig -p 2>/dev/null | grep -m1 "$l" | awk '{print $NF}')}"
  done
  local missing
  missing=$(ldd "$pkg"/bin/* 2>/dev/null | grep "not found" | sort -u)
  [ -z "$missing" ] || say "missing libraries: $missing"

  # 2. Tests (≈ 2 min cap; later steps keep 330 s). gtest's own summary per binary: passed,
  #    skipped (a binary whose every test skips did not reach the GPU — said so, not a pass), failed.
  #    A binary that dies (a signal) or whose log shows a lost CUDA context (every later test of the
  #    process fails with it) runs again one suite per process: the first failures are the kernel's,
  #    the rest must not be counted against the others.
  reserve=330
  local lost='illegal memory access|illegal instruction|misaligned address|unspecified launch failure'
  lost="$lost|hardware stack error|context is destroyed|device-side assert|invalid program counter"
  lost="$lost|operation not supported on global/shared address space"
  for t in test_emu_gpu test_kernels_gpu test_cuda_backend_gpu; do
    local tlog="$out/tests_$t.log"
    box 120 "$pkg/bin/$t" --gtest_brief=1 >"$tlog" 2>&1
    local rc=$? passed skipped failed how=""
    [ "$rc" = 124 ] && how=" — cut by its time box"
    if [ "$rc" -gt 128 ] || grep -Eqi "$lost" "$tlog"; then
      how=" — lost its CUDA context: again a suite per process"
      [ "$rc" -gt 128 ] && how=" — died (exit $rc): again a suite per process"
      mv "$tlog" "$out/tests_${t}_whole.log"
      local suite
      # gtest lists "Suite." (or "Prefix/Suite.", "Suite/0.  # TypeParam = …") then its tests indented.
      local suites
      suites=$(box 20 "$pkg/bin/$t" --gtest_list_tests 2>/dev/null | awk '/^[^ ]/ && $1 ~ /\.$/ {print $1}')
      for suite in $suites; do
        box 60 "$pkg/bin/$t" --gtest_brief=1 --gtest_filter="${suite}*" >>"$tlog" 2>&1 ||
          echo "[suite ${suite%.}: exit $?]" >>"$tlog"
      done
    fi
    passed=$(grep -o '^\[  PASSED  \] [0-9]*' "$tlog" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}')
    skipped=$(grep -o '^\[  SKIPPED \] [0-9]* test' "$tlog" | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
    failed=$(grep -o '^\[  FAILED  \] [0-9]* test' "$tlog" | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
    [ -n "$how" ] && [ "$rc" != 124 ] &&
      how="$how ($(grep -c '^\[suite ' "$tlog") suites exited non-zero: failures, or died)"
    local verdict="exit $rc, $passed passed, $skipped skipped, $failed failed$how"
    [ "$passed" = 0 ] && [ "$skipped" != 0 ] && verdict="$verdict — ALL SKIPPED: no GPU reached"
    say "tests $t: $verdict"
    cat "$tlog" >>"$out/tests.log"
  done

  # 3a. The arithmetic roofs: FFMA, mma.sync and wgmma TF32 loops in TFLOP/s (≈ 5 s).
  reserve=320
  box 30 "$pkg/bin/bench_tensor_roof" >"$out/roof.log" 2>&1
  say "bench_tensor_roof: exit $?"
  grep -v '^{' "$out/roof.log" | sed 's/^/roof: /' | tee -a "$log"

  # 3. Kernel benchmark (≈ 3 min cap; the step and the sanitizer keep 150 s): N = 128, every
  #    registry entry and the baselines (bench.csv gets each row when it is done: a cut run keeps
  #    what it measured).
  #    A row that kills the process, hangs past --row-timeout or loses the CUDA context (exit 3) is
  #    written as FAIL and a new process goes on after it (--resume), within the same 200 s.
  reserve=150
  local bench_end=$((SECONDS + 200)) resume=() rc
  rm -f "$out/bench.csv" "$out/bench.csv.running"
  : >"$out/bench.log"
  while :; do
    box $((bench_end - SECONDS)) "$pkg/bin/bench_kernels" --n 128 --reps 20 --row-timeout 30 \
      --csv "$out/bench.csv" "${resume[@]}" >>"$out/bench.log" 2>&1
    rc=$?
    say "bench_kernels: exit $rc ($({ wc -l <"$out/bench.csv"; } 2>/dev/null || echo 0) csv lines)"
    # Done (1: some check failed; 2: bad arguments; 77: no device; 124: out of time). Else it died
    # on a row (137 SIGKILL, 142 the row timeout's SIGALRM, 3 a lost context): go on after it.
    case $rc in 0 | 1 | 2 | 77 | 124) break ;; esac
    # Only with a row to go on after (a process that died before its first row would again).
    [ "$rc" = 3 ] || [ -f "$out/bench.csv.running" ] || break
    [ $((bench_end - SECONDS)) -ge 20 ] || break
    resume=(--resume)
  done

  # 4. The training step, ours and PyTorch's, and SENet's distillation step (stages 2-3: teacher
  #    forward, masked student, CE + KD + PRAM): ours eager and as a graph, PyTorch's (≈ 2 min cap).
  local step_args=(--arch resnet18 --width 1 --in-channels 3 --classes 10 --batch 128 --steps 20 --warmup 5)
  local wrn_args=(--arch wrn --wrn-depth 22 --wrn-k 8 --width 1 --in-channels 3 --classes 10
    --batch 128 --steps 10 --warmup 3)
  reserve=45  # the sanitizer's racecheck
  {
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --allow-tf32
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --allow-tf32 --tf32-wgmma
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --graph
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --fold-bn
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --allow-tf32 --fold-bn
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --stage distill
    box 40 "$pkg/bin/bench_train_step_gpu" "${step_args[@]}" --device cuda --stage distill --graph
    box 40 python3 "$pkg/torch_step.py" "${step_args[@]}" --device cuda --layout channels_last
    box 40 python3 "$pkg/torch_step.py" "${step_args[@]}" --device cuda --layout channels_last --tf32
    box 40 python3 "$pkg/torch_step.py" "${step_args[@]}" --device cuda --layout channels_last \
      --stage distill
    # WRN-22-8 (its pre-activation blocks fused end to end: kernels/README.md step 20), FP32.
    box 40 "$pkg/bin/bench_train_step_gpu" "${wrn_args[@]}" --device cuda
    box 40 python3 "$pkg/torch_step.py" "${wrn_args[@]}" --device cuda --layout channels_last
  } >"$out/step.log" 2>&1
  say "training step: $(grep -c images_per_second "$out/step.log") of 13 runs reported"

  # 5. Sanitizer and profiler on the conv kernels (≈ 1 min cap; may be refused by the runtime).
  reserve=0
  {
    echo "== compute-sanitizer racecheck"
    box 45 compute-sanitizer --tool racecheck --print-limit 20 "$pkg/bin/test_kernels_gpu" \
      --gtest_filter='CudaConv2d.RaceFree*:CudaConvBnMrelu.RaceFree' 2>&1 | tail -15
    echo "== compute-sanitizer memcheck"
    box 45 compute-sanitizer --tool memcheck --print-limit 20 "$pkg/bin/test_kernels_gpu" \
      --gtest_filter='CudaConv2dFprop.*:CudaConv2dTf32.*' 2>&1 | tail -15
    echo "== ncu (clock control none) on fprop v3, v4, v5 of ResNet-18 layer 1"
    box 60 ncu --clock-control none --section SpeedOfLight --section WarpStateStats \
      --section Occupancy -k regex:conv2d_fprop_implicit_gemm -c 6 \
      "$pkg/bin/bench_kernels" --n 128 --reps 10 --filter 'conv2d_fprop conv2d_fprop' 2>&1 | tail -120
  } >"$out/tools.log" 2>&1
  say "sanitizer: $(grep -m2 'ERROR SUMMARY\|RACECHECK SUMMARY' "$out/tools.log" | tr '\n' ' ')"

  # 6. The table.
  say ""
  say "== table (median µs of each conv kernel and its ratio to cuDNN on the same layer; step img/s)"
  # (tools/gpu/gpu_figures.py; `--markdown OUT` makes kernels/README.md's "Measured GPU figures".)
  python3 "$pkg/gpu_figures.py" "$out" 2>&1 | tee -a "$log"
  python3 "$pkg/gpu_figures.py" --markdown "$out" >"$out/figures.md" 2>&1
  say "gpu_day: done in $((SECONDS - t0)) s"
}

case "$mode" in
  build) build ;;
  run) run ;;
  *) sed -n '2,25p' "$0"; exit 2 ;;
esac
