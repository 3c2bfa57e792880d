"""docs/results.md's study tables, written between the markers <!-- study-tables --> and
<!-- /study-tables --> so that the prose around them survives a regeneration, and the plot's title.
The model's ReLU total (the 100 % of the budgets) and its name come from the runs themselves
(report.json's relu_capacity, the config in student.safetensors), and must agree across them."""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from .grid import ARMS
from .results import Cell, Run, best_on_validation, cells, compare

BEGIN, END = "<!-- study-tables -->", "<!-- /study-tables -->"
REFERENCE = "senet"


def _label(arm: str) -> str:
    for a in ARMS:
        if a.name == arm:
            return a.label
    return arm


def _order(arm: str) -> int:
    names = [a.name for a in ARMS]
    return names.index(arm) if arm in names else len(names)


def _pm(c: Cell, key: str) -> str:
    m = 100 * c.mean(key)
    return f"{m:.2f} ± {100 * c.std(key):.2f}" if c.n > 1 else f"{m:.2f}"


def accuracy_table(table: dict[tuple[str, int], Cell], capacity: int) -> str:
    budgets = sorted({b for _, b in table})
    lines = ["| arm | " + " | ".join(f"{b:,} ReLUs ({100 * b / capacity:.0f} %)" for b in budgets) + " |",
             "|---|" + "---:|" * len(budgets)]
    for arm in sorted({a for a, _ in table}, key=_order):
        row = [_label(arm)]
        for b in budgets:
            c = table.get((arm, b))
            if c is None:
                row.append("–")
                continue
            exact = all(r.relus == b for r in c.runs)
            row.append(f"{_pm(c, 'test')} (n={c.n}){'' if exact else ' ≠ budget'}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def comparison_table(table: dict[tuple[str, int], Cell]) -> str:
    budgets = sorted({b for _, b in table})
    lines = ["| budget | arm | test − SENet (mean ± SE, points) | per seed | verdict |",
             "|---:|---|---:|---|---|"]
    for b in budgets:
        for arm in sorted({a for a, bb in table if bb == b and a != REFERENCE}, key=_order):
            cmp = compare(table, arm, REFERENCE, b)
            if cmp is None or not cmp.diffs:
                continue
            se = f" ± {100 * cmp.se:.2f}" if math.isfinite(cmp.se) else ""
            per = ", ".join(f"{100 * d:+.2f}" for d in cmp.diffs)
            lines.append(f"| {b:,} | {_label(arm)} | {100 * cmp.mean:+.2f}{se} | {per} | {cmp.verdict} |")
    return "\n".join(lines)


def terms_table(runs: list[Run]) -> str:
    """Stage 3's (SNL's: its α epoch's) loss terms and gradients on its first batch, mean over seeds."""
    keys = ["ce", "kd", "pram", "l1"]
    lines = ["| arm | budget | " + " | ".join(f"{k} loss" for k in keys) + " | "
             + " | ".join(f"‖∇{k}‖" for k in keys) + " | cos(∇ce+kd, ∇pram) |",
             "|---|---:|" + "---:|" * (2 * len(keys) + 1)]
    groups: dict[tuple[str, int], list[Run]] = {}
    for r in runs:
        if r.terms:
            groups.setdefault((r.arm, r.budget), []).append(r)
    for (arm, b), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], _order(kv[0][0]))):
        def mean_of(get: Callable[[Run], float | None]) -> str:
            v = [get(r) for r in rs if get(r) is not None]
            return f"{sum(v) / len(v):.3g}" if v else "–"
        row = [_label(arm), f"{b:,}"]
        row += [mean_of(lambda r, k=k: r.terms.get(k)) for k in keys]
        row += [mean_of(lambda r, k=k: r.grad_norms.get(k)) for k in keys]
        # cos(∇ce + ∇kd, ∇pram) from the pairwise cosines and norms.
        def cos_sum(r: Run) -> float | None:
            n, c = r.grad_norms, r.grad_cosines
            if not all(k in n for k in ("ce", "kd", "pram")):
                return None
            ce_kd = math.sqrt(max(n["ce"] ** 2 + n["kd"] ** 2 + 2 * n["ce"] * n["kd"] * c.get("ce·kd", 0), 0))
            if ce_kd == 0 or n["pram"] == 0:
                return None
            return (n["ce"] * c.get("ce·pram", 0) + n["kd"] * c.get("kd·pram", 0)) / ce_kd
        row.append(mean_of(cos_sum))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def compute_table(runs: list[Run]) -> str:
    stages = ["sensitivity", "mask_search", "snl", "finetune"]
    lines = ["| arm | " + " | ".join(f"{s} (s)" for s in stages) + " |", "|---|" + "---:|" * len(stages)]
    by_arm: dict[str, list[Run]] = {}
    for r in runs:
        by_arm.setdefault(r.arm, []).append(r)
    for arm in sorted(by_arm, key=_order):
        rs = by_arm[arm]
        row = [_label(arm)]
        for s in stages:
            v = [r.stage_seconds[s] for r in rs if s in r.stage_seconds]
            row.append(f"{sum(v) / len(v):.0f}" if v else "–")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def relu_capacity(runs: list[Run]) -> int:
    """The model's ReLU total, the same in every run (a study compares one model)."""
    caps = sorted({r.capacity for r in runs})
    if len(caps) != 1:
        raise ValueError(f"report: the runs disagree on the model's ReLU total ({caps}); "
                         f"one study, one model")
    return caps[0]


