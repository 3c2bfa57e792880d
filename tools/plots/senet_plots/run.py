"""A finished `senet pipeline` run directory, read into plain dataclasses (no matplotlib here).

    RUN_DIR/report.json            per-site rows (size, η, allocated, kept), budget, totals,
                                   test accuracies, and per stage its seconds
    RUN_DIR/student.safetensors    its JSON header's metadata holds the run's config (the model)
    RUN_DIR/<stage>/metrics.jsonl  one JSON object per epoch (senet/run_dir.h), for the stages
                                   teacher/, sensitivity/, stage2/ (mask search), snl/, stage3/
A stage without a metrics.jsonl did not run here (SNL runs have no stage 1–2, SENet runs no snl/;
a study run's teacher lives elsewhere: then the one next to report.json's teacher checkpoint is
read; Run.notes says which stages report.json knows of but have no metrics here). Keys absent
from older runs read as None. A missing report.json, a file that is not the JSON it should be, or
a field of the wrong type raises RunError naming the file (and line).
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class RunError(Exception):
    """A missing or malformed file of the run directory; the message names the file."""


@dataclass(frozen=True)
class Site:
    """One counted ReLU site of report.json, in network order."""

    name: str
    shape: tuple[int, ...] | None  # (C, H, W)
    size: int  # C·H·W positions
    kept: int  # ReLUs the student keeps here
    allocated: int | None  # the allocation's count (None for SNL: its α decide)
    eta: float | None  # sensitivity η (None for SNL and the uniform ablation)


@dataclass(frozen=True)
class Summary:
    """What the figure titles say about the run."""

    model: str  # e.g. "ResNet-18 (width 0.125)", from the config in student.safetensors
    dataset: str
    method: str
    granularity: str
    budget: int
    relu_count: int  # ReLUs the student kept, over the counted sites
    relu_capacity: int  # all ReLUs of the counted sites
    teacher_test: float | None = None  # test accuracies (fractions), when report.json has them
    student_test: float | None = None


@dataclass(frozen=True)
class Epoch:
    """One line of a metrics.jsonl; None where the line has no such key."""

    epoch: int
    phase: str | None = None  # stage 2: "search" or "settle"; stage 3: "train"
    train_loss: float | None = None
    val_loss: float | None = None  # cross-entropy on the validation split
    train_accuracy: float | None = None  # fractions, as logged
    val_accuracy: float | None = None
    terms: dict[str, float] = field(default_factory=dict)  # weighted loss terms, Σ = train_loss
    relus: int | None = None
    budget: int | None = None  # SNL logs its budget on every line
    width_val_accuracy: dict[float, float] = field(default_factory=dict)  # width-switchable stage 3


@dataclass(frozen=True)
class Stage:
    key: str  # the directory name: teacher, sensitivity, stage2, snl, stage3
    title: str
    metrics: Path
    epochs: list[Epoch]
    seconds: float | None  # report.json's stages.<name>.seconds
    external: bool = False  # read from outside the run directory (a study's shared teacher)


@dataclass(frozen=True)
class Run:
    dir: Path
    summary: Summary
    sites: list[Site]
    stages: list[Stage]  # the ones with metrics, in pipeline order
    notes: list[str]  # stages report.json knows of (or the teacher) without metrics here, and why


# (directory, report.json's stages key, title), in pipeline order.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("teacher", "teacher", "teacher: all-ReLU training"),
    ("sensitivity", "sensitivity", "stage 1: sensitivity (sparse-momentum training)"),
    ("stage2", "mask_search", "stage 2: mask search"),
    ("snl", "snl", "SNL: α per ReLU, λ·Σ|α|"),
    ("stage3", "finetune", "stage 3: fine-tuning, masks frozen"),
)

_ARCH_NAMES = {"resnet18": "ResNet-18", "resnet34": "ResNet-34"}


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise RunError(f"{path}: not JSON ({e})") from None


def _number(obj: dict[str, Any], key: str, where: str) -> float | None:
    """obj[key] as a float; None when absent or null (NaN is logged as null)."""
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RunError(f"{where}: '{key}' is {json.dumps(v)}, not a number")
    return float(v)


def _integer(obj: dict[str, Any], key: str, where: str) -> int | None:
    v = _number(obj, key, where)
    if v is None:
        return None
    if not v.is_integer():
        raise RunError(f"{where}: '{key}' is {v}, not an integer")
    return int(v)


def _object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    v = obj.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise RunError(f"{where}: '{key}' is not an object")
    return v


def read_metrics(path: Path) -> list[Epoch]:
    """The per-epoch lines of a metrics.jsonl. The teacher's closing {"final": true, ...} line (the
    test evaluation) is not an epoch and is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    epochs: list[Epoch] = []
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{path} line {n}"
        try:
            j = json.loads(text)
        except ValueError as e:
            raise RunError(f"{where}: not JSON ({e})") from None
        if not isinstance(j, dict):
            raise RunError(f"{where}: not a JSON object")
        if j.get("final") is True:
            continue
        epoch = _integer(j, "epoch", where)
        if epoch is None:
            raise RunError(f"{where}: no 'epoch'")
        phase = j.get("phase")
        if phase is not None and not isinstance(phase, str):
            raise RunError(f"{where}: 'phase' is not a string")
        terms_obj = _object(j, "terms", where)
        terms = {k: _number(terms_obj, k, f"{where}, terms") for k in terms_obj}
        widths: dict[float, float] = {}
        w = j.get("widths")
        if w is not None:
            if not isinstance(w, list) or not all(isinstance(x, dict) for x in w):
                raise RunError(f"{where}: 'widths' is not a list of objects")
            for x in w:
                width = _number(x, "width", f"{where}, widths")
                acc = _number(x, "val_accuracy", f"{where}, widths")
                if width is not None and acc is not None:
                    widths[width] = acc
        epochs.append(Epoch(
            epoch=epoch, phase=phase,
            train_loss=_number(j, "train_loss", where), val_loss=_number(j, "val_loss", where),
            train_accuracy=_number(j, "train_accuracy", where),
            val_accuracy=_number(j, "val_accuracy", where),
            terms={k: v for k, v in terms.items() if v is not None},
            relus=_integer(j, "relus", where), budget=_integer(j, "budget", where),
            width_val_accuracy=widths))
    return epochs


