"""The two figures of a run, drawn with matplotlib (Agg backend) from senet_plots.run's dataclasses.

allocation_figure: per counted ReLU site in network order, bars of the site size (C·H·W) and the
    ReLUs kept on one log axis, the keep % above each, η (sensitivity) on its own linear axis.
training_figure: one row per stage that ran; columns loss (train total, its weighted terms,
    validation CE; log axis), accuracy (validation, train) and, for SNL runs, the ReLU count
    (log axis, budget as a horizontal line); the heading adds the test accuracies and the notes
    on stages without metrics here.
Each returns the Figure; save() writes it as a PNG, atomically (a temporary file, then a rename).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from .run import Run, Stage

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TERM_LABELS = {"ce": "CE", "kd": "KD", "pram": "PRAM", "l1": "λ·Σ|α|"}
COLOR_SIZE, COLOR_KEPT, COLOR_ETA, COLOR_ALLOC = "#c9ced6", "#1f77b4", "#d62728", "#222222"


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _percent(part: int, whole: int) -> str:
    """"0.49 %", "2.9 %", "19.6 %", "100 %": two significant digits below 10 %, three from there."""
    p = 100 * part / whole if whole else 0.0
    return f"{p:.2g} %" if p < 10 else f"{p:.3g} %"


def _title(run: Run) -> str:
    s = run.summary
    return (f"{s.model} on {s.dataset}, {s.method} ({s.granularity}-wise): {s.relu_count:,} of "
            f"{s.relu_capacity:,} ReLUs kept ({_percent(s.relu_count, s.relu_capacity)}), "
            f"budget {s.budget:,}")


def _group(name: str) -> str:
    """The block a site belongs to: "layer2" for "layer2.0.relu1", the name itself otherwise."""
    return name.split(".", 1)[0]


def allocation_figure(run: Run) -> Figure:
    plt = _pyplot()
    sites = run.sites
    n = len(sites)
    x = list(range(n))
    etas = [s.eta for s in sites]
    has_eta = any(e is not None for e in etas)
    fig, (ax, ax_eta) = plt.subplots(2, 1, sharex=True, figsize=(max(9.0, 0.55 * n + 3.0), 6.4),
                                     dpi=110, gridspec_kw={"height_ratios": [3, 1]})

    sizes = [s.size for s in sites]
    ax.bar(x, sizes, width=0.8, color=COLOR_SIZE, label="site size (C×H×W positions)", zorder=2)
    # A bar of 0 has no height on a log axis: such sites show only their "0" label.
    ax.bar(x, [s.kept for s in sites], width=0.5, color=COLOR_KEPT, label="ReLUs kept", zorder=3)
    _plain_log(ax)
    ax.set_ylim(0.5, max(sizes) * 3)
    allocated = [s.allocated for s in sites]
    if any(a is not None and a != s.kept for a, s in zip(allocated, sites)):
        pts = [(i, a) for i, a in enumerate(allocated) if a is not None and a > 0]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="none", marker="_",
                markersize=14, markeredgewidth=2, color=COLOR_ALLOC, label="allocated", zorder=4)
    if n <= 48:
        for i, s in enumerate(sites):
            label = _percent(s.kept, s.size).replace(" ", "") if s.kept else "0"
            ax.annotate(label, (i, max(s.kept, 0.5)), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color=COLOR_KEPT, zorder=5)
    ax.set_ylabel("ReLUs (log scale)")
    ax.grid(True, axis="y", which="major", alpha=0.3, zorder=0)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)

    if has_eta:
        pts = [(i, e) for i, e in enumerate(etas) if e is not None]
        ax_eta.plot([p[0] for p in pts], [p[1] for p in pts], color=COLOR_ETA, marker="o",
                    markersize=4, linewidth=1.2)
        ax_eta.set_ylim(0, max(1.0, max(p[1] for p in pts)) * 1.1)
    else:
        ax_eta.set_yticks([])
        ax_eta.text(0.5, 0.5, f"no η: the {run.summary.method} run allocates without sensitivities",
                    transform=ax_eta.transAxes, ha="center", va="center", fontsize=9, color="#555")
    ax_eta.set_ylabel("η (sensitivity)", color=COLOR_ETA)
    ax_eta.tick_params(axis="y", colors=COLOR_ETA)
    ax_eta.grid(True, axis="y", alpha=0.3)

    for a in (ax, ax_eta):
        for i in range(1, n):  # thin separators between the network's blocks
            if _group(sites[i].name) != _group(sites[i - 1].name):
                a.axvline(i - 0.5, color="#888", linewidth=0.6, linestyle=":", zorder=1)
    ax_eta.set_xticks(x)
    ax_eta.set_xticklabels([s.name for s in sites], rotation=45, ha="right", fontsize=8)
    ax_eta.set_xlim(-0.6, n - 0.4)
    ax_eta.set_xlabel("ReLU site, in network order (kept % of the site above its bar)")
    fig.suptitle(_title(run), fontsize=10.5)
    fig.tight_layout()
    return fig


def _xy(stage: Stage, values: Sequence[float | None],
        scale: float = 1.0) -> tuple[list[int], list[float]]:
    """(epochs, values × scale) of a stage's series, leaving out the epochs without a value."""
    pts = [(e.epoch, v * scale) for e, v in zip(stage.epochs, values) if v is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _number_label(v: float) -> str:
    return f"{v:,.0f}" if v >= 1000 else f"{v:.6g}"


def _plain_log(ax: Axes) -> None:
    """Log y axis labelled 0.05, 0.1, 1, 10, 10,000 rather than 10⁻¹; minor ticks labelled too on
    short spans: at 2× and 5× under 30×, all under 3×."""
    from matplotlib.ticker import FuncFormatter

    def minor(v: float, _pos: int) -> str:
        lo, hi = ax.get_ylim()
        mantissa = round(v / 10 ** math.floor(math.log10(v)), 6)
        span = hi / lo
        return _number_label(v) if span < 3 or (span < 30 and mantissa in (2, 5)) else ""

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _number_label(v)))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def _plot(ax: Axes, xy: tuple[list[int], list[float]], **kw) -> None:
    """A series that has data; one with none gets no line and no legend entry."""
    if xy[0]:
        ax.plot(*xy, **kw)


