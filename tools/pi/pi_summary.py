#!/usr/bin/env python3
"""tools/pi/pi_summary.py FILE.jsonl... — markdown table of `senet pi-measure --json` results."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from senet_pi import PiError  # noqa: E402
from senet_pi.summary import load_totals, markdown  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 else 2)
    try:
        print(markdown(load_totals(sys.argv[1:])))
    except PiError as e:
        print(f"pi_summary: error: {e}", file=sys.stderr)
        sys.exit(1)
