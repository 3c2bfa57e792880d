"""What a measurement records, and its summary: the shapes of pi-measure's JSON lines.

A StepCost is one step (linear layer or ReLU site) on one image: bytes and messages that rank 0
sent and received, and its wall time. Over the images of one (model, variant, protocol), the
first image carries any one-time setup (Cheetah's OT/HE keys), so it is kept apart from the mean
of the later ones (None with one image). JSON lines (`--json`), one object per line:
  step   {"record": "step", model, variant, protocol, checkpoint, field, weights,
          "step", "kind", "how", "relus", "first": TRAFFIC, "later": TRAFFIC | null}
  total  {"record": "total", ..., "relus", "images", "first_image", "mismatches",
          "max_abs_logit_diff", "measure_wall_seconds", "linear" | "relu" | "all": {"first",
          "later"}, "estimate": {"delphi" | "cryptflow2": {"relus", "online_bytes",
          "online_seconds"}} | null}
  TRAFFIC = {"send_bytes", "recv_bytes", "send_msgs", "recv_msgs", "seconds", "rounds"}

Rounds. A step's rounds are max(messages sent, messages received) by rank 0 in the step: the
number of messages per direction, i.e. of communication steps where each step sends one message
each way. In a 2-party SEMI2K step every exchange is symmetric (each party sends its message, then
receives the other's), so sent = received = rounds. A whole inference's rounds are the sum over
its steps (the steps run one after the other). A step without communication has 0 rounds.
Latency estimate (LATENCY_NETWORKS): T = (bytes sent + received)·8 / bandwidth + rounds × RTT —
every byte serialised once on the link (both directions added: a half-duplex charge) and every
round charged a full round trip (exact when each round is one message that the other party
waits for and answers; twice the latency term of a simultaneous exchange, where a round costs
one one-way delay, RTT/2). Local compute is not included.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

PARTS = {"linear": ("linear",), "relu": ("relu",), "all": ("linear", "relu")}


@dataclass(frozen=True)
class LinkModel:
    """A stated network for the latency estimate: bandwidth (bit/s) and round-trip time (s)."""
    name: str
    bits_per_second: float
    rtt_seconds: float

    def seconds(self, t: Traffic) -> float:
        """(bytes sent + received)·8 / bandwidth + rounds × RTT."""
        return t.bytes * 8 / self.bits_per_second + t.rounds * self.rtt_seconds

    @property
    def label(self) -> str:
        bw = (f"{self.bits_per_second / 1e9:g} Gbit/s" if self.bits_per_second >= 1e9
              else f"{self.bits_per_second / 1e6:g} Mbit/s")
        return f"{self.name} {bw}, RTT {self.rtt_seconds * 1e3:g} ms"


LATENCY_NETWORKS = (LinkModel("LAN", 10e9, 0.1e-3), LinkModel("WAN", 100e6, 40e-3))


@dataclass(frozen=True)
class Traffic:
    send_bytes: float
    recv_bytes: float
    send_msgs: float
    recv_msgs: float
    seconds: float
    rounds: float = 0.0    # max(send_msgs, recv_msgs) of a step; sums over steps (module doc)

    @property
    def bytes(self) -> float:
        return self.send_bytes + self.recv_bytes

    @property
    def msgs(self) -> float:
        return self.send_msgs + self.recv_msgs

    @staticmethod
    def total(ts: Iterable[Traffic]) -> Traffic:
        ts = list(ts)
        return Traffic(*(sum(getattr(t, k) for t in ts) for k in _KEYS))

    @staticmethod
    def mean(ts: Sequence[Traffic]) -> Traffic | None:
        if not ts:
            return None
        return Traffic(*(sum(getattr(t, k) for t in ts) / len(ts) for k in _KEYS))

    @staticmethod
    def of_step(send_bytes: float, recv_bytes: float, send_msgs: float, recv_msgs: float,
                seconds: float) -> Traffic:
        """One step's traffic: its rounds are max(messages sent, messages received)."""
        return Traffic(send_bytes, recv_bytes, send_msgs, recv_msgs, seconds,
                       float(max(send_msgs, recv_msgs)))

    @staticmethod
    def from_json(j: Mapping[str, Any]) -> Traffic:
        """Files written before rounds were recorded: a step's max(sent, received) messages."""
        vals = {k: float(j[k]) for k in _KEYS if k != "rounds"}
        rounds = float(j["rounds"]) if "rounds" in j else max(vals["send_msgs"], vals["recv_msgs"])
        return Traffic(**vals, rounds=rounds)


_KEYS = tuple(f.name for f in fields(Traffic))


@dataclass(frozen=True)
class StepCost:
    """One step on one image."""
    step: str
    kind: str          # linear | relu
    how: str           # linear | affine | dense | none | compact | channel | where
    relus: int
    traffic: Traffic
    macs: int = 0      # a linear step's multiply-adds


@dataclass(frozen=True)
class FirstLater:
    first: Traffic
    later: Traffic | None      # mean over the images after the first; None with one image

    @property
    def steady(self) -> Traffic:
        """The steady state: the later images' mean, else the first image."""
        return self.later if self.later is not None else self.first

    def to_json(self) -> dict[str, Any]:
        return {"first": asdict(self.first), "later": asdict(self.later) if self.later else None}

    @staticmethod
    def from_json(j: Mapping[str, Any]) -> FirstLater:
        return FirstLater(Traffic.from_json(j["first"]),
                          Traffic.from_json(j["later"]) if j.get("later") is not None else None)


@dataclass(frozen=True)
class StepSummary:
    step: str
    kind: str
    how: str
    relus: int
    cost: FirstLater
    macs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "kind": self.kind, "how": self.how, "relus": self.relus,
                "macs": self.macs, **self.cost.to_json()}


@dataclass(frozen=True)
class Summary:
    steps: list[StepSummary]
    parts: dict[str, FirstLater]     # linear, relu, all

    def parts_json(self) -> dict[str, Any]:
        return {part: fl.to_json() for part, fl in self.parts.items()}


def _part(costs: Sequence[StepCost], kinds: Collection[str]) -> Traffic:
    return Traffic.total(c.traffic for c in costs if c.kind in kinds)


def summarize(records: Sequence[Sequence[StepCost]]) -> Summary:
    """records[i][j]: step j on image i (every image runs the same steps) → per step and per part
    (linear layers, ReLU sites, all) the first image and the mean of the later ones."""
    if not records:
        raise ValueError("summarize: no images")
    first, later = records[0], records[1:]
    steps = [StepSummary(c.step, c.kind, c.how, c.relus,
                         FirstLater(c.traffic, Traffic.mean([r[j].traffic for r in later])), c.macs)
             for j, c in enumerate(first)]
    parts = {part: FirstLater(_part(first, kinds), Traffic.mean([_part(r, kinds) for r in later]))
             for part, kinds in PARTS.items()}
    return Summary(steps, parts)


@dataclass(frozen=True)
class CostEstimate:
    """`senet cost --json`'s model totals for one protocol."""
    relus: int
    online_bytes: float
    online_seconds: float

    @staticmethod
    def from_json(j: Mapping[str, Any]) -> CostEstimate:
        return CostEstimate(int(j["relus"]), float(j["online_bytes"]), float(j["online_seconds"]))