def _epoch_axis(ax: Axes, stage: Stage) -> None:
    from matplotlib.ticker import MaxNLocator

    epochs = [e.epoch for e in stage.epochs]
    ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    if len(epochs) > 15:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    else:
        ax.set_xticks(epochs)
        if len({e.phase for e in stage.epochs}) > 1:  # stage 2 with settle epochs: which is which
            ax.set_xticklabels([f"{e.epoch}\n{e.phase or ''}" for e in stage.epochs])
    ax.margins(y=0.1)  # markers at the extremes stay clear of the frame
    ax.set_xlabel("epoch", fontsize=8, labelpad=1)
    ax.tick_params(which="both", labelsize=7.5)
    ax.grid(True, alpha=0.3)


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                  frameon=False, handlelength=1.8)


def _loss_panel(ax: Axes, stage: Stage) -> None:
    ep = stage.epochs
    _plot(ax, _xy(stage, [e.train_loss for e in ep]), color="black", marker="o", markersize=4,
          label="train (total)")
    order = list(TERM_LABELS)
    names = sorted({k for e in ep for k in e.terms},
                   key=lambda k: (order.index(k) if k in order else len(order), k))
    if len(names) > 1:  # a single term is the train loss itself
        for k in names:
            _plot(ax, _xy(stage, [e.terms.get(k) for e in ep]), linestyle="--", marker=".",
                  label=TERM_LABELS.get(k, k))
    _plot(ax, _xy(stage, [e.val_loss for e in ep]), color="#777", linestyle=":", marker="s",
          markersize=3.5, label="val CE")
    ys = [float(y) for line in ax.get_lines() for y in line.get_ydata()]
    log = bool(ys) and min(ys) > 0
    if log:
        _plain_log(ax)
    if not ys:
        ax.text(0.5, 0.5, "no loss logged", transform=ax.transAxes, ha="center", fontsize=8)
    terms = ", weighted terms" if len(names) > 1 else ""
    ax.set_ylabel(f"loss{terms}{' (log)' if log else ''}", fontsize=8)
    _epoch_axis(ax, stage)
    _legend(ax)


