"""tools/bench/vs_pytorch.py — our CPU training step against PyTorch's, in one run (run it through
tools/bench/vs_pytorch.sh, which makes the venv and builds the binaries).

Table 1, the training step: for each model row, every round runs bench_train_step (ours),
torch_step.py --layout nchw and --layout channels_last as separate processes, in a rotated order
(so a slow stretch of a shared machine hits every contender), each timing --seconds of steps after a
warm-up. Printed per row: images/s (median of the rounds, with the range), peak RSS, and the
ratio ours ÷ the faster PyTorch layout, computed per round and reported as the median (and range).
Table 2, the conv layers: bench_conv_layers --json and torch_layers.py on the same shapes, rounds
alternating; per layer and pass the median ms, ours ÷ best PyTorch layout (as a speed ratio, > 1 =
we are faster), and our % of the sgemm rate our binary measured.
  python vs_pytorch.py --build build --rounds 3 [--rows all|step|layers] [--seconds 6] [--out F.jsonl]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (label, arch args, batch)
ROWS = [
    ("ResNet-18 w0.125, 1×32×32, 10 classes (main job)",
     ["--arch", "resnet18", "--width", "0.125", "--in-channels", "1", "--classes", "10"], 128),
    ("ResNet-18 w0.25, 1×32×32, 10 classes",
     ["--arch", "resnet18", "--width", "0.25", "--in-channels", "1", "--classes", "10"], 128),
    ("ResNet-18 w1, 3×32×32, 100 classes (CIFAR-100)",
     ["--arch", "resnet18", "--width", "1", "--in-channels", "3", "--classes", "100"], 64),
    ("WRN-16-4, 3×32×32, 10 classes",
     ["--arch", "wrn", "--wrn-depth", "16", "--wrn-k", "4", "--in-channels", "3", "--classes", "10"], 64),
    # SENet's own step (stages 2-3): the frozen teacher's forward, the masked student (3 % of the
    # ReLUs), CE + KD + PRAM at the stage ends, the student's backward and SGD.
    ("SENet distillation step, ResNet-18 w0.125, 1×32×32 (main job's stage 3)",
     ["--arch", "resnet18", "--width", "0.125", "--in-channels", "1", "--classes", "10",
      "--stage", "distill"], 128),
]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_json(cmd, env=None):
    if env is not None:
        env = dict(os.environ, **env)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def step_contenders(args, arch_args, batch):
    common = arch_args + ["--batch", str(batch), "--threads", str(args.threads), "--warmup", "3",
                          "--steps", "5", "--seconds", str(args.seconds)]
    torch_common = common[:]
    ours = [os.path.join(args.build, "tools/bench/bench_train_step")] + common
    extra = [("senet-" + isa, ours, {"SENET_CPU_ISA": isa}) for isa in args.extra_isa]
    return [
        ("senet", ours, None)] + extra + [
        ("torch-nchw", [args.python, os.path.join(HERE, "torch_step.py"), "--layout", "nchw"] + torch_common, None),
        ("torch-channels_last",
         [args.python, os.path.join(HERE, "torch_step.py"), "--layout", "channels_last"] + torch_common, None),
    ]


def fmt_range(vals, f="{:.0f}"):
    return (f + " ({}–{})").format(statistics.median(vals), f.format(min(vals)), f.format(max(vals)))


def bench_steps(args, log):
    rows = ROWS if not args.only else [r for r in ROWS if args.only in r[0]]
    results = {}  # label -> impl -> list of result dicts
    for rnd in range(args.rounds):
        for ri, (label, arch_args, batch) in enumerate(rows):
            cont = step_contenders(args, arch_args, batch)
            k = (rnd + ri) % len(cont)
            for name, cmd, env in cont[k:] + cont[:k]:
                r = run_json(cmd, env)[0]
                r["round"] = rnd
                r["row"] = label
                log.write(json.dumps(r) + "\n")
                log.flush()
                results.setdefault(label, {}).setdefault(name, []).append(r)
                print(f"  round {rnd + 1} {label}: {name} {r['images_per_second']:.1f} img/s", file=sys.stderr)
    print("\n| model | batch | senet img/s | PyTorch channels_last | PyTorch NCHW | senet ÷ best PyTorch "
          "(median, range) | peak RSS MiB senet / CL / NCHW |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, arch_args, batch in rows:
        res = results[label]
        ips = {n: [r["images_per_second"] for r in v] for n, v in res.items()}
        best = [max(c, n) for c, n in zip(ips["torch-channels_last"], ips["torch-nchw"])]
        ratios = [s / b for s, b in zip(ips["senet"], best)]
        rss = {n: max(r["peak_rss_mib"] for r in v) for n, v in res.items()}
        print(f"| {label} | {batch} | {fmt_range(ips['senet'])} | {fmt_range(ips['torch-channels_last'])} | "
              f"{fmt_range(ips['torch-nchw'])} | **{statistics.median(ratios):.2f}** "
              f"({min(ratios):.2f}–{max(ratios):.2f}) | {rss['senet']:.0f} / {rss['torch-channels_last']:.0f} / "
              f"{rss['torch-nchw']:.0f} |")
    for isa in args.extra_isa:
        print(f"\nOurs with SENET_CPU_ISA={isa} (the kernels a CPU without AVX-512 runs), same rounds:\n")
        print("| model | senet img/s | senet ÷ best PyTorch (median, range) |\n|---|---:|---:|")
        for label, arch_args, batch in rows:
            res = results[label]
            ips = [r["images_per_second"] for r in res["senet-" + isa]]
            best = [max(c["images_per_second"], n["images_per_second"])
                    for c, n in zip(res["torch-channels_last"], res["torch-nchw"])]
            ratios = [s / b for s, b in zip(ips, best)]
            print(f"| {label} | {fmt_range(ips)} | **{statistics.median(ratios):.2f}** "
                  f"({min(ratios):.2f}–{max(ratios):.2f}) |")


def bench_layers(args, log):
    ours_bin = os.path.join(args.build, "tools/bench/bench_conv_layers")
    only = ["--only", args.layers_only] if args.layers_only else []
    shapes = subprocess.run([ours_bin, "--list"] + only, check=True, capture_output=True, text=True).stdout
    shapes_file = os.path.join(args.tmp, "vs_pytorch_shapes.jsonl")
    with open(shapes_file, "w") as f:
        f.write(shapes)
    ours, theirs = {}, {}
    for rnd in range(args.rounds):
        order = [0, 1] if rnd % 2 == 0 else [1, 0]
        for which in order:
            if which == 0:
                rs = run_json([ours_bin, "--json", "--threads", str(args.threads), "--reps", str(args.reps)] + only)
                for r in rs:
                    ours.setdefault((r["model"], r["name"]), []).append(r)
            else:
                rs = run_json([args.python, os.path.join(HERE, "torch_layers.py"), "--shapes", shapes_file,
                               "--threads", str(args.threads), "--reps", str(args.reps)])
                for r in rs:
                    theirs.setdefault((r["model"], r["name"], r["impl"]), []).append(r)
            for r in rs:
                r["round"] = rnd
                log.write(json.dumps(r) + "\n")
            log.flush()
            print(f"  round {rnd + 1}: {'senet' if which == 0 else 'torch'} layers done", file=sys.stderr)
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    print("\n| model | layer | shape | pass | senet ms (algorithm) | % of sgemm | PyTorch best ms (layout) | "
          "senet speed ÷ PyTorch | senet im2col ms (before) |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for (model, name), rs in ours.items():
        gf, roof = rs[0]["gflop"], med(rs, "sgemm_gflops")
        algos = rs[0]["algorithms"].split(" / ")
        for i, (key, label) in enumerate((("fprop_ms", "fprop"), ("dgrad_ms", "dgrad"), ("wgrad_ms", "wgrad"),
                                          ("fused_fwd_bwd_ms", "conv→BN→mReLU fwd+bwd"))):
            ms = med(rs, key)
            algo = algos[i] if i < 3 else "fused; unfused %.2f ms" % med(rs, "unfused_fwd_bwd_ms")
            before = med(rs, "im2col_" + key) if i < 3 else float("nan")
            best, lay = min((med(theirs[(model, name, "torch-" + l)], key), l) for l in ("nchw", "channels_last"))
            work = gf * (3 if key == "fused_fwd_bwd_ms" else 1)
            pct = 100.0 * work / (ms * 1e-3) / roof
            print(f"| {model} | {name} | {rs[0]['shape']} | {label} | {ms:.2f} ({algo}) | {pct:.0f} % | "
                  f"{best:.2f} ({lay}) | **{best / ms:.2f}** | {before:.2f} |")
    print(f"\n(sgemm rate measured by bench_conv_layers: median {med(next(iter(ours.values())), 'sgemm_gflops'):.0f} "
          f"GFLOP/s; the fused row counts the three conv passes only.)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "../../build"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="all", choices=["all", "step", "layers"])
    ap.add_argument("--only", default="", help="run only the step rows whose label contains this")
    ap.add_argument("--extra-isa", action="append", default=[],
                    help="also run our step with SENET_CPU_ISA=this (e.g. avx2), as its own contender")
    ap.add_argument("--layers-only", default="", help="bench_conv_layers --only filter")
    ap.add_argument("--out", default="")
    ap.add_argument("--tmp", default="/tmp")
    args = ap.parse_args()
    import torch  # noqa: F401 (fail early, with the venv's message, if torch is missing)
    out = args.out or os.path.join(args.tmp, f"vs_pytorch_{int(time.time())}.jsonl")
    print(f"# CPU: {cpu_model()} | {os.cpu_count()} logical CPUs | threads {args.threads} | "
          f"torch {torch.__version__} | rounds {args.rounds} | raw results: {out}")
    with open(out, "w") as log:
        if args.rows in ("all", "step"):
            bench_steps(args, log)
        if args.rows in ("all", "layers"):
            bench_layers(args, log)


if __name__ == "__main__":
    main()
