"""Test accuracy against the ReLU budget with error bars (one standard deviation over seeds)."""
from __future__ import annotations

from pathlib import Path

from .grid import ARMS
from .results import Run, cells


def plot(runs: list[Run], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = cells(runs)
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(figsize=(11, 5.2), dpi=110)
    markers = "osD^vP*Xhp<>"
    budgets = sorted({b for _, b in table})
    for i, arm in enumerate(a for a in ARMS if any(k[0] == a.name for k in table)):
        pts = sorted((b, table[(arm.name, b)]) for b in budgets if (arm.name, b) in table)
        # Arms side by side at each budget (a small multiplicative offset on the log axis).
        shift = 1 + 0.012 * (i - len(ARMS) / 2)
        xs = [b * shift for b, _ in pts]
        ys = [100 * c.mean("test") for _, c in pts]
        es = [100 * c.std("test") if c.n > 1 else 0 for _, c in pts]
        ax.errorbar(xs, ys, yerr=es, marker=markers[i % len(markers)], capsize=3, linewidth=1,
                    label=arm.label)
    teacher = sorted({r.teacher_test for r in runs})
    if teacher:
        ax.axhline(100 * sum(teacher) / len(teacher), color="#555", linestyle="--", linewidth=1,
                   label="teacher (all ReLUs), mean")
    ax.set_xscale("log")
    ax.set_xticks(budgets)
    ax.set_xticklabels([f"{b:,}" for b in budgets])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(min(budgets) / 1.25, max(budgets) * 1.25)
    ax.set_xlabel("ReLUs kept (exact budget, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
