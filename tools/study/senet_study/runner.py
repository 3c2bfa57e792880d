"""Runs the grid with the `senet` binary, unattended and resumable.

Layout under the study root:

    seed{S}/teacher/            `senet train` of the all-ReLU teacher (one per seed)
    seed{S}/sensitivity.json    stage 1 of the seed (made by its first run that needs it, then
                                copied into every run that uses SENet's allocation)
    seed{S}/{arm}_{budget}/     one `senet pipeline` run: report.json, stage dirs, log.txt
    wall_times.jsonl            one line per invocation: what it ran and how long it took

A cell whose report.json exists is skipped; an interrupted cell resumes inside the pipeline (each
stage resumes from its last checkpoint), so rerunning the same command completes the grid.
Everything copied is exactly what that run would have computed: the pipeline is deterministic for
a seed and a thread count.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .grid import Cell


@dataclass
class Runner:
    senet: Path          # the `senet` binary
    config: Path         # the study's base config (configs/fmnist_study.json)
    root: Path           # the study root
    extra: tuple[str, ...] = ()  # more `--set key=value` for every invocation (e.g. threads=2)
    dry_run: bool = False

    def _sets(self, pairs: list[str]) -> list[str]:
        out: list[str] = []
        for p in [*pairs, *self.extra, "progress=false"]:
            out += ["--set", p]
        return out

    def _invoke(self, what: str, args: list[str], log: Path) -> None:
        cmd = [str(self.senet), *args]
        print(f"study: {what}: {' '.join(cmd)}", flush=True)
        if self.dry_run:
            return
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(log, "a") as f:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
        seconds = time.monotonic() - t0
        with open(self.root / "wall_times.jsonl", "a") as f:
            f.write(json.dumps({"what": what, "seconds": round(seconds, 1), "rc": rc}) + "\n")
        if rc != 0:
            raise RuntimeError(f"study: {what} failed (exit {rc}); see {log}")

    def teacher(self, seed: int) -> Path:
        out = self.root / f"seed{seed}" / "teacher"
        best = out / "best.safetensors"
        done = out / "done.json"
        if not done.exists():
            self._invoke(f"teacher seed {seed}",
                         ["train", "--config", str(self.config), "--out", str(out), "--resume",
                          *self._sets([f"seed={seed}"])], out / "log.txt")
            if not self.dry_run:
                done.write_text(json.dumps({"seed": seed}) + "\n")
        return best

    def run(self, cell: Cell) -> Path:
        out = self.root / cell.dir_name
        if (out / "report.json").exists():
            print(f"study: {cell.dir_name} done, skipped", flush=True)
            return out
        teacher = self.teacher(cell.seed)
        shared = self.root / f"seed{cell.seed}" / "sensitivity.json"
        if cell.arm.uses_sensitivity and shared.exists() and not (out / "sensitivity.json").exists():
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy(shared, out / "sensitivity.json")
        args = ["pipeline", "--config", str(self.config), "--out", str(out),
                "--budget", str(cell.budget),
                *self._sets([f"seed={cell.seed}", f"senet.teacher_checkpoint={teacher}",
                             *cell.arm.overrides()])]
        self._invoke(cell.dir_name, args, out / "log.txt")
        if cell.arm.uses_sensitivity and not shared.exists() and (out / "sensitivity.json").exists():
            shutil.copy(out / "sensitivity.json", shared)
        return out