def read_safetensors_config(path: Path) -> dict[str, Any] | None:
    """The run's config from a senet checkpoint's JSON header (metadata "config", itself JSON);
    None when the file is absent or has no config. Reads the header only."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise RunError(f"{path}: shorter than a safetensors header")
            (n,) = struct.unpack("<Q", head)
            if n > 100_000_000:
                raise RunError(f"{path}: header length {n} is not plausible")
            raw = f.read(n)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    try:
        header = json.loads(raw)
        meta = header.get("__metadata__", {}) if isinstance(header, dict) else None
        cfg = meta.get("config") if isinstance(meta, dict) else None
        config = json.loads(cfg) if isinstance(cfg, str) else None
    except ValueError as e:
        raise RunError(f"{path}: header is not JSON ({e})") from None
    return config if isinstance(config, dict) else None


def describe_model(config: dict[str, Any] | None) -> tuple[str, str]:
    """("ResNet-18 (width 0.125)", "fashion-mnist") from a config; "?" for what it lacks."""
    if config is None:
        return "model ?", "?"
    m = config.get("model") if isinstance(config.get("model"), dict) else {}
    d = config.get("data") if isinstance(config.get("data"), dict) else {}
    arch = str(m.get("arch", "?"))
    if arch == "wrn":
        name = f"WRN-{m.get('wrn_depth', '?')}-{m.get('wrn_k', '?')}"
    else:
        name = _ARCH_NAMES.get(arch, arch)
    extras = []
    width = m.get("width")
    if isinstance(width, (int, float)) and width != 1:
        extras.append(f"width {width:g}")
    factors = m.get("width_factors")
    if isinstance(factors, list) and factors:
        extras.append("widths " + "/".join(f"{x:g}" for x in factors if isinstance(x, (int, float))))
    return (f"{name} ({', '.join(extras)})" if extras else name), str(d.get("dataset", "?"))


def _sites(report: dict[str, Any], path: Path) -> list[Site]:
    rows = report.get("sites")
    if not isinstance(rows, list) or not rows:
        raise RunError(f"{path}: no 'sites' list")
    sites = []
    for i, r in enumerate(rows):
        where = f"{path}, sites[{i}]"
        if not isinstance(r, dict):
            raise RunError(f"{where}: not an object")
        name, size, kept = r.get("site"), _integer(r, "size", where), _integer(r, "kept", where)
        if not isinstance(name, str) or size is None or kept is None:
            raise RunError(f"{where}: needs 'site', 'size' and 'kept'")
        shape = r.get("shape")
        if shape is not None and not (isinstance(shape, list)
                                      and all(isinstance(x, int) for x in shape)):
            raise RunError(f"{where}: 'shape' is not a list of integers")
        eta = _number(r, "eta", where)
        sites.append(Site(name=name, shape=tuple(shape) if shape is not None else None, size=size,
                          kept=kept, allocated=_integer(r, "allocated", where),
                          eta=eta if eta is None or math.isfinite(eta) else None))
    return sites


def load_run(run_dir: Path) -> Run:
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a directory")
    report_path = run_dir / "report.json"
    report = read_json(report_path)
    if not isinstance(report, dict):
        raise RunError(f"{report_path}: not a JSON object")
    where = str(report_path)
    budget, count, capacity = (_integer(report, k, where)
                               for k in ("budget", "relu_count", "relu_capacity"))
    if budget is None or count is None or capacity is None:
        raise RunError(f"{report_path}: needs 'budget', 'relu_count' and 'relu_capacity'")
    teacher = _object(report, "teacher", where)
    model, dataset = describe_model(read_safetensors_config(run_dir / "student.safetensors"))
    summary = Summary(model=model, dataset=dataset, method=str(report.get("method", "?")),
                      granularity=str(report.get("granularity", "?")), budget=budget,
                      relu_count=count, relu_capacity=capacity,
                      teacher_test=_number(teacher, "test_accuracy", f"{where}, teacher"),
                      student_test=_number(_object(report, "student", where), "test_accuracy",
                                           f"{where}, student"))

    report_stages = _object(report, "stages", where)
    stages: list[Stage] = []
    notes: list[str] = []
    for key, name, title in STAGES:
        path, external = run_dir / key / "metrics.jsonl", False
        info = report_stages.get(name)
        ckpt = teacher.get("checkpoint")
        if key == "teacher" and not path.exists() and isinstance(ckpt, str) and ckpt:
            path, external = Path(ckpt).parent / "metrics.jsonl", True  # given by --teacher
        epochs = read_metrics(path) if path.exists() else []
        if epochs:
            seconds = (_number(info, "seconds", f"{where}, stages.{name}")
                       if isinstance(info, dict) else None)
            stages.append(Stage(key=key, title=title, metrics=path, epochs=epochs, seconds=seconds,
                                external=external))
        elif path.exists():
            notes.append(f"{title}: {path} has no epoch yet")
        elif external:
            notes.append(f"{title}: trained elsewhere, no metrics.jsonl next to {ckpt}")
        elif isinstance(info, dict) and "skipped" in info:
            notes.append(f"{title}: skipped ({info['skipped']})")
        elif isinstance(info, dict) or key == "teacher":
            notes.append(f"{title}: no {key}/metrics.jsonl in this run directory")
    return Run(dir=run_dir, summary=summary, sites=_sites(report, report_path), stages=stages,
               notes=notes)
