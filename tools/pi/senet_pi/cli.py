"""`senet pi-measure`: plaintext check against `senet eval`, then the measured 2PC cost under SPU.

For each model (the all-ReLU teacher, the compacted student, the student with a public where-mask;
a width-switchable student at each width factor of --width) and each protocol (SEMI2K, CHEETAH;
FM64, batch 1), every image runs through fresh 2-party runtimes; per step (linear layer or ReLU
site) it reports bytes sent/received, messages, rounds and wall time, the first image (with any
one-time setup) apart from the mean of the later ones, and the network-time estimate of
records.LATENCY_NETWORKS. Output: a table on stdout and JSON lines (--json FILE). Images whose
2PC prediction differs from the plaintext prediction are counted.
Plaintext check: at full width the logits of every measured image against `senet eval
--dump-logits`; at a width factor below 1 (the engine dumps full-width logits only) the mean
cross-entropy, the accuracy and the ReLU count of `senet eval`'s "at width" line on the first
WIDTH_CHECK_IMAGES test images.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

import numpy as np

from . import PiError
from .checkpoint import read_checkpoint
from .data import EvalImages, load_test_images
from .network import Network, Step, plain_forward, width_factors, width_percent
from .records import LATENCY_NETWORKS, CostEstimate, Summary, Traffic, summarize
from .spu_run import measure

USAGE_EPILOG = """examples:
  senet pi-measure --run runs/fmnist_senet --images 3
  senet pi-measure --checkpoint runs/x/student.safetensors --masks runs/x/masks.json --protocols semi2k
  senet pi-measure --run runs/dcr --width all        # a width-switchable student at every factor
