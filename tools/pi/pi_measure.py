#!/usr/bin/env python3
"""tools/pi/pi_measure.py [options] — `python -m senet_pi` as a script, what `senet pi-measure` runs
(use the venv from setup_pi.sh). Python puts this file's folder first on sys.path, so the package
senet_pi next to it is the one imported."""
import runpy

if __name__ == "__main__":
    runpy.run_module("senet_pi", run_name="__main__", alter_sys=True)
