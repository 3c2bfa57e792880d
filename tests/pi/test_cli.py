"""tests/pi/test_cli.py — the command line without JAX or SPU: `python -m senet_pi` and the
pi_measure.py script print the tool's help, usage errors exit 2, bad option values exit 1 with a
message, and a missing run directory is named. Numpy only."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TOOLS_PI


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


def test_help_from_the_module_and_the_script(tool_env: dict[str, str]) -> None:
    # The script needs no PYTHONPATH: Python puts its folder, tools/pi, first on sys.path.
    bare = {k: v for k, v in tool_env.items() if k != "PYTHONPATH"}
    for args, env in ((["-m", "senet_pi", "--help"], tool_env),
                      ([str(TOOLS_PI / "pi_measure.py"), "--help"], bare)):
        r = run(args, env)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("usage: senet pi-measure")
        for option in ("--run", "--checkpoint", "--masks", "--protocols", "--images", "--json",
                       "--plaintext-only", "--reference-logits"):
            assert option in r.stdout, option


def test_usage_and_value_errors(tool_env: dict[str, str], tmp_path: Path) -> None:
    r = run(["-m", "senet_pi", "--images", "3"], tool_env)
    assert r.returncode == 2 and "give exactly one of --run DIR and --checkpoint FILE" in r.stderr
    r = run(["-m", "senet_pi", "--run", str(tmp_path), "--images", "0"], tool_env)
    assert r.returncode == 2 and "--images must be ≥ 1" in r.stderr
    r = run(["-m", "senet_pi", "--run", str(tmp_path), "--protocols", "semi2k,aby3"], tool_env)
    assert r.returncode == 1 and "--protocols: unknown value 'aby3' (semi2k, cheetah)" in r.stderr
    r = run(["-m", "senet_pi", "--run", str(tmp_path)], tool_env)
    assert r.returncode == 1
    assert f"run directory '{tmp_path}' has no teacher/best.safetensors" in r.stderr