def _accuracy_panel(ax: Axes, stage: Stage) -> None:
    ep = stage.epochs
    vx, vy = _xy(stage, [e.val_accuracy for e in ep], 100)
    _plot(ax, (vx, vy), color="#2ca02c", marker="o", markersize=4,
          label=f"val (last {vy[-1]:.2f} %)" if vy else "")
    _plot(ax, _xy(stage, [e.train_accuracy for e in ep], 100), color="#2ca02c", linestyle="--",
          marker=".", alpha=0.6, label="train")
    for w in sorted({w for e in ep for w in e.width_val_accuracy}):
        _plot(ax, _xy(stage, [e.width_val_accuracy.get(w) for e in ep], 100), linestyle=":",
              marker=".", linewidth=1, label=f"val, width {w:g}")
    if not ax.get_lines():
        ax.text(0.5, 0.5, "no accuracy logged", transform=ax.transAxes, ha="center", fontsize=8)
    ax.set_ylabel("accuracy (%)", fontsize=8)
    _epoch_axis(ax, stage)
    _legend(ax)


def _relu_panel(ax: Axes, stage: Stage, run: Run) -> None:
    ep = stage.epochs
    x, y = _xy(stage, [e.relus for e in ep])
    if not y:
        ax.text(0.5, 0.5, f"all {run.summary.relu_capacity:,} ReLUs\n(no masks in this stage)",
                transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#555")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    label = "α > threshold" if stage.key == "snl" else "kept"
    ax.plot(x, y, color="#9467bd", marker="o", markersize=4, label=label)
    budgets = sorted({e.budget for e in ep if e.budget is not None} or {run.summary.budget})
    for b in budgets:
        ax.axhline(b, color="#d62728", linestyle="--", linewidth=1, label=f"budget {b:,}")
    ax.axhline(run.summary.relu_capacity, color="#777", linestyle=":", linewidth=1,
               label=f"all {run.summary.relu_capacity:,}")
    _plain_log(ax)
    ax.set_ylim(max(min(min(y), budgets[0]), 1) / 2, max(max(y), run.summary.relu_capacity) * 2)
    ax.set_ylabel("ReLUs (log)", fontsize=8)
    _epoch_axis(ax, stage)
    _legend(ax)


def _stage_heading(stage: Stage) -> str:
    n = len(stage.epochs)
    parts = [f"{n} epoch{'s' if n != 1 else ''}"]
    if stage.seconds is not None:
        parts.append(f"{stage.seconds:.0f} s" if stage.seconds >= 10 else f"{stage.seconds:.1f} s")
    if stage.external:
        parts.append(f"read from {stage.metrics.parent}")
    return f"{stage.title} — {', '.join(parts)}"


# The training figure's grid, in inches: each panel has room for its y labels on the left and its
# legend on the right, so the panels of every row line up.
PANEL_W, PANEL_H, PAD_LEFT, PAD_RIGHT = 3.3, 1.5, 0.75, 1.35
ROW_H, HEAD_LINE_H = 2.55, 0.2


def training_figure(run: Run) -> Figure:
    plt = _pyplot()
    s = run.summary
    lines = [_title(run)]
    tests = [f"{who} test accuracy {100 * v:.2f} %" for who, v in
             (("teacher", s.teacher_test), ("student", s.student_test)) if v is not None]
    if tests:
        lines.append(", ".join(tests))
    lines += run.notes
    head_h = 0.25 + HEAD_LINE_H * len(lines)

    stages = run.stages
    cols = 3 if any(st.key == "snl" for st in stages) else 2
    slot = PAD_LEFT + PANEL_W + PAD_RIGHT
    width, height = cols * slot + 0.1, head_h + ROW_H * len(stages)
    fig = plt.figure(figsize=(width, height), dpi=110)
    fig.text(0.5, 1 - 0.12 / height, "\n".join(lines), ha="center", va="top", fontsize=9.5,
             linespacing=1.45)
    for r, stage in enumerate(stages):
        row_top = height - head_h - r * ROW_H  # inches from the bottom
        fig.text(0.08 / width, (row_top - 0.05) / height, _stage_heading(stage), ha="left",
                 va="top", fontsize=9.5, fontweight="bold")
        axes = [fig.add_axes(((c * slot + PAD_LEFT) / width, (row_top - 0.4 - PANEL_H) / height,
                              PANEL_W / width, PANEL_H / height)) for c in range(cols)]
        _loss_panel(axes[0], stage)
        _accuracy_panel(axes[1], stage)
        if cols == 3:
            _relu_panel(axes[2], stage, run)
    return fig


def save(fig: Figure, path: Path) -> None:
    plt = _pyplot()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
