"""tests/pi/test_index_errors.py — index lists that do not match the checkpoint are refused with a
message naming the file, the site and what was expected (and the CLI exits 1). Numpy only."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Tiny
from senet_pi import PiError
from senet_pi.checkpoint import read_checkpoint
from senet_pi.network import Network

SITE = 3  # a partial site (layer1.1.relu1)


def broken(tiny: Tiny, edit: Callable[[dict[str, Any]], Any], name: str = "bad.json") -> Path:
    e = copy.deepcopy(tiny.export)
    edit(e["sites"][SITE])
    p = tiny.masks.parent / name
    p.write_text(json.dumps(e))
    return p


def refused(tiny: Tiny, path: Path, *fragments: str) -> None:
    with pytest.raises(PiError) as e:
        Network(read_checkpoint(tiny.checkpoint), path)
    for frag in (str(path),) + fragments:
        assert frag in str(e.value)


def site_name(tiny: Tiny) -> str:
    return tiny.export["sites"][SITE]["name"]


def test_good_lists_load(tiny: Tiny) -> None:
    net = Network(read_checkpoint(tiny.checkpoint), tiny.masks)
    assert net.sites[SITE].name == "layer1.1.relu1"
    assert net.sites[SITE].indices.tolist() == tiny.export["sites"][SITE]["indices"]
    # Without masks.json the checkpoint's own mask buffers give the same lists.
    own = Network(read_checkpoint(tiny.checkpoint))
    assert [s.indices.tolist() for s in own.sites] == [s.indices.tolist() for s in net.sites]


def test_wrong_site(tiny: Tiny) -> None:
    p = broken(tiny, lambda s: s.update(name="layer9.9.relu1"))
    refused(tiny, p, f"expected site '{site_name(tiny)}'", "layer9.9.relu1")


def test_index_out_of_range(tiny: Tiny) -> None:
    size = tiny.export["sites"][SITE]["size"]
    p = broken(tiny, lambda s: s["indices"].__setitem__(-1, size))
    refused(tiny, p, f"index {size} is out of range [0, {size})", site_name(tiny))


def test_duplicate_and_descending_indices(tiny: Tiny) -> None:
    def dup(s: dict[str, Any]) -> None:
        s["indices"][1] = s["indices"][0]
    refused(tiny, broken(tiny, dup), "duplicate index", site_name(tiny))
    refused(tiny, broken(tiny, lambda s: s["indices"].reverse()), "must be ascending", site_name(tiny))
    refused(tiny, broken(tiny, lambda s: s.update(indices=[1.5])), "list of integers")


def test_kept_field_disagrees_with_list(tiny: Tiny) -> None:
    p = broken(tiny, lambda s: s.update(kept=s["kept"] + 1))
    refused(tiny, p, "'kept'", site_name(tiny))


def test_count_disagrees_with_checkpoint_mask(tiny: Tiny) -> None:
    def drop(s: dict[str, Any]) -> None:
        s["indices"].pop()
        s["kept"] -= 1
    refused(tiny, broken(tiny, drop), f"'{site_name(tiny)}.mask' keeps", str(tiny.checkpoint))


def test_same_count_different_positions(tiny: Tiny) -> None:
    def move(s: dict[str, Any]) -> None:
        free = sorted(set(range(s["size"])) - set(s["indices"]))
        s["indices"] = sorted(s["indices"][1:] + [free[0]])
    refused(tiny, broken(tiny, move), "a different mask", site_name(tiny))


def test_missing_site_and_bad_json(tiny: Tiny) -> None:
    e = copy.deepcopy(tiny.export)
    e["sites"].pop()
    p = tiny.masks.parent / "short.json"
    p.write_text(json.dumps(e))
    refused(tiny, p, "has 16 sites", "17 counted sites")
    p.write_text("{ not json")
    refused(tiny, p, "not valid JSON")
    p.write_text(json.dumps({"format": "senet-masks-2", "sites": []}))
    refused(tiny, p, "'format' must be senet-masks-1")


def test_cli_exits_1_with_the_message(tiny: Tiny, tool_env: dict[str, str]) -> None:
    p = broken(tiny, lambda s: s.update(name="relu99"))
    r = subprocess.run([sys.executable, "-m", "senet_pi", "--checkpoint", str(tiny.checkpoint),
                        "--masks", str(p), "--plaintext-only"], capture_output=True, text=True, env=tool_env)
    assert r.returncode == 1, r.stderr
    assert "senet pi-measure: error:" in r.stderr and "relu99" in r.stderr
    assert "Traceback" not in r.stderr
