"""Markdown summary of pi-measure JSON lines (docs/results_pi.md's tables).

One row per (model, variant, protocol) 'total' record: ReLUs; the ReLU sites' and the linear
layers' traffic (sent + received, MB) and messages in the later runs (steady state); the first
run's extra traffic (one-time setup); wall times; and `senet cost`'s online estimate next to the
measured ReLU traffic (ratio = estimate / measured).
"""
import json

from . import PiError


def load_totals(paths):
    rows = []
    for path in paths:
        try:
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    j = json.loads(line)
                    if j.get("record") == "total":
                        rows.append(j)
        except OSError as e:
            raise PiError(f"'{path}': cannot read ({e.strerror})")
        except json.JSONDecodeError:
            raise PiError(f"'{path}' line {n}: not JSON")
    return rows


def _mb(d):
    return (d["send_bytes"] + d["recv_bytes"]) / 1e6


def markdown(rows):
    out = ["| model | variant | protocol | weights | ReLUs | ReLU traffic MB | ReLU msgs | "
           "linear traffic MB | total MB | first-run extra MB | ReLU time s | total time s | "
           "estimate MB (cryptflow2 / delphi) | estimate ÷ measured ReLU traffic | 2PC≠plain |",
           "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for j in rows:
        steady = "later" if j["all"]["later"] is not None else "first"
        relu, lin, tot = j["relu"][steady], j["linear"][steady], j["all"][steady]
        extra = _mb(j["all"]["first"]) - _mb(tot)
        est = j.get("estimate") or {}
        cf, de = est.get("cryptflow2"), est.get("delphi")
        e = (f"{cf['online_bytes'] / 1e6:.3f} / {de['online_bytes'] / 1e6:.3f}" if cf and de else "—")
        ratio = (f"{cf['online_bytes'] / (_mb(relu) * 1e6):.1f}× / {de['online_bytes'] / (_mb(relu) * 1e6):.1f}×"
                 if cf and de and _mb(relu) > 0 else "—")
        out.append(f"| {j['model']} | {j['variant']} | {j['protocol'].upper()} | {j.get('weights', '?')} | "
                   f"{j['relus']:,} | {_mb(relu):.3f} | {relu['send_msgs'] + relu['recv_msgs']:.0f} | "
                   f"{_mb(lin):.3f} | {_mb(tot):.3f} | {extra:.3f} | {relu['seconds']:.2f} | "
                   f"{tot['seconds']:.2f} | {e} | {ratio} | {j['mismatches']}/{j['images']} |")
    return "\n".join(out)
