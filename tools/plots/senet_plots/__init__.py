"""senet_plots — pictures of a `senet pipeline` run from its own JSON files: the per-site
allocation (allocation.png) and the training curves per stage (training.png).

run.py reads the run directory into dataclasses (no matplotlib); figures.py draws them
(matplotlib, Agg). Run it as `python3 -m senet_plots RUN_DIR` with PYTHONPATH=tools/plots.
"""
