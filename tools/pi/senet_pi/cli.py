"""`senet pi-measure`: plaintext check against `senet eval`, then the measured 2PC cost under SPU.

For each model (the all-ReLU teacher, the compacted student, the student with a public where-mask)
and each protocol (SEMI2K, CHEETAH; FM64, batch 1), every image runs through fresh 2-party
runtimes; per step (linear layer or ReLU site) it reports bytes sent/received, messages and wall
time, the first image (with any one-time setup) apart from the mean of the later ones. Output: a
table on stdout and JSON lines (--json FILE). Images whose 2PC prediction differs from the
plaintext prediction are counted.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import PiError

USAGE_EPILOG = """examples:
  senet pi-measure --run runs/fmnist_senet --images 3
  senet pi-measure --checkpoint runs/x/student.safetensors --masks runs/x/masks.json --protocols semi2k
Plaintext logits must match `senet eval --dump-logits` on the same images within
|Δ| ≤ 1e-4·max(1, max|logit|) before any 2PC run (the engine is found through $SENET_BIN, which
`senet pi-measure` sets, or --senet BIN; or give --reference-logits FILE from senet eval)."""

PLAIN_RTOL = 1e-4


def parse_args(argv):
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
                   help="for masked models: compact (gather kept positions) and/or where (naive)")
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


def models_of(a):
    """[(label, checkpoint, masks or None)]."""
    if a.checkpoint:
        return [(a.label or os.path.splitext(os.path.basename(a.checkpoint))[0], a.checkpoint, a.masks)]
    for sub in ("teacher/best.safetensors", "student.safetensors", "masks.json"):
        if not os.path.exists(os.path.join(a.run, sub)):
            raise PiError(f"run directory '{a.run}' has no {sub}")
    return [("teacher", os.path.join(a.run, "teacher/best.safetensors"), None),
            ("student", os.path.join(a.run, "student.safetensors"), os.path.join(a.run, "masks.json"))]


def reference_logits(a, ckpt_path, first, count):
    if a.reference_logits:
        path, tmp = a.reference_logits, None
    else:
        if not a.senet:
            raise PiError("the plaintext check needs the senet binary: run this as `senet pi-measure`, "
                          "or pass --senet BIN or --reference-logits FILE")
        tmp = tempfile.mkdtemp(prefix="senet_pi_eval_")
        path = os.path.join(tmp, "logits.jsonl")
        r = subprocess.run([a.senet, "eval", "--checkpoint", ckpt_path, "--limit", str(first + count),
                            "--dump-logits", path], capture_output=True, text=True)
        if r.returncode != 0:
            raise PiError(f"`senet eval` on '{ckpt_path}' failed: {r.stderr.strip() or r.stdout.strip()}")
    rows = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                j = json.loads(line)
                rows[int(j["index"])] = (int(j["label"]), np.asarray(j["logits"], np.float64))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise PiError(f"reference logits '{path}' line {n}: expected "
                              f"{{\"index\", \"label\", \"logits\"}}")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    missing = [i for i in range(first, first + count) if i not in rows]
    if missing:
        raise PiError(f"reference logits '{path}' lack test image {missing[0]}")
    return [rows[i] for i in range(first, first + count)]


def plaintext_check(label, ckpt_path, forward, x, y, refs):
    worst = 0.0
    for i, (lab, ref) in enumerate(refs):
        if lab != int(y[i]):
            raise PiError(f"{label}: image {i}: senet eval's label {lab} differs from the tool's "
                          f"{int(y[i])} (different data?)")
        got = forward(x[i:i + 1]).reshape(-1).astype(np.float64)
        if got.shape != ref.shape:
            raise PiError(f"{label}: {got.size} logits, senet eval gives {ref.size}")
        d = float(np.abs(got - ref).max())
        tol = PLAIN_RTOL * max(1.0, float(np.abs(ref).max()))
        if d > tol:
            raise PiError(f"{label} ('{ckpt_path}'): plaintext logits of test image {i} differ from "
                          f"`senet eval` by {d:.3g} > {tol:.3g}; the network built here is not the "
                          f"engine's, no 2PC measurement is made")
        worst = max(worst, d)
    return worst


def cost_estimate(a, ckpt_path):
    """`senet cost --json` totals per protocol (None without the binary)."""
    if not a.senet:
        return None
    out = {}
    for prot in ("delphi", "cryptflow2"):
        r = subprocess.run([a.senet, "cost", ckpt_path, "--protocol", prot, "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
        j = json.loads(r.stdout)
        out[prot] = {"relus": j["model"]["relus"], "online_bytes": j["model"]["online_bytes"],
                     "online_seconds": j["model"]["online_seconds"]}
    return out


def _agg(records, kinds=None):
    sel = [r for r in records if kinds is None or r["kind"] in kinds]
    keys = ("send_bytes", "recv_bytes", "send_msgs", "recv_msgs", "seconds")
    return {k: sum(r[k] for r in sel) for k in keys}


def _mean(dicts):
    if not dicts:
        return None
    return {k: sum(d[k] for d in dicts) / len(dicts) for k in dicts[0]}


def summarize(records):
    """records[i][j] → per step first/later and totals (linear, relu, all) first/later."""
    n = len(records)
    steps = []
    for j, r0 in enumerate(records[0]):
        keys = ("send_bytes", "recv_bytes", "send_msgs", "recv_msgs", "seconds")
        first = {k: r0[k] for k in keys}
        later = _mean([{k: records[i][j][k] for k in keys} for i in range(1, n)])
        steps.append({"step": r0["step"], "kind": r0["kind"], "how": r0["how"], "relus": r0["relus"],
                      "first": first, "later": later})
    totals = {}
    for part, kinds in (("linear", ("linear",)), ("relu", ("relu",)), ("all", None)):
        totals[part] = {"first": _agg(records[0], kinds),
                        "later": _mean([_agg(records[i], kinds) for i in range(1, n)])}
    return steps, totals


def _fmt(d):
    if d is None:
        return f"{'—':>10} {'—':>10} {'—':>6} {'—':>9}"
    return (f"{d['send_bytes'] / 1e3:>10.1f} {d['recv_bytes'] / 1e3:>10.1f} "
            f"{d['send_msgs'] + d['recv_msgs']:>6.0f} {d['seconds'] * 1e3:>9.1f}")


def print_table(label, variant, protocol, relus, steps, totals, mism, nimg, maxdiff, est):
    print(f"\n== {label} [{variant}] under {protocol.upper()} (FM64, 2 parties, batch 1): "
          f"{relus} ReLUs; {nimg} image(s); 2PC≠plaintext predictions: {mism}; "
          f"max |logit diff| {maxdiff:.3g}")
    hdr = f"{'sent kB':>10} {'recv kB':>10} {'msgs':>6} {'ms':>9}"
    print(f"{'step':<26}{'how':<9}{'ReLUs':>7} | first run: {hdr} | later runs (mean): {hdr}")
    for s in steps:
        print(f"{s['step']:<26}{s['how']:<9}{s['relus']:>7} |            {_fmt(s['first'])} |"
              f"                     {_fmt(s['later'])}")
    for part in ("linear", "relu", "all"):
        t = totals[part]
        print(f"{'TOTAL ' + part:<26}{'':<9}{relus if part != 'linear' else 0:>7} |            "
              f"{_fmt(t['first'])} |                     {_fmt(t['later'])}")
    if est:
        for prot, e in est.items():
            print(f"  senet cost estimate ({prot}): {e['relus']} ReLUs, online "
                  f"{e['online_bytes'] / 1e3:.1f} kB, {e['online_seconds'] * 1e3:.1f} ms")


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    from .checkpoint import read_checkpoint
    from .data import load_test_images
    from .network import Network, plain_forward
    protocols = [p.strip().lower() for p in a.protocols.split(",") if p.strip()]
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    for p in protocols:
        if p not in ("semi2k", "cheetah"):
            raise PiError(f"--protocols: unknown protocol '{p}' (semi2k, cheetah)")
    for v in variants:
        if v not in ("compact", "where"):
            raise PiError(f"--variants: unknown variant '{v}' (compact, where)")
    models = models_of(a)
    if a.reference_logits and len(models) != 1:
        raise PiError("--reference-logits goes with one --checkpoint")
    jout = open(a.json, "w") if a.json else None

    def emit(obj):
        if jout:
            jout.write(json.dumps(obj) + "\n")
            jout.flush()

    # 1. Build every network and check it in plaintext before any 2PC run.
    built = []
    for label, path, masks in models:
        ckpt = read_checkpoint(path)
        net = Network(ckpt, masks)
        x, y = load_test_images(ckpt.config(), a.first_image, a.images)
        refs = reference_logits(a, path, a.first_image, a.images)
        masked = any(s.kind != "dense" for s in net.sites)
        vs = variants if masked else ["dense"]
        plain = {}
        for v in vs:
            steps = net.steps("compact" if v == "dense" else v)
            params = dict(net.weights)
            params.update(net.public_params(v))
            f = plain_forward(steps, params)
            d = plaintext_check(f"{label} [{v}]", path, f, x, y, refs)
            plain[v] = (steps, params, [f(x[i:i + 1]).reshape(-1) for i in range(len(x))])
            print(f"plaintext check {label} [{v}]: {a.images} image(s) match `senet eval` "
                  f"(max |Δ| {d:.2e}, tolerance 1e-4·max(1, max|logit|)); ReLUs {net.relu_count(v)}",
                  flush=True)
            emit({"record": "plaintext_check", "model": label, "variant": v, "checkpoint": path,
                  "images": a.images, "max_abs_diff": d, "relus": net.relu_count(v)})
        built.append((label, path, net, x, y, plain, cost_estimate(a, path)))
    if a.plaintext_only:
        return 0

    # 2. 2PC under SPU.
    from .spu_run import measure
    for label, path, net, x, y, plain, est in built:
        for v, (steps, params, plain_logits) in plain.items():
            public = set(net.public_params(v))
            for prot in protocols:
                t0 = time.perf_counter()
                records, logits = measure(steps, params, list(x), prot, public, a.weights == "public")
                wall = time.perf_counter() - t0
                mism = sum(int(np.argmax(lg) != np.argmax(pl)) for lg, pl in zip(logits, plain_logits))
                maxdiff = max(float(np.abs(lg - pl).max()) for lg, pl in zip(logits, plain_logits))
                steps_s, totals = summarize(records)
                relus = net.relu_count("compact" if v == "dense" else v)
                print_table(label, v, prot, relus, steps_s, totals, mism, len(x), maxdiff, est)
                base = {"model": label, "variant": v, "protocol": prot, "checkpoint": path,
                        "field": "FM64", "weights": a.weights}
                for s in steps_s:
                    emit({"record": "step", **base, **s})
                emit({"record": "total", **base, "relus": relus, "images": len(x),
                      "first_image": a.first_image, "mismatches": mism,
                      "max_abs_logit_diff": maxdiff, "measure_wall_seconds": wall, **totals,
                      "estimate": est})
    if jout:
        jout.close()
    return 0


def entry():
    try:
        sys.exit(main())
    except PiError as e:
        print(f"senet pi-measure: error: {e}", file=sys.stderr)
        sys.exit(1)
