"""python3 -m senet_study {run,report,plan} — the compute-fair SENet-vs-SNL study (docs/results.md).

    run     ROOT --senet BIN --config CONFIG [--seeds 1 2 3] [--budgets 0.01 0.03 0.10] [--arms …]
            runs the grid (3 % first, then 1 % and 10 %), skipping finished cells; rerun to resume
    report  ROOT --docs DOCS    tables into DOCS/results.md, plot into DOCS/results_study.png
    plan    same options as run: print the cells and the commands without running anything
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import grid
from .results import load_runs
from .runner import Runner


def _grid_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("root", type=Path)
    p.add_argument("--senet", type=Path, required=True, help="the senet binary")
    p.add_argument("--config", type=Path, required=True, help="the study's base config")
    p.add_argument("--seeds", type=int, nargs="+", default=list(grid.SEEDS))
    p.add_argument("--budgets", type=float, nargs="+", default=list(grid.BUDGET_FRACTIONS),
                   help="fractions of the model's ReLUs")
    p.add_argument("--arms", nargs="+", default=[a.name for a in grid.ARMS],
                   choices=[a.name for a in grid.ARMS])
    p.add_argument("--set", dest="extra", action="append", default=[],
                   help="extra key=value for every senet invocation (repeatable)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m senet_study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    _grid_args(sub.add_parser("run", help="run (or resume) the grid"))
    _grid_args(sub.add_parser("plan", help="print the grid's commands, run nothing"))
    rp = sub.add_parser("report", help="write docs/results.md's tables and the plot")
    rp.add_argument("root", type=Path)
    rp.add_argument("--docs", type=Path, required=True)
    rp.add_argument("--no-plot", action="store_true")
    a = ap.parse_args(argv)

    if a.cmd in ("run", "plan"):
        budgets = [grid.budget_of(f) for f in a.budgets]
        cells = grid.cells(a.seeds, budgets, [grid.arm(n) for n in a.arms])
        a.root.mkdir(parents=True, exist_ok=True)
        r = Runner(a.senet, a.config, a.root.resolve(), tuple(a.extra), dry_run=a.cmd == "plan")
        for i, c in enumerate(cells):
            print(f"study: cell {i + 1}/{len(cells)}", flush=True)
            r.run(c)
        return 0

    from .report import tables, title, write_markdown

    runs = load_runs(a.root)
    if not runs:
        print(f"report: no finished run under {a.root}", file=sys.stderr)
        return 1
    block = tables(runs)
    a.docs.mkdir(parents=True, exist_ok=True)
    write_markdown(a.docs / "results.md", block)
    print(block)
    if not a.no_plot:
        from .plot import plot

        plot(runs, a.docs / "results_study.png", title(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
