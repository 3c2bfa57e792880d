"""senet_study without the engine: the grid's compute-fair epochs, the runner's commands (dry
run), aggregation and the decision rule on report files written here, the markdown block, and the
plot (when matplotlib is installed)."""
from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from senet_study import grid
from senet_study.report import BEGIN, END, tables, title, write_markdown
from senet_study.results import Comparison, best_on_validation, cells, compare, load_runs
from senet_study.runner import Runner


def _epochs(arm: grid.Arm) -> int:
    """Optimizer epochs after the teacher that an arm's overrides ask for."""
    sets = dict(s.split("=", 1) for s in arm.sets)
    if arm.method == "snl":
        return int(sets["senet.snl.max_epochs"]) + int(sets["senet.finetune.epochs"])
    search = 0 if arm.method == "random_masks" else int(sets.get("senet.mask_search.epochs", 1))
    return search + int(sets.get("senet.settle_epochs", 0)) + int(sets["senet.finetune.epochs"])


def test_every_arm_gets_the_same_number_of_epochs_after_the_teacher() -> None:
    for arm in grid.ARMS:
        assert _epochs(arm) == grid.EPOCHS_AFTER_TEACHER, arm.name


def test_grid_runs_the_three_percent_budget_first_for_every_seed() -> None:
    budgets = [grid.budget_of(f) for f in grid.BUDGET_FRACTIONS]
    assert budgets == [696, 2089, 6963]
    cs = grid.cells([1, 2], budgets, list(grid.ARMS))
    n = 2 * len(grid.ARMS)
    assert {c.budget for c in cs[:n]} == {2089}
    assert [c.seed for c in cs[:n]] == [1] * len(grid.ARMS) + [2] * len(grid.ARMS)
    assert cs[0].arm.name == "senet"  # makes the seed's sensitivity.json
    assert len(cs) == 3 * n
    with pytest.raises(KeyError):
        grid.arm("nope")


def test_runner_dry_run_builds_the_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = Runner(Path("/bin/senet"), Path("cfg.json"), tmp_path, ("threads=2",), dry_run=True)
    r.run(grid.Cell(2, 2089, grid.arm("pram10")))
    out = capsys.readouterr().out
    assert "train --config cfg.json" in out and "seed=2" in out
    assert "--budget 2089" in out and "senet.finetune.pram=10" in out
    assert "senet.method=senet" in out and "threads=2" in out and "progress=false" in out
    assert f"senet.teacher_checkpoint={tmp_path}/seed2/teacher/best.safetensors" in out


def _write_run(root: Path, seed: int, arm: str, budget: int, test: float, val: float,
               relus: int | None = None, capacity: int = 69632, config: dict | None = None) -> None:
    """A finished run's files; with `config`, a student.safetensors that stores it (header only:
    the report reads nothing else of the checkpoint)."""
    d = root / f"seed{seed}" / f"{arm}_{budget}"
    (d / "stage3").mkdir(parents=True)
    if config is not None:
        header = json.dumps({"__metadata__": {"format": "senet-checkpoint-1",
                                              "config": json.dumps(config)}}).encode()
        (d / "student.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    (d / "report.json").write_text(json.dumps({
        "budget": budget, "relu_count": budget if relus is None else relus, "relu_capacity": capacity,
        "teacher": {"test_accuracy": 0.91}, "student": {"val_accuracy": val, "test_accuracy": test},
        "stages": {"mask_search": {"seconds": 20}, "finetune": {"seconds": 60}}}))
    (d / "stage3" / "metrics.jsonl").write_text(json.dumps({
        "terms": {"ce": 0.1, "kd": 0.5, "pram": 2.0},
        "grad_norms": {"ce": 1.0, "kd": 1.0, "pram": 4.0},
        "grad_cosines": {"ce·kd": 0.0, "ce·pram": 0.0, "kd·pram": 0.0}}) + "\n")


