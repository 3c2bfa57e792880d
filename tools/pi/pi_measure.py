#!/usr/bin/env python3
"""tools/pi/pi_measure.py — entry point of `senet pi-measure` (run with the venv from setup_pi.sh)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import jax  # noqa: F401
    import numpy  # noqa: F401
    import spu  # noqa: F401
except ImportError as e:
    sys.exit(f"senet pi-measure: error: {e}; this Python ({sys.executable}) lacks the tool's packages: "
             f"run tools/pi/setup_pi.sh and use its venv (.venv-pi/bin/python)")

from senet_pi.cli import entry  # noqa: E402

if __name__ == "__main__":
    entry()
