#!/usr/bin/env python3
"""tools/study/report.py — turn the study's pipeline reports into docs/results.md's table and the
accuracy-vs-ReLU-count plot docs/results_fmnist.svg (hand-written SVG: no plotting library).

    python3 tools/study/report.py RUNS_ROOT DOCS_DIR

RUNS_ROOT holds one directory per run, named METHOD_BUDGET (METHOD may be a variant tag such as
snl-strong), each with the pipeline's report.json,
plus wall_times.jsonl (one line per invocation of `senet pipeline`, written by study.sh).
The table goes between the markers <!-- study-table --> and <!-- /study-table --> of
DOCS_DIR/results.md (the file is created with just the table if it does not exist), so the prose
around it survives a regeneration. Standard library only.
"""
import json
import os
import sys

METHODS = [  # name in senet.method, label, colour, marker
    ("senet", "SENet", "#1f77b4", "circle"),
    ("no_pram", "SENet without PRAM", "#2ca02c", "square"),
    ("random_masks", "SENet allocation + random masks", "#9467bd", "diamond"),
    ("uniform", "uniform allocation + SENet masks", "#ff7f0e", "triangle"),
    ("snl", "SNL (λ₀ = 5e-5, lr 2e-3)", "#d62728", "cross"),
    ("snl-strong", "SNL (λ₀ = 1e-3, lr 4e-3)", "#8c564b", "cross"),
]
STAGES = ["sensitivity", "mask_search", "snl", "finetune"]


def load_runs(root):
    walls = {}
    path = os.path.join(root, "wall_times.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    w = json.loads(line)
                    key = (w["method"], int(w["budget"]))
                    walls[key] = walls.get(key, 0.0) + float(w["wall_seconds"])
    runs = []
    for name in sorted(os.listdir(root)):
        rep = os.path.join(root, name, "report.json")
        if not os.path.isfile(rep):
            continue
        with open(rep) as f:
            r = json.load(f)
        # The directory is TAG_BUDGET; TAG is senet.method, or a variant of it (e.g. snl-strong).
        method, budget = name.rsplit("_", 1)[0], int(r["budget"])
        stages = r.get("stages", {})
        compute = sum(float(stages[s].get("seconds") or 0) for s in STAGES if s in stages)
        runs.append({
            "dir": name, "method": method, "budget": budget, "relus": int(r["relu_count"]),
            "capacity": int(r["relu_capacity"]),
            "val": float(r["student"]["val_accuracy"]), "test": float(r["student"]["test_accuracy"]),
            "teacher_test": float(r["teacher"]["test_accuracy"]),
            "teacher_relus": int(r["teacher"]["relu_count"]),
            "compute": compute, "wall": walls.get((method, budget)),
            "stage_seconds": {s: float(stages[s].get("seconds") or 0) for s in STAGES if s in stages},
        })
    if not runs:
        sys.exit(f"report.py: no */report.json under {root}")
    return runs


def label_of(method):
    for m in METHODS:
        if m[0] == method:
            return m[1]
    return method


def table(runs):
    order = {m[0]: i for i, m in enumerate(METHODS)}
    runs = sorted(runs, key=lambda r: (r["budget"], order.get(r["method"], 99)))
    lines = [
        "| budget | method | ReLUs (exact) | % of 69,632 | val acc | test acc | student compute (s) | wall of this run (s) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        wall = f"{r['wall']:.0f}" if r["wall"] is not None else "–"
        over = " (over budget)" if r["relus"] > r["budget"] else ""
        lines.append(
            f"| {r['budget']:,} | {label_of(r['method'])} | {r['relus']:,}{over} | {100 * r['relus'] / r['capacity']:.2f} % "
            f"| {100 * r['val']:.2f} % | {100 * r['test']:.2f} % | {r['compute']:.0f} | {wall} |")
    t = runs[0]
    lines.append("")
    lines.append(f"Teacher (all {t['teacher_relus']:,} ReLUs): test {100 * t['teacher_test']:.2f} %.")
    return "\n".join(lines)


def marker(shape, x, y, colour):
    r = 5
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{colour}"/>'
    if shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} '
                f'{x - r - 1:.1f},{y:.1f}" fill="{colour}"/>')
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}" '
                f'fill="{colour}"/>')
    return (f'<path d="M{x - r:.1f},{y - r:.1f} L{x + r:.1f},{y + r:.1f} M{x - r:.1f},{y + r:.1f} '
            f'L{x + r:.1f},{y - r:.1f}" stroke="{colour}" stroke-width="2.5"/>')