def test_decision_rule_needs_two_standard_errors_and_one_sign(tmp_path: Path) -> None:
    # pram0 beats senet by 1.0, 1.2, 0.8 points: counts. pram10: +0.5, −0.1, +0.4: mixed signs.
    for seed, (s, p0, p10) in enumerate([(0.85, 0.860, 0.855), (0.84, 0.852, 0.839), (0.86, 0.868, 0.864)], 1):
        _write_run(tmp_path, seed, "senet", 2089, s, s)
        _write_run(tmp_path, seed, "pram0", 2089, p0, p0 + 0.01)
        _write_run(tmp_path, seed, "pram10", 2089, p10, p10)
    runs = load_runs(tmp_path)
    assert len(runs) == 9
    table = cells(runs)
    c = compare(table, "pram0", "senet", 2089)
    assert c.seeds == [1, 2, 3]
    assert c.mean == pytest.approx(0.01)
    assert c.verdict == "better"
    assert compare(table, "pram10", "senet", 2089).verdict == "no call"
    assert Comparison("a", "b", 1, [1], [0.5]).verdict == "no call"  # one seed: never a call
    assert Comparison("a", "b", 1, [1, 2], [-0.02, -0.021]).verdict == "worse"
    assert best_on_validation(table, 2089) == "pram0"  # chosen on validation
    assert math.isclose(table[("senet", 2089)].mean("test"), 0.85)


def test_report_block_replaces_only_its_markers(tmp_path: Path) -> None:
    for seed in (1, 2):
        _write_run(tmp_path, seed, "senet", 2089, 0.85 + 0.01 * seed, 0.86)
        _write_run(tmp_path, seed, "snl", 2089, 0.87, 0.88, relus=2089)
    block = tables(load_runs(tmp_path))
    assert "SNL (exact budget)" in block and "± " in block and "(n=2)" in block
    # cos(∇ce + ∇kd, ∇pram) = 0 for orthogonal gradients; ‖∇pram‖ = 4.
    assert "| 4 |" in block
    md = tmp_path / "results.md"
    md.write_text(f"intro\n{BEGIN}\nold\n{END}\noutro\n")
    write_markdown(md, block)
    text = md.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert block in text


def test_report_takes_the_relu_total_and_the_title_from_the_runs(tmp_path: Path) -> None:
    cfg = {"model": {"arch": "wrn", "wrn_depth": 16, "wrn_k": 4, "width": 1.0},
           "data": {"dataset": "cifar10"}}
    for seed in (1, 2):
        _write_run(tmp_path, seed, "senet", 300, 0.80, 0.81, capacity=10_000, config=cfg)
    runs = load_runs(tmp_path)
    assert [r.model for r in runs] == ["CIFAR-10, WRN-16-4"] * 2
    assert "300 ReLUs (3 %)" in tables(runs)  # 300 of the runs' 10,000, not of 69,632
    assert title(runs) == ("CIFAR-10, WRN-16-4, 10,000 ReLUs: test accuracy vs ReLU budget, "
                           "± 1 std over seeds")
    # A run without its checkpoint adds no name; one of another model or size is refused.
    _write_run(tmp_path, 3, "senet", 300, 0.80, 0.81, capacity=10_000)
    assert title(load_runs(tmp_path)).startswith("CIFAR-10, WRN-16-4, 10,000 ReLUs:")
    _write_run(tmp_path, 4, "senet", 300, 0.80, 0.81, capacity=10_000,
               config={"model": {"arch": "resnet18", "width": 0.125}, "data": {"dataset": "fashion-mnist"}})
    with pytest.raises(ValueError, match="Fashion-MNIST, ResNet-18 \\(width 0.125\\)"):
        title(load_runs(tmp_path))
    _write_run(tmp_path, 5, "senet", 300, 0.80, 0.81, capacity=20_000)
    with pytest.raises(ValueError, match="ReLU total"):
        tables(load_runs(tmp_path))


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from senet_study.plot import plot

    for seed in (1, 2):
        for b in (696, 2089):
            _write_run(tmp_path, seed, "senet", b, 0.85, 0.86)
            _write_run(tmp_path, seed, "snl", b, 0.86, 0.86)
    out = tmp_path / "p.png"
    plot(load_runs(tmp_path), out, "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
