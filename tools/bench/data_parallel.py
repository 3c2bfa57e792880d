#!/usr/bin/env python3
"""tools/bench/data_parallel.py — `senet train` on one process against the same run on several.

Measures, in one run on this machine, interleaved for --rounds rounds (median, min–max):
  * images/s of one epoch at np 1 × T threads and at np K × (T/K) threads (same cores in all);
  * per step: the time the ranks spent in collectives (gradient buckets, BatchNorm statistics,
    the loss check: `collective_seconds` of metrics.jsonl) against the rest of the step;
  * the same with per-rank BatchNorm statistics (train.sync_batchnorm=false), the faster option.
Every run trains the main job's teacher (configs/fmnist_senet.json: ResNet-18 w0.125, batch 128)
on --images training images. Needs a built `senet` (BUILD_DIR/tools/senet) and mpirun.

  tools/bench/data_parallel.py [--build build] [--ranks 2] [--threads 2] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


@dataclass
class Setup:
    name: str
    ranks: int
    threads: int
    sync_bn: bool = True


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_once(senet: Path, s: Setup, images: int, out: Path) -> dict:
    cmd = [str(senet), "train", "--config", str(HERE / "configs/fmnist_senet.json"),
           "--epochs", "1", "--threads", str(s.threads), "--out", str(out),
           "--set", f"data.train_limit={images + 5000}", "--set", "data.test_limit=256",
           "--set", "progress=false", "--set", f"train.sync_batchnorm={str(s.sync_bn).lower()}"]
    if s.ranks > 1:
        cmd = [shutil.which("mpirun") or "mpirun", "--allow-run-as-root", "--oversubscribe",
               "--bind-to", "none", "-np", str(s.ranks)] + cmd
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"data_parallel: {s.name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    for line in (out / "metrics.jsonl").read_text().splitlines():
        j = json.loads(line)
        if not j.get("final"):
            return j
    sys.exit(f"data_parallel: {s.name}: no epoch line in {out}/metrics.jsonl")


def fmt(xs: list[float], digits: int = 0) -> str:
    med = statistics.median(xs)
    return f"{med:.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", str(HERE / "build")))
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="cores in every setup")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=12800, help="training images (100 steps)")
    a = ap.parse_args()
    senet = Path(a.build) / "tools/senet"
    if not senet.exists():
        sys.exit(f"data_parallel: {senet} not found: build it first (tools/setup.sh)")
    if a.threads % a.ranks:
        sys.exit("data_parallel: --threads must be a multiple of --ranks")
    per = a.threads // a.ranks
    setups = [Setup(f"np 1 × {a.threads} threads", 1, a.threads),
              Setup(f"np {a.ranks} × {per} thread{'s' if per > 1 else ''}", a.ranks, per),
              Setup(f"np {a.ranks} × {per}, per-rank BN", a.ranks, per, sync_bn=False)]
    rows: dict[str, list[dict]] = {s.name: [] for s in setups}
    with tempfile.TemporaryDirectory(prefix="senet_dp_bench_") as tmp:
        for k in range(a.rounds):
            for s in setups:
                rows[s.name].append(run_once(senet, s, a.images, Path(tmp) / f"r{k}"))
                print(f"round {k + 1}/{a.rounds}: {s.name}: "
                      f"{rows[s.name][-1]['images_per_second']:.0f} img/s", file=sys.stderr)
    steps = a.images // 128
    base = statistics.median(m["images_per_second"] for m in rows[setups[0].name])
    print(f"\n`senet train`, main job's teacher, {a.images} images = {steps} steps of 128, "
          f"{a.rounds} interleaved rounds, median (min–max); {cpu_name()}, "
          f"{os.cpu_count()} logical CPUs\n")
    print("| setup | img/s | ÷ np 1 | collectives ms/step | rest of the step ms | gradient wait ms/step |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in setups:
        ms = rows[s.name]
        ips = [m["images_per_second"] for m in ms]
        coll = [1e3 * m.get("collective_seconds", 0.0) / steps for m in ms]
        rest = [1e3 * m["seconds"] / steps - c for m, c in zip(ms, coll)]
        grad = [1e3 * m.get("allreduce_wait_seconds", 0.0) / steps for m in ms]
        print(f"| {s.name} | {fmt(ips)} | {statistics.median(ips) / base:.2f} | {fmt(coll, 2)} | "
              f"{fmt(rest, 1)} | {fmt(grad, 2)} |")


if __name__ == "__main__":
    main()
