"""senet_plots on run directories written here in the format `senet pipeline` writes (report.json,
student.safetensors' JSON header, each stage's metrics.jsonl): what it reads, what the figures
draw, and the command's exit codes (0 written, 1 missing or malformed file, 3 no matplotlib)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import senet_plots
from senet_plots.run import RunError, load_run

PLOTS_DIR = Path(senet_plots.__file__).resolve().parent.parent  # tools/plots: PYTHONPATH

# Four counted sites (C×H×W), their η, and the ReLUs kept: budget 16 of 96.
SITES = [("relu0", [2, 4, 4], 0.0, 0), ("layer1.0.relu1", [2, 4, 4], 0.2, 3),
         ("layer2.0.relu1", [4, 2, 2], 0.6, 5), ("layer2.0.relu2", [4, 2, 2], 0.9, 8)]
BUDGET, CAPACITY = 16, 96


def _line(stage: str, epoch: int, loss: float, val: float | None, terms: dict[str, float],
          **extra) -> dict:
    """A metrics.jsonl line with the key set of senet/run_dir.h."""
    j = {"best_val_accuracy": val if val is not None else -1.0, "epoch": epoch, "grad_cosines": {},
         "grad_norms": {k: 1.0 for k in terms}, "images_per_second": 1000.0, "lr": 0.01,
         "seconds": 1.5, "stage": stage, "terms": terms, "train_accuracy": 0.5 + 0.1 * epoch,
         "train_loss": loss}
    if val is not None:
        j.update(val_accuracy=val, val_loss=loss * 0.8)
    j.update(extra)
    return j


def _write_jsonl(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(j) + "\n" for j in lines))


def _write_checkpoint_header(path: Path, config: dict) -> None:
    """A safetensors file without tensors: 8-byte length, then the JSON header."""
    header = json.dumps({"__metadata__": {"config": json.dumps(config), "stage": "final"}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header)


STAGE_LINES = {
    "teacher": [_line("train", 1, 1.2, 0.60, {"ce": 1.2}), _line("train", 2, 0.7, 0.80, {"ce": 0.7})],
    "sensitivity": [_line("sensitivity", 1, 0.9, None, {"ce": 0.9}, global_density=0.1)],
    "stage2": [_line("mask_search", 1, 0.8, 0.40, {"ce": 0.3, "kd": 0.5}, phase="search", relus=16),
               _line("mask_search", 2, 0.6, 0.70, {"ce": 0.2, "kd": 0.4}, phase="settle", relus=16)],
    "stage3": [_line("finetune", e, 3.0 / e, 0.7 + 0.05 * e,
                     {"ce": 0.1 / e, "kd": 0.9 / e, "pram": 2.0 / e}, phase="train", relus=16)
               for e in (1, 2, 3)],
    "snl": [_line("snl", e, 20.0 / e, 0.5 + 0.1 * e, {"ce": 0.2, "kd": 0.3, "l1": 20.0 / e - 0.5},
                  relus=relus, budget=BUDGET, **{"lambda": 0.001, "lambda_grew": False})
            for e, relus in ((1, 96), (2, 40), (3, 14))],
}


def write_run(root: Path, method: str = "senet") -> Path:
    """A finished run directory: SENet (teacher, sensitivity, stage 2, stage 3) or SNL (teacher,
    snl, stage 3)."""
    d = root / f"{method}_run"
    d.mkdir(parents=True)
    snl = method == "snl"
    keys = ["teacher", "snl", "stage3"] if snl else ["teacher", "sensitivity", "stage2", "stage3"]
    for k in keys:
        lines = list(STAGE_LINES[k])
        if k == "teacher":  # the test evaluation closes the teacher's file
            lines.append({"best_val_accuracy": 0.8, "final": True, "stage": "train",
                          "test_accuracy": 0.79, "test_loss": 0.7, "val_accuracy": 0.8})
        _write_jsonl(d / k / "metrics.jsonl", lines)
    stages = {"teacher": {"seconds": 2.0, "test_accuracy": 0.79, "val_accuracy": 0.8},
              "finetune": {"seconds": 3.0, "val_accuracy": 0.85}}
    if snl:
        stages["snl"] = {"seconds": 4.0, "relu_count": 16, "val_accuracy": 0.8}
    else:
        stages.update(sensitivity={"seconds": 0.5}, mask_search={"seconds": 2.5, "val_accuracy": 0.7})
    sites = [{"site": n, "shape": s, "size": s[0] * s[1] * s[2],
              "eta": None if snl else eta, "allocated": None if snl else kept, "kept": kept,
              "keep_percent": 100 * kept / (s[0] * s[1] * s[2])} for n, s, eta, kept in SITES]
    (d / "report.json").write_text(json.dumps({
        "method": method, "budget": BUDGET, "relu_count": BUDGET, "relu_capacity": CAPACITY,
        "fixed_relus": 0, "granularity": "pixel",
        "teacher": {"checkpoint": str(d / "teacher" / "best.safetensors"), "val_accuracy": 0.8,
                    "test_accuracy": 0.79, "relu_count": CAPACITY},
        "student": {"checkpoint": str(d / "student.safetensors"), "val_accuracy": 0.85,
                    "test_accuracy": 0.84},
        "stages": stages, "sites": sites}, indent=2))
    _write_checkpoint_header(d / "student.safetensors", {
        "model": {"arch": "resnet18", "width": 0.125, "in_channels": 1, "width_factors": []},
        "data": {"dataset": "synthetic"}, "senet": {"method": method}})
    return d


def _command(args: list[str], cwd: Path,
             python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`python3 -m senet_plots ARGS` as `senet pipeline` runs it: PYTHONPATH=tools/plots."""
    env = dict(os.environ, PYTHONPATH=str(PLOTS_DIR), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, *python_flags, "-m", "senet_plots", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- reading the run directory (no matplotlib needed)

def test_reads_the_sites_and_the_summary(tmp_path):
    run = load_run(write_run(tmp_path))
    assert [s.name for s in run.sites] == [n for n, _, _, _ in SITES]
    assert [s.shape for s in run.sites] == [tuple(s) for _, s, _, _ in SITES]
    assert [s.size for s in run.sites] == [32, 32, 16, 16]
    assert [s.kept for s in run.sites] == [0, 3, 5, 8]
    assert [s.allocated for s in run.sites] == [0, 3, 5, 8]
    assert [s.eta for s in run.sites] == [0.0, 0.2, 0.6, 0.9]
    s = run.summary
    assert (s.model, s.dataset, s.method, s.granularity) == ("ResNet-18 (width 0.125)", "synthetic",
                                                             "senet", "pixel")
    assert (s.budget, s.relu_count, s.relu_capacity) == (BUDGET, BUDGET, CAPACITY)
    assert (s.teacher_test, s.student_test) == (0.79, 0.84)


def test_reads_every_stage_per_epoch(tmp_path):
    run = load_run(write_run(tmp_path))
    assert [st.key for st in run.stages] == ["teacher", "sensitivity", "stage2", "stage3"]
    assert run.notes == []
    for st in run.stages:
        written = STAGE_LINES[st.key]  # the teacher's "final" line is not an epoch
        assert [e.epoch for e in st.epochs] == [j["epoch"] for j in written]
        assert [e.train_loss for e in st.epochs] == [j["train_loss"] for j in written]
        assert [e.train_accuracy for e in st.epochs] == [j["train_accuracy"] for j in written]
        assert [e.val_accuracy for e in st.epochs] == [j.get("val_accuracy") for j in written]
        assert [e.val_loss for e in st.epochs] == [j.get("val_loss") for j in written]
        assert [e.terms for e in st.epochs] == [j["terms"] for j in written]
        assert [e.relus for e in st.epochs] == [j.get("relus") for j in written]
        assert not st.external
    stage2 = run.stages[2]
    assert [e.phase for e in stage2.epochs] == ["search", "settle"]
    assert [st.seconds for st in run.stages] == [2.0, 0.5, 2.5, 3.0]


def test_reads_the_snl_relu_count_and_budget(tmp_path):
    run = load_run(write_run(tmp_path, "snl"))
    assert [st.key for st in run.stages] == ["teacher", "snl", "stage3"]
    snl = run.stages[1]
    assert [e.relus for e in snl.epochs] == [96, 40, 14]
    assert {e.budget for e in snl.epochs} == {BUDGET}
    assert [e.terms["l1"] for e in snl.epochs] == [j["terms"]["l1"] for j in STAGE_LINES["snl"]]
    assert all(s.eta is None and s.allocated is None for s in run.sites)


def test_missing_stages_and_older_keys_are_tolerated(tmp_path):
    d = write_run(tmp_path)
    for k in ("sensitivity", "stage2"):
        (d / k / "metrics.jsonl").unlink()
    old = [{k: v for k, v in j.items() if k not in ("terms", "val_loss", "relus", "phase")}
           for j in STAGE_LINES["stage3"]]
    _write_jsonl(d / "stage3" / "metrics.jsonl", old)
    run = load_run(d)
    assert [st.key for st in run.stages] == ["teacher", "stage3"]
    # report.json says stages 1 and 2 ran: the notes say their metrics are not here.
    assert len(run.notes) == 2 and "stage 1" in run.notes[0] and "stage 2" in run.notes[1]
    e = run.stages[1].epochs[0]
    assert (e.terms, e.val_loss, e.relus, e.phase) == ({}, None, None, None)
    assert e.val_accuracy == old[0]["val_accuracy"]


def test_a_teacher_trained_elsewhere_is_read_next_to_its_checkpoint(tmp_path):
    d = write_run(tmp_path)
    shared = tmp_path / "seed1" / "teacher"  # the study's layout: one teacher per seed
    shared.mkdir(parents=True)
    (d / "teacher" / "metrics.jsonl").rename(shared / "metrics.jsonl")
    report = json.loads((d / "report.json").read_text())
    report["teacher"]["checkpoint"] = str(shared / "best.safetensors")
    del report["stages"]["teacher"]
    (d / "report.json").write_text(json.dumps(report))
    run = load_run(d)
    assert run.stages[0].key == "teacher" and run.stages[0].external
    assert [e.train_loss for e in run.stages[0].epochs] == [1.2, 0.7]
    (shared / "metrics.jsonl").unlink()
    run = load_run(d)
    assert run.stages[0].key == "sensitivity"
    assert "teacher" in run.notes[0] and str(shared / "best.safetensors") in run.notes[0]


@pytest.mark.parametrize("bad, says", [
    ('{"epoch": 2, "train_loss": ', "line 2: not JSON"),
    ('{"epoch": 2, "train_loss": 0.5, "val_accuracy": "high"}', "line 2: 'val_accuracy' is \"high\""),
    ('[1, 2]', "line 2: not a JSON object"),
    ('{"train_loss": 0.5}', "line 2: no 'epoch'"),
])
def test_a_malformed_metrics_line_is_a_clear_error(tmp_path, bad, says):
    d = write_run(tmp_path)
    path = d / "stage3" / "metrics.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = bad
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunError) as e:
        load_run(d)
    assert str(e.value).startswith(f"{path} line 2") and says in str(e.value)
    r = _command([str(d)], tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == f"senet_plots: error: {e.value}" and "Traceback" not in r.stderr
    assert not (d / "allocation.png").exists() and not (d / "training.png").exists()


def test_a_missing_or_malformed_report_is_a_clear_error(tmp_path):
    d = write_run(tmp_path)
    report = (d / "report.json").read_text()
    (d / "report.json").unlink()
    r = _command([str(d)], tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == f"senet_plots: error: {d / 'report.json'}: missing"
    (d / "report.json").write_text(report[:40])
    r = _command([str(d)], tmp_path)
    assert r.returncode == 1 and f"{d / 'report.json'}: not JSON" in r.stderr
    assert "Traceback" not in r.stderr
    r = _command([str(tmp_path / "nowhere")], tmp_path)
    assert r.returncode == 1 and "nowhere: not a directory" in r.stderr
    (d / "report.json").write_text(report)
    for p in d.glob("*/metrics.jsonl"):
        p.unlink()
    r = _command([str(d)], tmp_path)
    assert r.returncode == 1 and f"{d}: no stage metrics" in r.stderr


def test_help_says_what_each_figure_shows(tmp_path):
    r = _command(["--help"], tmp_path)
    assert r.returncode == 0
    for words in ("allocation.png", "training.png", "log axis", "η", "budget", "apt-get install"):
        assert words in r.stdout


def test_without_matplotlib_the_command_exits_3(tmp_path):
    # python3 -S leaves out site-packages and Debian's dist-packages: the standard library only.
    probe = subprocess.run([sys.executable, "-S", "-c", "import matplotlib"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("matplotlib is importable even without site-packages")
    d = write_run(tmp_path)
    r = _command([str(d)], tmp_path, ("-S",))
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "apt-get install python3-matplotlib" in r.stderr
    assert not (d / "allocation.png").exists()


# --- the figures (need matplotlib)

def _lines(ax) -> dict[str, list[float]]:
    return {line.get_label(): [float(y) for y in line.get_ydata()] for line in ax.get_lines()}


def test_the_allocation_figure_draws_the_sites(tmp_path):
    pytest.importorskip("matplotlib")
    from senet_plots.figures import allocation_figure

    run = load_run(write_run(tmp_path))
    fig = allocation_figure(run)
    bars_ax, eta_ax = fig.axes[:2]
    bars = {c.get_label(): [p.get_height() for p in c.patches] for c in bars_ax.containers}
    assert bars["site size (C×H×W positions)"] == [32, 32, 16, 16]
    assert bars["ReLUs kept"] == [0, 3, 5, 8]
    assert bars_ax.get_yscale() == "log"
    assert [t.get_text() for t in bars_ax.texts] == ["0", "9.4%", "31.2%", "50%"]
    assert list(_lines(eta_ax).values())[0] == [0.0, 0.2, 0.6, 0.9]
    assert [t.get_text() for t in eta_ax.get_xticklabels()] == [n for n, _, _, _ in SITES]
    title = fig._suptitle.get_text()
    for words in ("ResNet-18 (width 0.125) on synthetic, senet", "16 of 96 ReLUs kept (16.7 %)",
                  "budget 16"):
        assert words in title


def test_the_training_figure_draws_every_stage(tmp_path):
    pytest.importorskip("matplotlib")
    from senet_plots.figures import training_figure

    run = load_run(write_run(tmp_path))
    fig = training_figure(run)
    assert len(fig.axes) == 2 * 4  # loss and accuracy per stage, no ReLU column without SNL
    for r, st in enumerate(run.stages):
        loss, acc = _lines(fig.axes[2 * r]), _lines(fig.axes[2 * r + 1])
        written = STAGE_LINES[st.key]
        assert loss["train (total)"] == pytest.approx([j["train_loss"] for j in written])
        if len(written[0]["terms"]) > 1:
            assert loss["KD"] == pytest.approx([j["terms"]["kd"] for j in written])
        else:  # the single term is the loss itself: not drawn twice
            assert "CE" not in loss
        assert fig.axes[2 * r].get_yscale() == "log"
        val = [100 * j["val_accuracy"] for j in written if "val_accuracy" in j]
        drawn = [v for k, v in acc.items() if k.startswith("val")]
        assert drawn == ([pytest.approx(val)] if val else [])
        assert acc["train"] == pytest.approx([100 * j["train_accuracy"] for j in written])
    assert loss["PRAM"] == pytest.approx([2.0, 1.0, 2.0 / 3])
    assert [t.get_text() for t in fig.axes[5].get_xticklabels()] == ["1\nsearch", "2\nsettle"]


def test_the_snl_training_figure_draws_the_relu_count_and_budget(tmp_path):
    pytest.importorskip("matplotlib")
    from senet_plots.figures import training_figure

    fig = training_figure(load_run(write_run(tmp_path, "snl")))
    assert len(fig.axes) == 3 * 3  # teacher, snl, stage 3 × loss, accuracy, ReLUs
    relus = _lines(fig.axes[5])
    assert relus["α > threshold"] == [96, 40, 14]
    assert relus[f"budget {BUDGET}"] == [BUDGET, BUDGET]
    assert relus[f"all {CAPACITY}"] == [CAPACITY, CAPACITY]
    assert fig.axes[5].get_yscale() == "log"
    assert _lines(fig.axes[3])["λ·Σ|α|"] == pytest.approx([19.5, 9.5, 20 / 3 - 0.5])
    assert "all 96 ReLUs" in fig.axes[2].texts[0].get_text()  # the teacher masks nothing


@pytest.mark.parametrize("method", ["senet", "snl"])
def test_the_command_writes_both_pngs(tmp_path, method):
    pytest.importorskip("matplotlib")
    d = write_run(tmp_path, method)
    r = _command([str(d)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"senet_plots: wrote {d / 'allocation.png'} and {d / 'training.png'}"
    for name, min_h in (("allocation.png", 500), ("training.png", 4 * 200)):
        w, h = _png_size(d / name)
        assert 800 <= w <= 3000 and min_h <= h <= 3000, (name, w, h)
        assert (d / name).stat().st_size > 20_000
    assert not list(d.glob(".*.tmp"))


def test_out_puts_the_pngs_elsewhere_and_a_missing_stage_is_fine(tmp_path):
    pytest.importorskip("matplotlib")
    d = write_run(tmp_path)
    (d / "sensitivity" / "metrics.jsonl").unlink()
    out = tmp_path / "pictures" / "here"
    r = _command([str(d), "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert _png_size(out / "allocation.png")[0] >= 800 and _png_size(out / "training.png")[0] >= 800
    assert not (d / "allocation.png").exists()
