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
the fused training forward with cuDNN's conv + BN (training) + ReLU chain, the fused backward with
that chain's backward, and the two together (the layer's training step: issue 16's targets) with
cuDNN's two. A ratio > 1: ours is faster. Training steps are compared with PyTorch eager on the same model, stage and math.

Last comes "What the figures decide": the choices the GPU day is run to make, each with the two
figures compared, their ratio and a verdict (within ±3 %, BAND: a tie). The training-step options
(ResNet-18, same stage): set_cuda_tf32_wgmma, set_cuda_fold_bn_backward and cuda_graph, img/s with
the option on over img/s with it off (the folded BN backward in FP32 and in TF32). The split-K
versions against the versions they split, per layer (fprop's at any stride, dgrad's at stride 1:
which layers the plan should split, its split thresholds), and dgrad's stride-phase versions
against the versions they replace, per strided layer: the unsplit (unphased) median µs over the
split (phased) one, so a ratio > 1: the split (the phases) help.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from collections import defaultdict
from typing import NamedTuple

CUDNN_PASS = {"conv2d_fprop": "cudnn_fprop", "conv2d_dgrad": "cudnn_dgrad",
              "conv2d_wgrad": "cudnn_wgrad"}

# A decision's band: a ratio within 1 ± BAND is a tie (run-to-run noise, not a reason to change).
BAND = 0.03

# The training-step options the GPU day decides (ResNet-18): (option, its default, stage, the run
# with the option on, the run with it off). The impl names are bench_train_step's.
STEP_DECISIONS = [
    ("set_cuda_tf32_wgmma", "off", "train", "senet-cuda-tf32-wgmma", "senet-cuda-tf32"),
    ("set_cuda_fold_bn_backward", "off", "train", "senet-cuda-fp32-foldbn", "senet-cuda-fp32"),
    ("set_cuda_fold_bn_backward", "off", "train", "senet-cuda-tf32-foldbn", "senet-cuda-tf32"),
    ("cuda_graph", "on", "train", "senet-cuda-fp32-graph", "senet-cuda-fp32"),
    ("cuda_graph", "on", "distill", "senet-cuda-fp32-graph", "senet-cuda-fp32"),
]

# Which layers a pair is compared on, by stride: "any", "stride-1" or "strided" (> 1).
LAYER_WORDS = {"any": "layers", "stride-1": "stride-1 layers", "strided": "strided layers"}

# (kernel, split-K version, the version it splits, the layers): fprop splits at any stride (its
# plan does not look at it: ResNet-18's layer4.0 conv1 and shortcut split); dgrad's split versions
# hand strided layers over to the phase versions, so they are compared on stride-1 layers.
SPLIT_PAIRS = [
    ("conv2d_fprop", "v6_simt_split_k", "v5_simt_128x128", "any"),
    ("conv2d_fprop", "v8_tf32_split_k", "v4_tf32_mma", "any"),
    ("conv2d_fprop", "v9_tf32_wgmma_split_k", "v7_tf32_wgmma", "any"),
    ("conv2d_dgrad", "v7_simt_split_k", "v4_simt_128x128", "stride-1"),
    ("conv2d_dgrad", "v8_tf32_split_k", "v3_tf32_mma", "stride-1"),
    ("conv2d_dgrad", "v9_tf32_wgmma_split_k", "v6_tf32_wgmma", "stride-1"),
]

# (kernel, stride-phase version, the version it replaces), compared on layers of stride > 1.
PHASE_PAIRS = [
    ("conv2d_dgrad", "v5_simt_phases", "v4_simt_128x128"),
    ("conv2d_dgrad", "v10_tf32_phases", "v3_tf32_mma"),
    ("conv2d_dgrad", "v11_tf32_wgmma_phases", "v6_tf32_wgmma"),
]


def medians(rows: list[dict]) -> dict:
    """(layer, kernel, version) → median µs of bench.csv's timed rows."""
    return {(r["layer"], r["kernel"], r["version"]): float(r["median_us"]) for r in rows}


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
    if r["kernel"] == "conv_bn_mrelu_bwd":
        return us.get((r["layer"], "cudnn", "conv+bn_train+relu bwd " + math_))
    return None


