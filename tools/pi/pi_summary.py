#!/usr/bin/env python3
"""tools/pi/pi_summary.py FILE.jsonl... — markdown table of `senet pi-measure --json` results
(senet_pi/summary.py: the standard library only, any python3). Python puts this file's folder first on
sys.path, so the package senet_pi next to it is the one imported."""
from senet_pi.summary import entry

if __name__ == "__main__":
    entry()