Plaintext logits must match `senet eval --dump-logits` on the same images within
|Δ| ≤ 1e-4·max(1, max|logit|) before any 2PC run (the engine is found through $SENET_BIN, which
`senet pi-measure` sets, or --senet BIN; or give --reference-logits FILE from senet eval)."""

PLAIN_RTOL = 1e-4
WIDTH_CHECK_IMAGES = 32      # test images of the loss/accuracy check at a width factor below 1
WIDTH_LOSS_TOL = 1e-3        # senet eval prints the loss to 4 decimals (and the accuracy to 2:
                             # equal within its rounding, 0.006); float32 sums differ below
SETUP_HINT = "run tools/pi/setup_pi.sh and use its venv (.venv-pi/bin/python)"

Emit = Callable[[Mapping[str, Any]], None]


def require(*modules: str) -> None:
    """A PiError naming this Python when it lacks one of `modules` (JAX, SPU: the venv's)."""
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError as e:
            raise PiError(f"{e}; this Python ({sys.executable}) lacks the tool's packages: {SETUP_HINT}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="senet pi-measure", epilog=USAGE_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Measured private-inference cost under SecretFlow SPU "
                                            "(2 parties, batch 1).")
    p.add_argument("--run", help="a pipeline run directory: teacher/best.safetensors, "
                                 "student.safetensors, masks.json")
    p.add_argument("--checkpoint", help="one checkpoint (instead of --run)")
    p.add_argument("--masks", help="its per-site index lists (masks.json); default: the "
                                   "checkpoint's own mask buffers")
    p.add_argument("--label", default=None, help="name of the --checkpoint model in the output")
    p.add_argument("--protocols", default="semi2k,cheetah")
    p.add_argument("--variants", default="compact,where",
                   help="for masked models: compact (kept positions; channel masks by slices), "
                        "element (kept positions by per-element gathers, channel masks included: "
                        "only run for a model with a per-channel mask) and/or where (naive)")
    p.add_argument("--width", default="1",
                   help="width factors of a width-switchable model (model.width_factors) to "
                        "measure, e.g. 0.5,1, or 'all'; a plain model is measured at 1")
    p.add_argument("--images", type=int, default=3, help="test images (the first is the 'first run')")
    p.add_argument("--first-image", type=int, default=0)
    p.add_argument("--weights", choices=("secret", "public"), default="secret",
                   help="the model's weights as secret shares (server-private model) or public")
    p.add_argument("--senet", default=os.environ.get("SENET_BIN"), help="the senet binary")
    p.add_argument("--reference-logits", help="JSON lines from `senet eval --dump-logits` (one "
                                              "checkpoint only)")
    p.add_argument("--json", help="write JSON lines here")
    p.add_argument("--plaintext-only", action="store_true", help="stop after the plaintext check")
    a = p.parse_args(argv)
    if bool(a.run) == bool(a.checkpoint):
        p.error("give exactly one of --run DIR and --checkpoint FILE")
    if a.images < 1:
        p.error("--images must be ≥ 1")
    return a


@dataclass(frozen=True)
class ModelSpec:
    label: str
    checkpoint: str
    masks: str | None      # masks.json, or None: the checkpoint's own mask buffers
    width: float = 1.0     # the width factor it runs at


def _widths(arg: str, ckpt_path: str) -> list[float]:
    """The --width list for one checkpoint: its factors ('all') or the given ones (each checked
    to be one of its factors; a plain model has the factor 1 only)."""
    factors = width_factors(read_checkpoint(ckpt_path).config())
    if arg.strip().lower() == "all":
        return factors
    out = []
    for v in arg.split(","):
        try:
            w = float(v)
        except ValueError:
            raise PiError(f"--width: '{v}' is not a number (e.g. 0.5,1 or all)")
        if width_percent(w) not in [width_percent(f) for f in factors]:
            raise PiError(f"--width {w:g}: '{ckpt_path}' has the width factors "
                          f"{', '.join(f'{f:g}' for f in factors)} (model.width_factors)")
        out.append(w)
    return out


def models_of(a: argparse.Namespace) -> list[ModelSpec]:
    if a.checkpoint:
        label = a.label or os.path.splitext(os.path.basename(a.checkpoint))[0]
        plain = [(label, a.checkpoint, a.masks)]
    else:
        for sub in ("teacher/best.safetensors", "student.safetensors", "masks.json"):
            if not os.path.exists(os.path.join(a.run, sub)):
                raise PiError(f"run directory '{a.run}' has no {sub}")
        plain = [("teacher", os.path.join(a.run, "teacher/best.safetensors"), None),
                 ("student", os.path.join(a.run, "student.safetensors"), os.path.join(a.run, "masks.json"))]
    out = []
    for label, ckpt, masks in plain:
        switchable = width_factors(read_checkpoint(ckpt).config()) != [1.0]
        widths = _widths(a.width, ckpt) if switchable else [1.0]
        out += [ModelSpec(f"{label}@{w:.2f}" if switchable else label, ckpt, masks, w) for w in widths]
    return out


@dataclass(frozen=True, eq=False)
class Reference:
    """`senet eval --dump-logits` on one test image."""
    label: int
    logits: np.ndarray      # float64


def read_reference_logits(path: str) -> dict[int, Reference]:
    """JSON lines {"index", "label", "logits"} → test image index → its reference."""
    rows = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                j = json.loads(line)
                rows[int(j["index"])] = Reference(int(j["label"]), np.asarray(j["logits"], np.float64))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise PiError(f"reference logits '{path}' line {n}: expected "
                              f"{{\"index\", \"label\", \"logits\"}}")
    return rows


def reference_logits(a: argparse.Namespace, ckpt_path: str, first: int, count: int) -> list[Reference]:
    """The engine's logits of test images first .. first+count−1 (--reference-logits, else
    `senet eval --dump-logits` run here)."""
    if a.reference_logits:
        path = a.reference_logits
        rows = read_reference_logits(path)
    else:
        if not a.senet:
            raise PiError("the plaintext check needs the senet binary: run this as `senet pi-measure`, "
                          "or pass --senet BIN or --reference-logits FILE")
        with tempfile.TemporaryDirectory(prefix="senet_pi_eval_") as tmp:
            path = os.path.join(tmp, "logits.jsonl")
            r = subprocess.run([a.senet, "eval", "--checkpoint", ckpt_path, "--limit", str(first + count),
                                "--dump-logits", path], capture_output=True, text=True)
            if r.returncode != 0:
                raise PiError(f"`senet eval` on '{ckpt_path}' failed: "
                              f"{r.stderr.strip() or r.stdout.strip()}")
            rows = read_reference_logits(path)
    missing = [i for i in range(first, first + count) if i not in rows]
    if missing:
        raise PiError(f"reference logits '{path}' lack test image {missing[0]}")
    return [rows[i] for i in range(first, first + count)]


def plaintext_check(label: str, ckpt_path: str, forward: Callable[[np.ndarray], np.ndarray],
                    images: EvalImages, refs: Sequence[Reference]) -> float:
    """The largest |logit − reference| over the images; a PiError past the tolerance."""
    worst = 0.0
    for i, ref in enumerate(refs):
        if ref.label != int(images.labels[i]):
            raise PiError(f"{label}: image {i}: senet eval's label {ref.label} differs from the tool's "
                          f"{int(images.labels[i])} (different data?)")
        got = forward(images.x[i:i + 1]).reshape(-1).astype(np.float64)
        if got.shape != ref.logits.shape:
            raise PiError(f"{label}: {got.size} logits, senet eval gives {ref.logits.size}")
        d = float(np.abs(got - ref.logits).max())
        tol = PLAIN_RTOL * max(1.0, float(np.abs(ref.logits).max()))
        if d > tol:
            raise PiError(f"{label} ('{ckpt_path}'): plaintext logits of test image {i} differ from "
                          f"`senet eval` by {d:.3g} > {tol:.3g}; the network built here is not the "
                          f"engine's, no 2PC measurement is made")
        worst = max(worst, d)
    return worst


def cost_estimate(a: argparse.Namespace, ckpt_path: str) -> dict[str, CostEstimate] | None:
    """`senet cost --json` totals per protocol (None without the binary or when it fails)."""
    if not a.senet:
        return None
    out = {}
    for prot in ("delphi", "cryptflow2"):
        r = subprocess.run([a.senet, "cost", ckpt_path, "--protocol", prot, "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        try:
            out[prot] = CostEstimate.from_json(json.loads(r.stdout)["model"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise PiError(f"`senet cost {ckpt_path} --protocol {prot} --json` printed no "
                          f"model.relus/online_bytes/online_seconds")
    return out


_RE_AT_WIDTH = re.compile(r"^test at width ([0-9.]+): (\d+) images, loss ([0-9.naif]+), "
                          r"accuracy ([0-9.]+)%, ReLUs (\d+)$", re.M)


def width_check(a: argparse.Namespace, spec: ModelSpec, net: Network,
                forward: Callable[[np.ndarray], np.ndarray]) -> str:
    """At a width factor below 1: the mean cross-entropy, accuracy and ReLU count of the network
    built here on the first n test images against `senet eval`'s "at width" line (a PiError when
    they differ). Returns what was compared, for the log."""
    if a.reference_logits or not a.senet:
        raise PiError(f"{spec.label}: the plaintext check at width {spec.width:g} needs the senet "
                      f"binary (`senet eval` prints each width's loss; --reference-logits holds "
                      f"full-width logits only)")
    n = max(WIDTH_CHECK_IMAGES, a.first_image + a.images)
    r = subprocess.run([a.senet, "eval", "--checkpoint", spec.checkpoint, "--limit", str(n)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise PiError(f"`senet eval` on '{spec.checkpoint}' failed: {r.stderr.strip() or r.stdout.strip()}")
    rows = {width_percent(float(m.group(1))): m for m in _RE_AT_WIDTH.finditer(r.stdout)}
    m = rows.get(width_percent(spec.width))
    if m is None:
        raise PiError(f"`senet eval` on '{spec.checkpoint}' printed no line 'test at width "
                      f"{spec.width:.2f}: …'")
    e_images, e_loss, e_acc, e_relus = int(m.group(2)), float(m.group(3)), float(m.group(4)), int(m.group(5))
    images = load_test_images(net.ckpt.config(), 0, n)
    loss, correct = 0.0, 0
    for i in range(n):
        z = forward(images.x[i:i + 1]).reshape(-1).astype(np.float64)
        y = int(images.labels[i])
        mx = float(z.max())
        loss += mx + math.log(float(np.exp(z - mx).sum())) - float(z[y])
        correct += int(np.argmax(z) == y)
    loss /= n
    acc = 100.0 * correct / n
    counted = sum(s.kept for s in net.sites if s.counted)
    what = (f"{n} test images: mean CE {loss:.4f} vs senet eval {e_loss:.4f}, accuracy "
            f"{acc:.2f}% vs {e_acc:.2f}%, ReLUs {net.relu_count('compact')} vs {e_relus}")
    if (e_images != n or abs(loss - e_loss) > WIDTH_LOSS_TOL or abs(acc - e_acc) > 0.006
            or e_relus not in (counted, net.relu_count("compact"))):
        raise PiError(f"{spec.label} ('{spec.checkpoint}') at width {spec.width:g}: the network built "
                      f"here is not the engine's ({what}; loss tolerance {WIDTH_LOSS_TOL}); no 2PC "
                      f"measurement is made")
    return what


@dataclass(frozen=True, eq=False)
class PlainVariant:
    """One evaluation of a model (dense; or compact / where for a masked one), checked in plaintext."""
    variant: str
    steps: list[Step]
    params: dict[str, np.ndarray]
    public: frozenset[str]         # public inputs (the `where` masks)
    logits: list[np.ndarray]       # plaintext logits per image
    relus: int


@dataclass(frozen=True, eq=False)
class BuiltModel:
    spec: ModelSpec
    images: EvalImages
    variants: list[PlainVariant]
    estimate: dict[str, CostEstimate] | None
    macs: int


@dataclass(frozen=True)
class Result:
    """One (model, variant, protocol) under SPU."""
    model: str
    variant: str
    protocol: str
    relus: int
    images: int
    mismatches: int          # images whose 2PC prediction differs from the plaintext one
    max_diff: float          # max |2PC logit − plaintext logit|
    summary: Summary
    estimate: dict[str, CostEstimate] | None
    width: float = 1.0
    macs: int = 0


def _fmt(t: Traffic | None) -> str:
    if t is None:
        return f"{'—':>10} {'—':>10} {'—':>6} {'—':>6} {'—':>9}"
    return (f"{t.send_bytes / 1e3:>10.1f} {t.recv_bytes / 1e3:>10.1f} "
            f"{t.msgs:>6.0f} {t.rounds:>6.0f} {t.seconds * 1e3:>9.1f}")


def print_table(r: Result) -> None:
    print(f"\n== {r.model} [{r.variant}] under {r.protocol.upper()} (FM64, 2 parties, batch 1): "
          f"width {r.width:g}, {r.relus} ReLUs, {r.macs:,} MACs; {r.images} image(s); 2PC≠plaintext "
          f"predictions: {r.mismatches}; max |logit diff| {r.max_diff:.3g}")
    hdr = f"{'sent kB':>10} {'recv kB':>10} {'msgs':>6} {'rounds':>6} {'ms':>9}"
    print(f"{'step':<26}{'how':<9}{'ReLUs':>7} | first run: {hdr} | later runs (mean): {hdr}")
    for s in r.summary.steps:
        print(f"{s.step:<26}{s.how:<9}{s.relus:>7} |            {_fmt(s.cost.first)} |"
              f"                     {_fmt(s.cost.later)}")
    for part, t in r.summary.parts.items():
        print(f"{'TOTAL ' + part:<26}{'':<9}{r.relus if part != 'linear' else 0:>7} |            "
              f"{_fmt(t.first)} |                     {_fmt(t.later)}")
    steady = r.summary.parts["all"].steady
    for net in LATENCY_NETWORKS:
        print(f"  network-time estimate, {net.label}: {net.seconds(steady):.3f} s per inference "
              f"(bytes·8/bandwidth + rounds×RTT; {steady.bytes / 1e6:.3f} MB, {steady.rounds:.0f} rounds)")
    for prot, e in (r.estimate or {}).items():
        print(f"  senet cost estimate ({prot}): {e.relus} ReLUs, online "
              f"{e.online_bytes / 1e3:.1f} kB, {e.online_seconds * 1e3:.1f} ms")


def _csv(arg: str, allowed: Sequence[str], option: str) -> list[str]:
    items = [v.strip().lower() for v in arg.split(",") if v.strip()]
    for v in items:
        if v not in allowed:
            raise PiError(f"{option}: unknown value '{v}' ({', '.join(allowed)})")
    return items


def build(a: argparse.Namespace, variants: Sequence[str], emit: Emit) -> list[BuiltModel]:
    """1. Every network built and checked in plaintext against `senet eval`, before any 2PC run."""
    models = models_of(a)
    if a.reference_logits and len(models) != 1:
        raise PiError("--reference-logits goes with one --checkpoint")
    built = []
    for spec in models:
        ckpt = read_checkpoint(spec.checkpoint)
        net = Network(ckpt, spec.masks, spec.width)
        require("jax")
        images = load_test_images(ckpt.config(), a.first_image, a.images)
        full = width_percent(spec.width) == 100
        refs = reference_logits(a, spec.checkpoint, a.first_image, a.images) if full else []
        masked = any(s.kind != "dense" for s in net.sites)
        to_measure = [v for v in variants if v != "element" or net.has_channel_sites()] if masked else ["dense"]
        if masked and "element" in variants and "element" not in to_measure:
            print(f"{spec.label}: no per-channel mask, so the element variant is the compact one: "
                  f"not measured twice", flush=True)
        plain = []
        for v in to_measure:
            evaluation = "compact" if v == "dense" else v
            steps = net.steps(evaluation)
            public = net.public_params(v)
            params = {**net.weights, **public}
            f = plain_forward(steps, params)
            if full:
                d = plaintext_check(f"{spec.label} [{v}]", spec.checkpoint, f, images, refs)
                what = (f"{a.images} image(s) match `senet eval` (max |Δ| {d:.2e}, tolerance "
                        f"1e-4·max(1, max|logit|))")
                check: dict[str, Any] = {"images": a.images, "max_abs_diff": d}
            else:
                what = width_check(a, spec, net, f)
                check = {"width_check": what}
            relus = net.relu_count(evaluation)
            plain.append(PlainVariant(v, steps, params, frozenset(public),
                                      [f(images.x[i:i + 1]).reshape(-1) for i in range(len(images))],
                                      relus))
            print(f"plaintext check {spec.label} [{v}]: {what}; ReLUs {relus}, MACs {net.macs:,}",
                  flush=True)
            emit({"record": "plaintext_check", "model": spec.label, "variant": v,
                  "checkpoint": spec.checkpoint, "width": spec.width, **check, "relus": relus,
                  "macs": net.macs})
        built.append(BuiltModel(spec, images, plain,
                                cost_estimate(a, spec.checkpoint) if full else None, net.macs))
    return built


def measure_all(a: argparse.Namespace, built: Sequence[BuiltModel], protocols: Sequence[str],
                emit: Emit) -> None:
    """2. Every (model, variant, protocol) under SPU: a table on stdout, step and total records."""
    for m in built:
        images = [m.images.x[i] for i in range(len(m.images))]
        for pv in m.variants:
            for prot in protocols:
                t0 = time.perf_counter()
                got = measure(pv.steps, pv.params, images, prot, public_names=pv.public,
                              weights_public=a.weights == "public")
                wall = time.perf_counter() - t0
                pairs = list(zip(got.logits, pv.logits))
                r = Result(m.spec.label, pv.variant, prot, pv.relus, len(images),
                           sum(int(np.argmax(lg) != np.argmax(pl)) for lg, pl in pairs),
                           max(float(np.abs(lg - pl).max()) for lg, pl in pairs),
                           summarize(got.costs), m.estimate, m.spec.width, m.macs)
                print_table(r)
                base = {"model": r.model, "variant": r.variant, "protocol": r.protocol,
                        "checkpoint": m.spec.checkpoint, "field": "FM64", "weights": a.weights,
                        "width": r.width}
                for s in r.summary.steps:
                    emit({"record": "step", **base, **s.to_json()})
                emit({"record": "total", **base, "relus": r.relus, "macs": r.macs, "images": r.images,
                      "first_image": a.first_image, "mismatches": r.mismatches,
                      "max_abs_logit_diff": r.max_diff, "measure_wall_seconds": wall,
                      **r.summary.parts_json(),
                      "estimate": {k: asdict(e) for k, e in r.estimate.items()} if r.estimate else None})


def main(argv: Sequence[str] | None = None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    protocols = _csv(a.protocols, ("semi2k", "cheetah"), "--protocols")
    variants = _csv(a.variants, ("compact", "element", "where"), "--variants")
    with contextlib.ExitStack() as stack:
        jout = stack.enter_context(open(a.json, "w")) if a.json else None

        def emit(obj: Mapping[str, Any]) -> None:
            if jout:
                jout.write(json.dumps(obj) + "\n")
                jout.flush()

        built = build(a, variants, emit)
        if not a.plaintext_only:
            measure_all(a, built, protocols, emit)
    return 0


def entry(argv: Sequence[str] | None = None) -> NoReturn:
    """`senet pi-measure`: exit status 0, 1 with the error on stderr (PiError), 2 usage."""
    try:
        code = main(argv)
    except PiError as e:
        print(f"senet pi-measure: error: {e}", file=sys.stderr)
        code = 1
    sys.exit(code)