# The fused layer's training step — forward plus backward, ours against cuDNN's conv + BN + ReLU
# chain and its backward in the same math (issue 16's targets: ≥ cuDNN in FP32, ≥ 0.8× in TF32):
# (our forward, our backward) versions — the backward the engine runs in each math (dgrad v7 in
# FP32, v8 / v9 in TF32), and FP32's folded one; TF32 where the names say so.
LAYER_STEPS = [("3_launches", "bn_bwd+dgrad_v7+wgrad_v4"),
               ("3_launches", "folded_dgrad_v4+wgrad_v4"),
               ("3_launches_tf32", "bn_bwd+dgrad_v8+wgrad_v3_tf32"),
               ("3_launches_tf32_wgmma", "bn_bwd+dgrad_v9+wgrad_v5_tf32_wgmma")]


def layer_steps(rows: list[dict]) -> list[tuple[str, str, str, float, float]]:
    """Per layer and LAYER_STEPS pair with every row timed: (layer, forward, backward, our µs,
    cuDNN's µs), each the sum of the two passes' medians."""
    us = medians(rows)
    out = []
    for layer in sorted({r["layer"] for r in rows}):
        for fwd, bwd in LAYER_STEPS:
            math_ = "tf32" if is_tf32(fwd) else "fma"
            theirs = [us.get((layer, "cudnn", "conv+bn_train+relu " + math_)),
                      us.get((layer, "cudnn", "conv+bn_train+relu bwd " + math_))]
            ours = [us.get((layer, "conv_bn_mrelu_fwd_train", fwd)),
                    us.get((layer, "conv_bn_mrelu_bwd", bwd))]
            if None not in ours and None not in theirs:
                out.append((layer, fwd, bwd, sum(ours), sum(theirs)))
    return out


def layer_step_lines(rows: list[dict]) -> list[str]:
    """The layer-step target as text: each pair's geometric mean of cuDNN/ours over the layers."""
    steps = layer_steps(rows)
    lines = ["== The fused layer's training step (forward + backward) against cuDNN's conv + BN + "
             "ReLU and its backward in the same math (> 1: ours is faster; the targets: ≥ 1 in "
             "FP32, ≥ 0.8 in TF32)"]
    for fwd, bwd in LAYER_STEPS:
        xs = [theirs / ours for _, f, b, ours, theirs in steps if (f, b) == (fwd, bwd)]
        if not xs:
            lines.append(f"{fwd} + {bwd}: not measured")
            continue
        g = math.exp(sum(math.log(x) for x in xs) / len(xs))
        lines.append(f"{fwd} + {bwd}: geomean {g:.2f} over {len(xs)} layers "
                     f"(worst {min(xs):.2f}, best {max(xs):.2f})")
    return lines


def conv_rows(rows: list[dict]) -> list[tuple[dict, float | None]]:
    us = medians(rows)
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


def band_side(ratio: float) -> str:
    """Where a speed ratio (new over old) falls: "faster" (>= 1 + BAND), "slower" (<= 1 - BAND)
    or "tie" (in between)."""
    if ratio >= 1 + BAND:
        return "faster"
    if ratio <= 1 - BAND:
        return "slower"
    return "tie"


def band_words() -> str:
    """The band as the verdicts write it: "3 %"."""
    return f"{100 * BAND:g} %"


class StepDecision(NamedTuple):
    """One training-step option: its two runs' img/s (None: not in step.log) and the verdict."""
    option: str
    default: str
    stage: str
    on_impl: str
    off_impl: str
    on_ips: float | None
    off_ips: float | None

    def ratio(self) -> float | None:
        """img/s with the option on over img/s with it off; None when a run is missing."""
        if self.on_ips is None or not self.off_ips:
            return None
        return self.on_ips / self.off_ips

    def verdict(self) -> str:
        """The verdict: "on is faster", "off is faster", a tie (keep the default) or "not
        measured"."""
        r = self.ratio()
        if r is None:
            return "not measured"
        side = band_side(r)
        if side == "faster":
            return "on is faster"
        if side == "slower":
            return "off is faster"
        return f"within {band_words()}: a tie, keep the default ({self.default})"


def step_decisions(steps: list[dict]) -> list[StepDecision]:
    """Each of STEP_DECISIONS with the img/s of its two ResNet-18 runs at its stage (the last run
    of each impl in step.log)."""
    ips = {}
    for j in steps:
        if j.get("arch", "resnet18") == "resnet18" and "images_per_second" in j:
            ips[(j.get("stage", "train"), j.get("impl", ""))] = float(j["images_per_second"])
    return [StepDecision(option, default, stage, on, off,
                         ips.get((stage, on)), ips.get((stage, off)))
            for option, default, stage, on, off in STEP_DECISIONS]


def layer_stride(layer: str) -> int | None:
    """The stride a bench layer name ends with ("... 3x3 s2" → 2), or None (no such ending)."""
    m = re.search(r" s(\d+)$", layer)
    return int(m.group(1)) if m else None


