"""Reads the finished runs of a study root and aggregates them.

Per (arm, budget): test and validation accuracy as mean ± sample standard deviation over the
seeds that finished. The decision rule compares an arm with a reference arm (SENet at the paper's
settings) seed by seed — both use the same teacher and data split, so the differences are paired:

    d_s = acc(arm, seed s) − acc(reference, seed s),   mean d̄, standard error SE = std(d)/√n
    the difference counts  iff  n ≥ 2,  |d̄| > 2·SE  and every d_s has the sign of d̄

Anything else is "no call". Choices (which arm a user should take) are made on validation
accuracy; the test column is reported, never used to choose.
"""
from __future__ import annotations

import json
import math
import statistics
import struct
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    seed: int
    arm: str
    budget: int
    relus: int
    capacity: int
    val: float
    test: float
    teacher_test: float
    stage_seconds: dict[str, float]
    # Stage 3's first epoch (or SNL's): the mean of each loss term, ‖∇ term‖ and cosines on its
    # first batch (metrics.jsonl, senet/epoch_loop.h).
    terms: dict[str, float] = field(default_factory=dict)
    grad_norms: dict[str, float] = field(default_factory=dict)
    grad_cosines: dict[str, float] = field(default_factory=dict)
    # The model and data set, from the config stored in student.safetensors ("" without it).
    model: str = ""


_DATASETS = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
             "synthetic": "synthetic data"}


def model_of(checkpoint: Path) -> str:
    """'Fashion-MNIST, ResNet-18 (width 0.125)' from the run config that a senet checkpoint stores
    in its safetensors header (u64 length, JSON with __metadata__.config); "" when the file is absent."""
    if not checkpoint.exists():
        return ""
    try:
        with checkpoint.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            cfg = json.loads(json.loads(f.read(n))["__metadata__"]["config"])
        m, d = cfg["model"], cfg.get("data", {})
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{checkpoint}: no readable senet config in its header ({e!r})") from e
    arch = m.get("arch", "resnet18")
    name = {"resnet18": "ResNet-18", "resnet34": "ResNet-34"}.get(arch, arch)
    if arch == "wrn":
        name = f"WRN-{m.get('wrn_depth', 22)}-{m.get('wrn_k', 8)}"
    width = float(m.get("width", 1.0))
    if width != 1.0:
        name += f" (width {width:g})"
    dataset = d.get("dataset", "")
    return f"{_DATASETS.get(dataset, dataset)}, {name}" if dataset else name


def _first_metrics_line(path: Path) -> dict:
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        if line.strip():
            return json.loads(line)
    return {}


def load_run(run_dir: Path, seed: int) -> Run | None:
    rep = run_dir / "report.json"
    if not rep.exists():
        return None
    r = json.loads(rep.read_text())
    arm = run_dir.name.rsplit("_", 1)[0]
    # SNL: its α epoch (CE, KD and the λ·Σ|α| term); everyone else: stage 3's first epoch.
    snl = run_dir / "snl" / "metrics.jsonl"
    m = _first_metrics_line(snl if snl.exists() else run_dir / "stage3" / "metrics.jsonl")
    stages = r.get("stages", {})
    return Run(seed=seed, arm=arm, budget=int(r["budget"]), relus=int(r["relu_count"]),
               capacity=int(r["relu_capacity"]), val=float(r["student"]["val_accuracy"]),
               test=float(r["student"]["test_accuracy"]),
               teacher_test=float(r["teacher"]["test_accuracy"]),
               stage_seconds={k: float(v.get("seconds") or 0) for k, v in stages.items()
                              if isinstance(v, dict) and "seconds" in v},
               terms=m.get("terms", {}), grad_norms=m.get("grad_norms", {}),
               grad_cosines=m.get("grad_cosines", {}),
               model=model_of(run_dir / "student.safetensors"))


def load_runs(root: Path) -> list[Run]:
    runs: list[Run] = []
    for seed_dir in sorted(root.glob("seed*")):
        if not seed_dir.is_dir() or not seed_dir.name[4:].isdigit():
            continue
        seed = int(seed_dir.name[4:])
        for d in sorted(seed_dir.iterdir()):
            if d.is_dir() and d.name != "teacher":
                run = load_run(d, seed)
                if run is not None:
                    runs.append(run)
    return runs


@dataclass
class Cell:
    arm: str
    budget: int
    runs: list[Run]

    @property
    def n(self) -> int:
        return len(self.runs)

    def mean(self, key: str) -> float:
        return statistics.fmean(getattr(r, key) for r in self.runs)

    def std(self, key: str) -> float:
        return statistics.stdev(getattr(r, key) for r in self.runs) if self.n > 1 else float("nan")

    def by_seed(self, key: str) -> dict[int, float]:
        return {r.seed: getattr(r, key) for r in self.runs}


def cells(runs: list[Run]) -> dict[tuple[str, int], Cell]:
    out: dict[tuple[str, int], Cell] = {}
    for r in runs:
        out.setdefault((r.arm, r.budget), Cell(r.arm, r.budget, [])).runs.append(r)
    return out


@dataclass
class Comparison:
    arm: str
    reference: str
    budget: int
    seeds: list[int]
    diffs: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.diffs) if self.diffs else float("nan")

    @property
    def se(self) -> float:
        n = len(self.diffs)
        return statistics.stdev(self.diffs) / math.sqrt(n) if n > 1 else float("nan")

    @property
    def verdict(self) -> str:
        """'better', 'worse' or 'no call' under the decision rule of this module's docstring."""
        n = len(self.diffs)
        if n < 2 or not math.isfinite(self.se):
            return "no call"
        same_sign = all(d > 0 for d in self.diffs) or all(d < 0 for d in self.diffs)
        if same_sign and abs(self.mean) > 2 * self.se:
            return "better" if self.mean > 0 else "worse"
        return "no call"


def compare(table: dict[tuple[str, int], Cell], arm: str, reference: str, budget: int,
            key: str = "test") -> Comparison | None:
    a, ref = table.get((arm, budget)), table.get((reference, budget))
    if a is None or ref is None:
        return None
    va, vr = a.by_seed(key), ref.by_seed(key)
    seeds = sorted(set(va) & set(vr))
    return Comparison(arm, reference, budget, seeds, [va[s] - vr[s] for s in seeds])


def best_on_validation(table: dict[tuple[str, int], Cell], budget: int, min_seeds: int = 2) -> str | None:
    """The arm with the highest mean validation accuracy at `budget` among arms with ≥ min_seeds."""
    cands = [c for (arm, b), c in table.items() if b == budget and c.n >= min_seeds]
    return max(cands, key=lambda c: c.mean("val")).arm if cands else None
