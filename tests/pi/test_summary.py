"""tests/pi/test_summary.py — the markdown summary reads pi-measure's 'total' records, refuses a
malformed one naming the file and line, and tools/pi/pi_summary.py prints it. Standard library."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import TOOLS_PI
from senet_pi import PiError
from senet_pi.summary import load_totals, markdown

ROW = "| student | compact | SEMI2K | secret | 2,000 | 0.288 | 240 | 120 | 2.000 | 2.288 | 0.112 | 1.00 | 3.00 | "


def part(sb: float, rb: float, sm: float, rm: float, s: float) -> dict[str, float]:
    return {"send_bytes": sb, "recv_bytes": rb, "send_msgs": sm, "recv_msgs": rm, "seconds": s}


def total() -> dict[str, Any]:
    return {"record": "total", "model": "student", "variant": "compact", "protocol": "semi2k",
            "weights": "secret", "relus": 2000, "images": 3, "mismatches": 0,
            "relu": {"first": part(144000, 144000, 120, 120, 1.5),
                     "later": part(144000, 144000, 120, 120, 1.0)},
            "linear": {"first": part(1e6, 1e6, 40, 40, 2), "later": part(1e6, 1e6, 40, 40, 2)},
            "all": {"first": part(1.2e6, 1.2e6, 160, 160, 3.5),
                    "later": part(1144000, 1144000, 160, 160, 3.0)},
            "estimate": {"cryptflow2": {"relus": 2000, "online_bytes": 1120000.0, "online_seconds": 0.01},
                         "delphi": {"relus": 2000, "online_bytes": 1312000.0, "online_seconds": 0.04}}}


def write(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_row(tmp_path: Path) -> None:
    rows = load_totals([write(tmp_path / "a.jsonl", {"record": "step"}, total())])
    assert len(rows) == 1
    md = markdown(rows).splitlines()
    assert len(md) == 7   # the cost table, a blank line, the latency table
    assert md[2] == ROW + "1.120 / 1.312 | 3.9× / 4.6× | 0/3 |"
    assert md[3] == ""
    assert md[4].startswith("| model | width | variant | protocol | weights | ReLUs | MACs | total MB")
    assert md[4].endswith("| LAN 10 Gbit/s, RTT 0.1 ms s | WAN 100 Mbit/s, RTT 40 ms s |")
    # no width/macs in the record (older files): width 1, MACs unknown; rounds = max(sent, received)
    # per part; LAN 2,288,000·8/1e10 + 160·1e-4 = 0.0178 s, WAN 2,288,000·8/1e8 + 160·0.04 = 6.583 s
    assert md[6] == ("| student | 1 | compact | SEMI2K | secret | 2,000 | — | 2.288 | 320 | "
                     "120 / 160 | 0.018 | 6.583 |")
    rec = {**total(), "width": 0.5, "macs": 123456}
    for part in ("relu", "all"):
        rec[part]["later"]["rounds"] = 7.0     # recorded rounds win over the messages
    md = markdown(load_totals([write(tmp_path / "w.jsonl", rec)])).splitlines()
    assert md[6].startswith("| student | 0.5 | compact | SEMI2K | secret | 2,000 | 123,456 | 2.288 | "
                            "320 | 7 / 7 | ")


def test_one_image_and_no_estimate(tmp_path: Path) -> None:
    # One image: no later runs, the first is the steady state and there is no extra; no estimate.
    rec = total()
    for p in ("relu", "linear", "all"):
        rec[p]["later"] = None
    rec["estimate"] = None
    del rec["weights"]
    md = markdown(load_totals([write(tmp_path / "b.jsonl", rec)])).splitlines()[2]
    assert md == ("| student | compact | SEMI2K | ? | 2,000 | 0.288 | 240 | 120 | 2.000 | 2.400 | 0.000 | "
                  "1.50 | 3.50 | — | — | 0/3 |")


def test_missing_file_and_malformed_records(tmp_path: Path) -> None:
    with pytest.raises(PiError, match="cannot read"):
        load_totals([tmp_path / "none.jsonl"])
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"record": "step"}) + "\n{oops\n")
    with pytest.raises(PiError, match=f"'{p}' line 2: not JSON"):
        load_totals([p])
    rec = total()
    del rec["relu"]["first"]["seconds"]
    with pytest.raises(PiError, match=f"'{p}' line 1: a malformed 'total' record .*seconds"):
        load_totals([write(p, rec)])


def test_pi_summary_script(tmp_path: Path) -> None:
    f = write(tmp_path / "a.jsonl", total())
    r = subprocess.run([sys.executable, str(TOOLS_PI / "pi_summary.py"), str(f)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[2].startswith(ROW)
    r = subprocess.run([sys.executable, str(TOOLS_PI / "pi_summary.py"), str(tmp_path / "x.jsonl")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("pi_summary: error: ")
    r = subprocess.run([sys.executable, str(TOOLS_PI / "pi_summary.py")], capture_output=True, text=True)
    assert r.returncode == 2 and "pi_summary.py FILE.jsonl" in r.stdout