class PairDecision(NamedTuple):
    """A version against the one it splits (or phases), per layer: the layers where it helps or
    hurts as (layer, its µs, the other's µs), and how many are a tie."""
    kernel: str
    new: str
    old: str
    layers: str  # a key of LAYER_WORDS
    phases: bool  # a stride-phase pair (else a split-K pair)
    helps: list[tuple[str, float, float]]
    hurts: list[tuple[str, float, float]]
    ties: int
    unsplit: int = 0  # layers the split version ran unsplit ("splits=1" in its row): not counted

    def layers_words(self) -> str:
        """Which layers the pair is compared on."""
        return LAYER_WORDS[self.layers]

    def summary(self) -> str:
        """The one-line verdict: "helps on 2, hurts on 1, tie on 14 stride-1 layers"."""
        if not (self.helps or self.hurts or self.ties or self.unsplit):
            return f"not measured on any of the {self.layers_words()}"
        unsplit = f" ({self.unsplit} more not split)" if self.unsplit else ""
        return (f"helps on {len(self.helps)}, hurts on {len(self.hurts)}, tie on {self.ties} "
                f"{self.layers_words()}{unsplit}")

    def layer_verdict(self, helps: bool) -> str:
        """What a layer where the new version helps (or hurts) means for the plan."""
        if self.phases:
            return ("the phases help" if helps else
                    "the phases hurt: the plan should not use the phases on this layer")
        return ("the split helps" if helps else
                "the split hurts: the plan should not split this layer")


def pair_decision(us: dict, kernel: str, new: str, old: str, layers: str,
                  phases: bool = False, details: dict | None = None) -> PairDecision:
    """new against old on every layer of the stride `layers` names that has both, from us:
    (layer, kernel, version) → median µs; a layer whose new row says "splits=1" (details: the
    same keys → the row's detail) ran the unsplit kernel: counted apart."""
    helps, hurts, ties, unsplit = [], [], 0, 0
    for layer in sorted({name for name, k, v in us if k == kernel and v == new}):
        stride = layer_stride(layer)
        if stride is None or (layer, kernel, old) not in us:
            continue
        if (layers == "stride-1" and stride != 1) or (layers == "strided" and stride == 1):
            continue
        if (details or {}).get((layer, kernel, new)) == "splits=1":
            unsplit += 1
            continue
        new_us, old_us = us[(layer, kernel, new)], us[(layer, kernel, old)]
        side = band_side(old_us / new_us)
        if side == "faster":
            helps.append((layer, new_us, old_us))
        elif side == "slower":
            hurts.append((layer, new_us, old_us))
        else:
            ties += 1
    return PairDecision(kernel, new, old, layers, phases, helps, hurts, ties, unsplit)


def pair_decisions(rows: list[dict]) -> list[PairDecision]:
    """SPLIT_PAIRS on their layers, then PHASE_PAIRS on strided layers."""
    us = medians(rows)
    details = {(r["layer"], r["kernel"], r["version"]): r.get("detail", "") for r in rows}
    return ([pair_decision(us, k, new, old, layers, details=details)
             for k, new, old, layers in SPLIT_PAIRS]
            + [pair_decision(us, k, new, old, "strided", phases=True)
               for k, new, old in PHASE_PAIRS])


def decisions_text(rows: list[dict], steps: list[dict]) -> list[str]:
    """The "What the figures decide" lines of the text table (bench.csv's rows, step.log's runs)."""
    lines = [f"== What the figures decide (ratio > 1: on, split or phases faster; within "
             f"±{band_words()}: a tie)"]
    for d in step_decisions(steps):
        on = fmt(d.on_ips) or "—"
        off = fmt(d.off_ips) or "—"
        lines.append(f"{d.option} (default {d.default}), resnet18 {d.stage}: "
                     f"{d.on_impl} {on} img/s vs {d.off_impl} {off} img/s = "
                     f"{fmt(d.ratio(), '.2f') or '—'}: {d.verdict()}")
    for p in pair_decisions(rows):
        lines.append(f"{p.kernel} {p.new} vs {p.old}: {p.summary()}")
        for helps, layers in ((True, p.helps), (False, p.hurts)):
            for layer, new_us, old_us in layers:
                lines.append(f"  {layer}: {new_us:.1f} µs vs {old_us:.1f} µs = "
                             f"{old_us / new_us:.2f}: {p.layer_verdict(helps)}")
    return lines


