#!/usr/bin/env python3
"""gpu_figures.py — the GPU day's results as tables: the text table gpu_day.sh prints last, and
the markdown that goes into kernels/README.md's "Measured GPU figures".

Usage:
    python3 tools/gpu/gpu_figures.py OUT_DIR             text (what gpu_day.sh prints last)
    python3 tools/gpu/gpu_figures.py --markdown OUT_DIR  markdown, to paste into kernels/README.md

OUT_DIR is gpu_day.sh's $OUT (the device tool's files_at): summary.txt (the device line),
roof.log (bench_tensor_roof's JSON lines), bench.csv (bench_kernels --csv) and step.log (one JSON
line per training-step run). Missing files give empty sections, never an error: a run cut short
still tabulates what it measured.

Each conv row is compared with cuDNN's fastest algorithm for the same pass and the same math
(FMA rows with cuDNN FMA, TF32 rows — versions named *tf32* — with cuDNN TF32) on the same layer;
the fused training forward with cuDNN's conv + BN (training) + ReLU chain. A ratio > 1: ours is
faster. Training steps are compared with PyTorch eager on the same model, stage and math.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections import defaultdict

CUDNN_PASS = {"conv2d_fprop": "cudnn_fprop", "conv2d_dgrad": "cudnn_dgrad",
              "conv2d_wgrad": "cudnn_wgrad"}


def read_rows(path: str) -> list[dict]:
    try:
        with open(path, newline="") as f:
            return [r for r in csv.DictReader(f) if r.get("median_us")]
    except OSError:
        return []


def json_lines(path: str) -> list[dict]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return out


def device_line(out_dir: str) -> str:
    """nvidia-smi's line in summary.txt (the last "gpu: " line: after a failure, that it failed)."""
    found = "—"
    try:
        with open(os.path.join(out_dir, "summary.txt")) as f:
            for line in f:
                if line.startswith("gpu: "):
                    found = line[5:].strip()
    except OSError:
        pass
    return found


def is_tf32(version: str) -> bool:
    return "tf32" in version


def baseline_us(r: dict, us: dict) -> float | None:
    """cuDNN's median on the same layer, pass and math as row r, or None (no such baseline)."""
    math_ = "tf32" if is_tf32(r["version"]) else "fma"
    if r["kernel"] in CUDNN_PASS:
        return us.get((r["layer"], CUDNN_PASS[r["kernel"]], math_))
    if r["kernel"] == "conv_bn_mrelu_fwd_train":
        return us.get((r["layer"], "cudnn", "conv+bn_train+relu " + math_))
    return None


def conv_rows(rows: list[dict]) -> list[tuple[dict, float | None]]:
    us = {(r["layer"], r["kernel"], r["version"]): float(r["median_us"]) for r in rows}
    return [(r, baseline_us(r, us)) for r in rows]


def geomeans(pairs: list[tuple[dict, float | None]]) -> list[tuple[str, str, int, float, float, float]]:
    ratios = defaultdict(list)
    for r, b in pairs:
        if b:
            ratios[(r["kernel"], r["version"])].append(b / float(r["median_us"]))
    out = []
    for (k, v), xs in sorted(ratios.items()):
        g = math.exp(sum(math.log(x) for x in xs) / len(xs))
        out.append((k, v, len(xs), g, min(xs), max(xs)))
    return out


def step_key(j: dict) -> tuple[str, str, bool]:
    """What a training-step run is compared on: the model, the stage and the math."""
    return (j.get("arch", "resnet18"), j.get("stage", "train"), "tf32" in j.get("impl", ""))


def step_rows(steps: list[dict]) -> list[tuple[dict, float | None]]:
    """Each run with PyTorch's img/s for the same model, stage and math (None for PyTorch's own
    rows)."""
    torch = {}
    for j in steps:
        if j.get("impl", "").startswith("torch"):
            torch[step_key(j)] = j["images_per_second"]
    out = []
    for j in steps:
        ours = not j.get("impl", "").startswith("torch")
        out.append((j, torch.get(step_key(j)) if ours else None))
    return out


def fmt(x: float | None, spec: str = ".1f") -> str:
    return "" if x is None else format(x, spec)


def text(out_dir: str) -> str:
    lines = []
    pairs = conv_rows(read_rows(os.path.join(out_dir, "bench.csv")))
    if not pairs:
        lines.append("no timings in bench.csv")
    lines.append(f"{'kernel':26} {'version':30} {'layers':>6} {'cuDNN/ours geomean':>19} "
                 f"{'worst':>7} {'best':>7}")
    for k, v, n, g, lo, hi in geomeans(pairs):
        lines.append(f"{k:26} {v:30} {n:6d} {g:19.2f} {lo:7.2f} {hi:7.2f}")
    lines.append("(> 1: ours is faster than cuDNN's fastest algorithm of the same math on that layer)")
    for j, ref in step_rows(json_lines(os.path.join(out_dir, "step.log"))):
        vs = f"  ({j['images_per_second'] / ref:.2f}× PyTorch)" if ref else ""
        lines.append(f"step {j.get('arch', 'resnet18'):8} {j.get('stage', 'train'):8} "
                     f"{j['impl']:36} {j['images_per_second']:10.1f} img/s{vs}")
    return "\n".join(lines)


def markdown(out_dir: str) -> str:
    md = [f"Device: {device_line(out_dir)}", ""]
    roofs = json_lines(os.path.join(out_dir, "roof.log"))
    if roofs:
        md += ["| loop | TFLOP/s | peak | % of peak |", "|---|---:|---:|---:|"]
        md += [f"| {r['roof']} | {r['tflops']:.1f} | {r['peak_tflops']:.1f} | "
               f"{100 * r['tflops'] / r['peak_tflops']:.1f} |" for r in roofs if r.get("peak_tflops")]
        md.append("")
    pairs = conv_rows(read_rows(os.path.join(out_dir, "bench.csv")))
    md += ["| layer | kernel | version | median µs | GFLOP/s | GB/s | % of roofline | cuDNN µs "
           "(same math) | cuDNN/ours |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r, b in pairs:
        md.append(f"| {r['layer']} | {r['kernel']} | {r['version']} | {float(r['median_us']):.1f} | "
                  f"{r.get('gflops', '')} | {r.get('gbs', '')} | {r.get('pct_roofline', '')} | "
                  f"{fmt(b)} | {fmt(b / float(r['median_us']) if b else None, '.2f')} |")
    md += ["", "| kernel | version | layers | cuDNN/ours geomean | worst | best |",
           "|---|---|---:|---:|---:|---:|"]
    md += [f"| {k} | {v} | {n} | {g:.2f} | {lo:.2f} | {hi:.2f} |"
           for k, v, n, g, lo, hi in geomeans(pairs)]
    md += ["", "| training step | model | stage | img/s | median ms | "
           "ours/PyTorch (same model, stage, math) |", "|---|---|---|---:|---:|---:|"]
    for j, ref in step_rows(json_lines(os.path.join(out_dir, "step.log"))):
        md.append(f"| {j['impl']} | {j.get('arch', 'resnet18')} | {j.get('stage', 'train')} | "
                  f"{j['images_per_second']:.1f} | "
                  f"{j.get('median_step_ms', '')} | "
                  f"{fmt(j['images_per_second'] / ref if ref else None, '.2f')} |")
    return "\n".join(md)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--markdown"]
    if len(args) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    print(markdown(args[0]) if "--markdown" in argv else text(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
