"""tests/pi/test_records.py — what a measurement records, without SPU: SPU's profile log lines
become one run per executable; per-image step costs summarise into the first image apart from
the mean of the later ones, per step and per part (linear, ReLU, all), in pi-measure's JSON shape."""
from __future__ import annotations

import json

import pytest

from senet_pi.records import LATENCY_NETWORKS, FirstLater, StepCost, Traffic, summarize
from senet_pi.spu_run import LoggedRun, parse_runs


def test_spu_log_lines_become_runs() -> None:
    log = ("[2026-12-04 10:00:00.1] [info] [api.cc:160] [Profiling] SPU execution step000 completed, "
           "input processing took 1e-06s, execution took 0.01s\n"
           "[2026-12-04 10:00:00.1] [info] [api.cc:209] Link details: total send bytes 1024, recv bytes "
           "2048, send actions 3, recv actions 4\n"
           "[2026-12-04 10:00:00.2] [info] [api.cc:160] [Profiling] SPU execution step001 completed, ...\n"
           "[2026-12-04 10:00:00.2] [info] unrelated line\n"
           "[2026-12-04 10:00:00.2] [info] [api.cc:209] Link details: total send bytes 0, recv bytes 0, "
           "send actions 0, recv actions 0\n")
    assert parse_runs(log) == [LoggedRun("step000", 1024, 2048, 3, 4), LoggedRun("step001", 0, 0, 0, 0)]
    # Link details without a preceding execution line: the run has no name (measure refuses it).
    assert parse_runs(log.split("\n", 1)[1])[0].name is None


def cost(step: str, kind: str, sb: int, s: float) -> StepCost:
    return StepCost(step, kind, "linear" if kind == "linear" else "compact", 0 if kind == "linear" else 5,
                    Traffic.of_step(sb, 2 * sb, 1, 2, s))


def test_summary_keeps_the_first_image_apart() -> None:
    # Three images of two steps; the first image carries setup traffic (1000 bytes more).
    records = [[cost("conv1", "linear", 100, 0.5), cost("relu0", "relu", 1000 + 10 * (i > 0), 1.0)]
               for i in range(3)]
    records[0][1] = cost("relu0", "relu", 2000, 3.0)
    records[2][0] = cost("conv1", "linear", 300, 1.5)
    s = summarize(records)
    assert [st.step for st in s.steps] == ["conv1", "relu0"]
    # A step's rounds: max(messages sent, received) = 2; a part's: the sum over its steps.
    assert s.steps[0].cost == FirstLater(Traffic(100, 200, 1, 2, 0.5, 2), Traffic(200, 400, 1, 2, 1.0, 2))
    assert s.steps[1].cost.first == Traffic(2000, 4000, 1, 2, 3.0, 2)
    assert s.parts["relu"].later == Traffic(1010, 2020, 1, 2, 1.0, 2)
    assert s.parts["linear"].first == Traffic(100, 200, 1, 2, 0.5, 2)
    assert s.parts["all"].first == Traffic(2100, 4200, 2, 4, 3.5, 4)
    assert s.parts["all"].later == Traffic(1210, 2420, 2, 4, 2.0, 4)
    assert s.parts["all"].steady.bytes == pytest.approx(3630)
    # The JSON records: the shape summary.py (and docs/results_pi.md's tables) read.
    step = json.loads(json.dumps(s.steps[1].to_json()))
    assert step == {"step": "relu0", "kind": "relu", "how": "compact", "relus": 5, "macs": 0,
                    "first": {"send_bytes": 2000, "recv_bytes": 4000, "send_msgs": 1, "recv_msgs": 2,
                              "seconds": 3.0, "rounds": 2.0},
                    "later": {"send_bytes": 1010.0, "recv_bytes": 2020.0, "send_msgs": 1.0,
                              "recv_msgs": 2.0, "seconds": 1.0, "rounds": 2.0}}
    parts = s.parts_json()
    assert list(parts) == ["linear", "relu", "all"]
    assert FirstLater.from_json(parts["all"]) == s.parts["all"]


def test_one_image_has_no_later_runs() -> None:
    s = summarize([[cost("conv1", "linear", 100, 0.5)]])
    assert s.steps[0].cost.later is None and s.parts["all"].later is None
    assert s.parts["relu"].first == Traffic(0, 0, 0, 0, 0, 0)
    assert s.parts["all"].steady == s.parts["all"].first
    assert s.steps[0].to_json()["later"] is None
    with pytest.raises(ValueError):
        summarize([])


def test_rounds_and_the_latency_estimate() -> None:
    # A step's rounds are max(sent, received) messages; the whole's are the sum over the steps,
    # not the max of the summed messages (a one-way step adds its messages).
    a = Traffic.of_step(1000, 1000, 8, 8, 0.1)     # a symmetric exchange: 8 rounds
    b = Traffic.of_step(5000, 0, 3, 0, 0.1)        # one-way: 3 rounds
    c = Traffic.of_step(0, 0, 0, 0, 0.1)           # no communication (a site keeping nothing)
    assert (a.rounds, b.rounds, c.rounds) == (8, 3, 0)
    t = Traffic.total([a, b, c])
    assert t.rounds == 11 and max(t.send_msgs, t.recv_msgs) == 11
    # bytes·8/bandwidth + rounds × RTT: 7000 B and 11 rounds
    lan, wan = LATENCY_NETWORKS
    assert (lan.name, wan.name) == ("LAN", "WAN")
    assert lan.seconds(t) == pytest.approx(7000 * 8 / 10e9 + 11 * 0.1e-3)
    assert wan.seconds(t) == pytest.approx(7000 * 8 / 100e6 + 11 * 40e-3)
    assert lan.seconds(c) == 0
    assert lan.label == "LAN 10 Gbit/s, RTT 0.1 ms" and wan.label == "WAN 100 Mbit/s, RTT 40 ms"
    # JSON without rounds (files from before the field): a step's max(sent, received)
    j = {"send_bytes": 1, "recv_bytes": 2, "send_msgs": 3, "recv_msgs": 5, "seconds": 0.5}
    assert Traffic.from_json(j).rounds == 5
    assert Traffic.from_json({**j, "rounds": 4}).rounds == 4
