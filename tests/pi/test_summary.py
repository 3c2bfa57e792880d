"""tests/pi/test_summary.py — the markdown summary reads pi-measure's 'total' records."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "pi"))

from senet_pi import PiError  # noqa: E402
from senet_pi.summary import load_totals, markdown  # noqa: E402


def part(sb, rb, sm, rm, s):
    return {"send_bytes": sb, "recv_bytes": rb, "send_msgs": sm, "recv_msgs": rm, "seconds": s}


class Summary(unittest.TestCase):
    def test_row(self):
        rec = {"record": "total", "model": "student", "variant": "compact", "protocol": "semi2k",
               "weights": "secret", "relus": 2000, "images": 3, "mismatches": 0,
               "relu": {"first": part(144000, 144000, 120, 120, 1.5), "later": part(144000, 144000, 120, 120, 1.0)},
               "linear": {"first": part(1e6, 1e6, 40, 40, 2), "later": part(1e6, 1e6, 40, 40, 2)},
               "all": {"first": part(1.2e6, 1.2e6, 160, 160, 3.5), "later": part(1144000, 1144000, 160, 160, 3.0)},
               "estimate": {"cryptflow2": {"relus": 2000, "online_bytes": 1120000.0, "online_seconds": 0.01},
                            "delphi": {"relus": 2000, "online_bytes": 1312000.0, "online_seconds": 0.04}}}
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(json.dumps({"record": "step"}) + "\n" + json.dumps(rec) + "\n")
        try:
            rows = load_totals([f.name])
        finally:
            os.unlink(f.name)
        self.assertEqual(len(rows), 1)
        md = markdown(rows).splitlines()[2]
        self.assertIn("| 2,000 | 0.288 | 240 | 2.000 | 2.288 | 0.112 | 1.00 | 3.00 |", md)
        self.assertIn("1.120 / 1.312 | 3.9× / 4.6× | 0/3 |", md)

    def test_missing_file(self):
        with self.assertRaises(PiError):
            load_totals(["/nonexistent/x.jsonl"])


if __name__ == "__main__":
    unittest.main()