def layer_cell(layers: list[tuple[str, float, float]]) -> str:
    """A markdown cell listing layers as "layer: new µs vs old µs (ratio)", one per line."""
    return "<br>".join(f"{layer}: {new_us:.1f} vs {old_us:.1f} µs ({old_us / new_us:.2f})"
                       for layer, new_us, old_us in layers)


def decisions_markdown(rows: list[dict], steps: list[dict]) -> list[str]:
    """The "What the figures decide" markdown section: the step options, then the kernel pairs."""
    md = ["### What the figures decide", "",
          f"Ratio > 1: the option on, the split or the phases is faster; within ±{band_words()}: "
          "a tie.", "",
          "| option | default | model | stage | on | img/s | off | img/s | on/off | verdict |",
          "|---|---|---|---|---|---:|---|---:|---:|---|"]
    for d in step_decisions(steps):
        md.append(f"| {d.option} | {d.default} | resnet18 | {d.stage} | {d.on_impl} | "
                  f"{fmt(d.on_ips)} | {d.off_impl} | {fmt(d.off_ips)} | "
                  f"{fmt(d.ratio(), '.2f')} | {d.verdict()} |")
    md += ["", "| kernel | version | vs | helps (µs vs µs, ratio) | hurts (µs vs µs, ratio) | "
           "tie | verdict |", "|---|---|---|---|---|---:|---|"]
    for p in pair_decisions(rows):
        md.append(f"| {p.kernel} | {p.new} | {p.old} | {layer_cell(p.helps)} | "
                  f"{layer_cell(p.hurts)} | {p.ties} | {p.summary()} |")
    return md


def text(out_dir: str) -> str:
    lines = []
    rows = read_rows(os.path.join(out_dir, "bench.csv"))
    steps = json_lines(os.path.join(out_dir, "step.log"))
    pairs = conv_rows(rows)
    if not pairs:
        lines.append("no timings in bench.csv")
    lines.append(f"{'kernel':26} {'version':30} {'layers':>6} {'cuDNN/ours geomean':>19} "
                 f"{'worst':>7} {'best':>7}")
    for k, v, n, g, lo, hi in geomeans(pairs):
        lines.append(f"{k:26} {v:30} {n:6d} {g:19.2f} {lo:7.2f} {hi:7.2f}")
    lines.append("(> 1: ours is faster than cuDNN's fastest algorithm of the same math on that layer)")
    for j, ref in step_rows(steps):
        vs = f"  ({j['images_per_second'] / ref:.2f}× PyTorch)" if ref else ""
        lines.append(f"step {j.get('arch', 'resnet18'):8} {j.get('stage', 'train'):8} "
                     f"{j['impl']:36} {j['images_per_second']:10.1f} img/s{vs}")
    lines += ["", *layer_step_lines(rows)]
    lines += ["", *decisions_text(rows, steps)]
    return "\n".join(lines)


def markdown(out_dir: str) -> str:
    md = [f"Device: {device_line(out_dir)}", ""]
    roofs = json_lines(os.path.join(out_dir, "roof.log"))
    if roofs:
        md += ["| loop | TFLOP/s | peak | % of peak |", "|---|---:|---:|---:|"]
        md += [f"| {r['roof']} | {r['tflops']:.1f} | {r['peak_tflops']:.1f} | "
               f"{100 * r['tflops'] / r['peak_tflops']:.1f} |" for r in roofs if r.get("peak_tflops")]
        md.append("")
    rows = read_rows(os.path.join(out_dir, "bench.csv"))
    steps = json_lines(os.path.join(out_dir, "step.log"))
    pairs = conv_rows(rows)
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
    for j, ref in step_rows(steps):
        md.append(f"| {j['impl']} | {j.get('arch', 'resnet18')} | {j.get('stage', 'train')} | "
                  f"{j['images_per_second']:.1f} | "
                  f"{j.get('median_step_ms', '')} | "
                  f"{fmt(j['images_per_second'] / ref if ref else None, '.2f')} |")
    md += ["", "### The fused layer's training step against cuDNN's (same math)", "",
           "| layer | our forward + backward | µs | cuDNN µs (conv + BN + ReLU, fwd + bwd) | "
           "cuDNN/ours |", "|---|---|---:|---:|---:|"]
    md += [f"| {layer} | {fwd} + {bwd} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.2f} |"
           for layer, fwd, bwd, ours, theirs in layer_steps(rows)]
    md += ["", *[f"- {line}" for line in layer_step_lines(rows)[1:]]]
    md += ["", *decisions_markdown(rows, steps)]
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