def svg(runs):
    """Test accuracy against the exact ReLU count, log-scaled x, one line per method."""
    import math
    W, H, left, right, top, bottom = 760, 460, 70, 250, 40, 60
    xs = [r["relus"] for r in runs]
    ys = [100 * r["test"] for r in runs] + [100 * runs[0]["teacher_test"]]
    x0, x1 = math.log10(min(xs) / 1.5), math.log10(max(xs) * 1.5)
    y0 = math.floor(min(ys) / 5) * 5
    y1 = math.ceil(max(ys) / 5) * 5 + (0 if max(ys) % 5 else 5)
    px = lambda v: left + (math.log10(v) - x0) / (x1 - x0) * (W - left - right)
    py = lambda v: top + (y1 - v) / (y1 - y0) * (H - top - bottom)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">Fashion-MNIST, ResNet-18 (width 0.125): test accuracy vs ReLU count</text>']
    for e in range(int(math.floor(x0)), int(math.ceil(x1)) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** e
            if x0 <= math.log10(v) <= x1:
                X = px(v)
                out.append(f'<line x1="{X:.1f}" y1="{top}" x2="{X:.1f}" y2="{H - bottom}" stroke="#ddd"/>')
                out.append(f'<text x="{X:.1f}" y="{H - bottom + 16}" text-anchor="middle">{v:,}</text>')
    step = 5 if y1 - y0 > 20 else 2
    v = y0
    while v <= y1:
        Y = py(v)
        out.append(f'<line x1="{left}" y1="{Y:.1f}" x2="{W - right}" y2="{Y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{Y + 4:.1f}" text-anchor="end">{v} %</text>')
        v += step
    out.append(f'<rect x="{left}" y="{top}" width="{W - left - right}" height="{H - top - bottom}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{(left + W - right) / 2:.1f}" y="{H - 18}" text-anchor="middle">ReLUs kept (exact count, log scale)</text>')
    out.append(f'<text transform="translate(18,{(top + H - bottom) / 2:.1f}) rotate(-90)" text-anchor="middle">test accuracy</text>')
    T = py(100 * runs[0]["teacher_test"])
    out.append(f'<line x1="{left}" y1="{T:.1f}" x2="{W - right}" y2="{T:.1f}" stroke="#555" stroke-dasharray="6,4"/>')
    ly = top + 10
    for method, label, colour, shape in METHODS:
        pts = sorted((r["relus"], 100 * r["test"]) for r in runs if r["method"] == method)
        if not pts:
            continue
        if len(pts) > 1:
            d = " ".join(f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(pts))
            out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        out += [marker(shape, px(x), py(y), colour) for x, y in pts]
        out.append(marker(shape, W - right + 20, ly, colour))
        out.append(f'<text x="{W - right + 32}" y="{ly + 4}">{label}</text>')
        ly += 22
    out.append(f'<line x1="{W - right + 12}" y1="{ly}" x2="{W - right + 28}" y2="{ly}" stroke="#555" stroke-dasharray="6,4"/>')
    out.append(f'<text x="{W - right + 32}" y="{ly + 4}">teacher ({runs[0]["teacher_relus"]:,} ReLUs)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py RUNS_ROOT DOCS_DIR")
    root, docs = sys.argv[1], sys.argv[2]
    runs = load_runs(root)
    with open(os.path.join(docs, "results_fmnist.svg"), "w") as f:
        f.write(svg(runs))
    with open(os.path.join(root, "study.json"), "w") as f:
        json.dump(runs, f, indent=1)
    md = os.path.join(docs, "results.md")
    block = "<!-- study-table -->\n" + table(runs) + "\n<!-- /study-table -->"
    if os.path.exists(md):
        text = open(md).read()
        a, b = text.find("<!-- study-table -->"), text.find("<!-- /study-table -->")
        if a < 0 or b < 0:
            sys.exit(f"report.py: {md} has no <!-- study-table --> ... <!-- /study-table --> markers")
        text = text[:a] + block + text[b + len("<!-- /study-table -->"):]
    else:
        text = "# Results\n\n" + block + "\n"
    with open(md, "w") as f:
        f.write(text)
    print(table(runs))
    print(f"report.py: wrote {md} and {os.path.join(docs, 'results_fmnist.svg')}")


if __name__ == "__main__":
    main()
