"""senet_study — the compute-fair SENet-vs-SNL study on Fashion-MNIST (docs/results.md).

grid.py (seeds × budgets × arms, compute-fair epochs), runner.py (runs `senet` unattended and
resumable), results.py (aggregation and the decision rule), report.py (markdown), plot.py
(matplotlib). Run it with tools/study/study.sh, or `python3 -m senet_study --help` from here.
"""
