"""python -m senet_pi [options] — `senet pi-measure` (tools/cli_pi.cpp runs this with the Python of
the tool's venv, tools/pi/setup_pi.sh, and PYTHONPATH=<source>/tools/pi). --help lists the options."""
import sys

try:
    import numpy  # noqa: F401  (every module needs it; JAX and SPU are checked where they are used)
except ImportError as e:
    sys.exit(f"senet pi-measure: error: {e}; this Python ({sys.executable}) lacks the tool's packages: "
             f"run tools/pi/setup_pi.sh and use its venv (.venv-pi/bin/python)")

from .cli import entry  # noqa: E402

if __name__ == "__main__":
    entry()