def title(runs: list[Run]) -> str:
    """The plot's title: the runs' model and data set, and its ReLU total."""
    models = sorted({r.model for r in runs if r.model})
    if len(models) > 1:
        raise ValueError(f"report: the runs are of different models ({'; '.join(models)})")
    what = f"{models[0]}, " if models else ""
    return (f"{what}{relu_capacity(runs):,} ReLUs: test accuracy vs ReLU budget, "
            f"± 1 std over seeds")


def tables(runs: list[Run]) -> str:
    table = cells(runs)
    capacity = relu_capacity(runs)
    teacher = sorted({(r.seed, r.teacher_test) for r in runs})
    budgets = sorted({b for _, b in table})
    best = [f"{b:,}: {_label(a)}" for b in budgets if (a := best_on_validation(table, b))]
    parts = [
        "Test accuracy (%), mean ± standard deviation over seeds (n = seeds finished):",
        "", accuracy_table(table, capacity), "",
        "Against SENet at the paper's settings, paired by seed (same teacher and split); a"
        " difference counts only if it exceeds two standard errors and has the same sign in every"
        " seed:", "", comparison_table(table), "",
        "Best arm on **validation** accuracy (mean over ≥ 2 seeds) per budget: "
        + ("; ".join(best) if best else "not enough seeds yet") + ".", "",
        "Teachers (all-ReLU, test): " + ", ".join(f"seed {s} {100 * t:.2f} %" for s, t in teacher) + ".",
        "", "Loss terms as weighted in the loss, and their gradient norms over all weights, on the"
        " first batch of stage 3 (SNL: of its α epoch), mean over seeds:", "", terms_table(runs), "",
        "Seconds per stage, mean over runs (stage 1 is shared by a seed's runs and reported apart;"
        " the machine was also used for other work, so compare loosely):", "", compute_table(runs),
    ]
    return "\n".join(parts)


def write_markdown(md: Path, block: str) -> None:
    wrapped = f"{BEGIN}\n{block}\n{END}"
    if md.exists():
        text = md.read_text()
        a, b = text.find(BEGIN), text.find(END)
        if a < 0 or b < 0:
            raise SystemExit(f"report: {md} has no {BEGIN} … {END} markers")
        text = text[:a] + wrapped + text[b + len(END):]
    else:
        text = f"# Results\n\n{wrapped}\n"
    md.write_text(text)
