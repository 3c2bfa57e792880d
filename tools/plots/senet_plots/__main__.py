"""python3 -m senet_plots RUN_DIR [--out DIR] — pictures of a `senet pipeline` run, drawn from its
own JSON files (report.json, each stage's metrics.jsonl, the config in student.safetensors).

  allocation.png  per ReLU site in network order: the site's size (C×H×W positions) and the
                  ReLUs kept on a log axis (kept % above each bar), and η, the sensitivity score,
                  on its own axis; the title says the model, the budget and the ReLUs kept.
  training.png    one row per stage that ran (teacher, sensitivity, stage 2 mask search, SNL,
                  stage 3 fine-tuning): loss per epoch (train total, its weighted terms, validation
                  CE; log axis), validation and train accuracy, and for SNL runs the ReLU count
                  per epoch with the budget as a horizontal line.

Exit status: 0 written (one line names the files); 1 the run directory, report.json or a
metrics.jsonl is missing or malformed (one line names the file); 2 usage; 3 matplotlib is not
installed (apt-get install python3-matplotlib).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .run import RunError, load_run

EXIT_ERROR = 1
EXIT_NO_MATPLOTLIB = 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m senet_plots", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                    help="a finished `senet pipeline` out_dir")
    ap.add_argument("--out", type=Path, metavar="DIR", help="write the PNGs here (default: RUN_DIR)")
    a = ap.parse_args(argv)

    try:  # the run's files first: a broken run is an error whether or not matplotlib is there
        run = load_run(a.run_dir)
    except RunError as e:
        print(f"senet_plots: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    if not run.stages:
        print(f"senet_plots: error: {a.run_dir}: no stage metrics (teacher/, sensitivity/, stage2/, "
              "snl/ or stage3/metrics.jsonl)", file=sys.stderr)
        return EXIT_ERROR
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"senet_plots: matplotlib is not installed ({e}): apt-get install python3-matplotlib",
              file=sys.stderr)
        return EXIT_NO_MATPLOTLIB

    from .figures import allocation_figure, save, training_figure

    out = a.out or a.run_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "allocation.png", out / "training.png"]
        save(allocation_figure(run), paths[0])
        save(training_figure(run), paths[1])
    except OSError as e:
        print(f"senet_plots: error: cannot write into {out}: {e}", file=sys.stderr)
        return EXIT_ERROR
    print(f"senet_plots: wrote {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
