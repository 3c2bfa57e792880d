"""Markdown summary of pi-measure JSON lines (docs/results_pi.md's tables).

Two tables, one row per (model, variant, protocol) 'total' record.
Cost: ReLUs; the ReLU sites' and the linear layers' traffic (sent + received, MB), messages and
rounds in the later runs (steady state); the first run's extra traffic (one-time setup); wall
times; and `senet cost`'s online estimate next to the measured ReLU traffic (ratio = estimate /
measured).
Latency: width factor, ReLUs, MACs, steady-state MB, messages and rounds (ReLU sites / all), and
the network-time estimate for each of records.LATENCY_NETWORKS (bytes·8/bandwidth + rounds×RTT).
Command line: tools/pi/pi_summary.py FILE.jsonl... (or python -m senet_pi.summary, or the
senet-pi-summary script of an installed package).
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from . import PiError
from .records import LATENCY_NETWORKS, CostEstimate, FirstLater


@dataclass(frozen=True)
class TotalRecord:
    """A 'total' record of pi-measure's JSON lines (records.py)."""
    model: str
    variant: str
    protocol: str
    weights: str                         # secret | public ('?' in files older than the option)
    relus: int
    images: int
    mismatches: int
    linear: FirstLater
    relu: FirstLater
    all: FirstLater
    estimate: dict[str, CostEstimate]    # per protocol of `senet cost`; empty without one
    width: float = 1.0                   # the width factor (1 in files older than the option)
    macs: int | None = None              # None in files older than the field

    @staticmethod
    def from_json(j: dict[str, Any]) -> TotalRecord:
        return TotalRecord(str(j["model"]), str(j["variant"]), str(j["protocol"]),
                           str(j.get("weights", "?")), int(j["relus"]), int(j["images"]),
                           int(j["mismatches"]), FirstLater.from_json(j["linear"]),
                           FirstLater.from_json(j["relu"]), FirstLater.from_json(j["all"]),
                           {k: CostEstimate.from_json(v) for k, v in (j.get("estimate") or {}).items()},
                           float(j.get("width", 1.0)),
                           int(j["macs"]) if j.get("macs") is not None else None)


def load_totals(paths: Sequence[str | os.PathLike[str]]) -> list[TotalRecord]:
    rows = []
    for path in paths:
        try:
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    try:
                        j = json.loads(line)
                    except json.JSONDecodeError:
                        raise PiError(f"'{os.fspath(path)}' line {n}: not JSON")
                    if isinstance(j, dict) and j.get("record") == "total":
                        try:
                            rows.append(TotalRecord.from_json(j))
                        except (KeyError, TypeError, ValueError, AttributeError) as e:
                            raise PiError(f"'{os.fspath(path)}' line {n}: a malformed 'total' "
                                          f"record ({type(e).__name__}: {e})")
        except OSError as e:
            raise PiError(f"'{os.fspath(path)}': cannot read ({e.strerror})")
    return rows


def markdown(rows: Sequence[TotalRecord]) -> str:
    """The cost table and, after a blank line, the latency table."""
    return cost_markdown(rows) + "\n\n" + latency_markdown(rows)


def latency_markdown(rows: Sequence[TotalRecord]) -> str:
    nets = " | ".join(f"{n.label} s" for n in LATENCY_NETWORKS)
    out = [f"| model | width | variant | protocol | weights | ReLUs | MACs | total MB | msgs | "
           f"rounds (ReLU / all) | {nets} |",
           "|---|---:|---|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(LATENCY_NETWORKS)]
    for r in rows:
        tot, relu = r.all.steady, r.relu.steady
        macs = f"{r.macs:,}" if r.macs is not None else "—"
        lat = " | ".join(f"{n.seconds(tot):.3f}" for n in LATENCY_NETWORKS)
        out.append(f"| {r.model} | {r.width:g} | {r.variant} | {r.protocol.upper()} | {r.weights} | "
                   f"{r.relus:,} | {macs} | {tot.bytes / 1e6:.3f} | {tot.msgs:.0f} | "
                   f"{relu.rounds:.0f} / {tot.rounds:.0f} | {lat} |")
    return "\n".join(out)


def cost_markdown(rows: Sequence[TotalRecord]) -> str:
    out = ["| model | variant | protocol | weights | ReLUs | ReLU traffic MB | ReLU msgs | "
           "ReLU rounds | linear traffic MB | total MB | first-run extra MB | ReLU time s | "
           "total time s | estimate MB (cryptflow2 / delphi) | estimate ÷ measured ReLU traffic | "
           "2PC≠plain |",
           "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        relu, lin, tot = r.relu.steady, r.linear.steady, r.all.steady
        extra_mb = (r.all.first.bytes - tot.bytes) / 1e6
        cf, de = r.estimate.get("cryptflow2"), r.estimate.get("delphi")
        e = f"{cf.online_bytes / 1e6:.3f} / {de.online_bytes / 1e6:.3f}" if cf and de else "—"
        ratio = (f"{cf.online_bytes / relu.bytes:.1f}× / {de.online_bytes / relu.bytes:.1f}×"
                 if cf and de and relu.bytes > 0 else "—")
        out.append(f"| {r.model} | {r.variant} | {r.protocol.upper()} | {r.weights} | "
                   f"{r.relus:,} | {relu.bytes / 1e6:.3f} | {relu.msgs:.0f} | {relu.rounds:.0f} | "
                   f"{lin.bytes / 1e6:.3f} | {tot.bytes / 1e6:.3f} | {extra_mb:.3f} | {relu.seconds:.2f} | "
                   f"{tot.seconds:.2f} | {e} | {ratio} | {r.mismatches}/{r.images} |")
    return "\n".join(out)


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print((__doc__ or "").strip())
        return 0 if argv else 2
    try:
        print(markdown(load_totals(argv)))
    except PiError as e:
        print(f"pi_summary: error: {e}", file=sys.stderr)
        return 1
    return 0


def entry() -> NoReturn:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
