"""tests/pi — shared fixtures of the senet_pi tests: tiny senet checkpoints with random weights, BN
statistics and masks, written in the engine's format, plus their masks.json: a ResNet-18 (width
1/16: 4/8/16/32 channels, 1×32×32, 10 classes; CONFIG), the same made width-switchable
(SWITCH_CONFIG, factors 0.5 and 1) and a WRN-16-2 at width 1/4 (WRN_CONFIG). Sites: the first all
ones (dense), the second keeps nothing, the rest random subsets (of positions, or of whole
channels for a per-channel mask). Numpy only; the tests that need JAX or SPU skip without them."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import senet_pi
from senet_pi.checkpoint import write_checkpoint
from senet_pi.network import bn_set_name, model_layout, width_factors

CONFIG: dict[str, Any] = {
    "data": {"dataset": "fashion-mnist", "root": "/usr/share/datasets/fashion-mnist"},
    "model": {"arch": "resnet18", "width": 0.0625, "in_channels": 1, "image_size": 32,
              "num_classes": 10, "stem_site": True}}
# WRN-16-2 at width 1/4 (stem 4, groups 8/16/32 channels): group1.0 has a projection shortcut
# (its bn1 folds into the stem), the other BNs before a site are affine steps.
WRN_CONFIG: dict[str, Any] = {
    "data": CONFIG["data"],
    "model": {"arch": "wrn", "wrn_depth": 16, "wrn_k": 2, "width": 0.25, "in_channels": 1,
              "image_size": 32, "num_classes": 10, "final_site": True}}
# The ResNet of CONFIG made width-switchable: BN sets "wNNN" at 0.5 (2/4/8/16 channels).
SWITCH_CONFIG: dict[str, Any] = {
    "data": CONFIG["data"], "model": {**CONFIG["model"], "width_factors": [0.5, 1.0]}}
TOOLS_PI = Path(senet_pi.__file__).resolve().parents[1]   # tools/pi: the package's folder


@dataclass(frozen=True, eq=False)
class Tiny:
    checkpoint: Path
    masks: Path
    tensors: dict[str, np.ndarray]     # what the checkpoint holds
    export: dict[str, Any]             # what masks.json holds
    config: dict[str, Any]


def make_tiny(dirpath: Path, seed: int = 0, keep: float = 0.05, config: dict[str, Any] | None = None,
              channel_sites: tuple[str, ...] = (), name: str = "tiny") -> Tiny:
    """A checkpoint of `config` (default CONFIG) with random weights, BN statistics (one set per
    width factor) and masks: the first site all ones (dense), the second keeps nothing, the rest
    random subsets of `keep` of the positions, or of the channels for `channel_sites` (mask [C])."""
    config = config or CONFIG
    rng = np.random.default_rng(seed)
    layout = model_layout(config)
    pcts = [round(f * 100) for f in width_factors(config)]
    t: dict[str, np.ndarray] = {}

    def conv(name: str, k: int, c: int, r: int) -> None:
        w = rng.standard_normal((k, c, r, r)) * np.sqrt(2.0 / (c * r * r))  # He init
        t[name + ".weight"] = w.astype(np.float32)

    def bn(name: str, k: int) -> None:
        for p in pcts:
            n = bn_set_name(name, p)
            kp = k * p // 100
            t[n + ".weight"] = rng.uniform(0.5, 1.5, kp).astype(np.float32)
            t[n + ".bias"] = rng.normal(0, 0.1, kp).astype(np.float32)
            t[n + ".running_mean"] = rng.normal(0, 0.2, kp).astype(np.float32)
            t[n + ".running_var"] = rng.uniform(0.5, 2.0, kp).astype(np.float32)

    masks = {}
    for i, s in enumerate(layout.sites):
        if s.name in channel_sites:
            m = np.zeros(s.channels, np.uint8)
            m[rng.choice(s.channels, max(1, int(round(keep * s.channels))), replace=False)] = 1
            masks[s.name] = m
            continue
        m = np.zeros(s.full_shape, np.uint8).reshape(-1)
        if i == 0:
            m[:] = 1
        elif i > 1:
            m[rng.choice(m.size, max(1, int(keep * m.size)), replace=False)] = 1
        masks[s.name] = m.reshape(s.full_shape)
    if layout.arch == "resnet":
        c0 = layout.stem_full
        conv("conv1", c0, 1, 3)
        bn("bn1", c0)
        t["relu0.mask"] = masks["relu0"]
        for b in layout.blocks:
            conv(b.name + ".conv1", b.cout, b.cin, 3)
            bn(b.name + ".bn1", b.cout)
            conv(b.name + ".conv2", b.cout, b.cout, 3)
            bn(b.name + ".bn2", b.cout)
            if b.projection:
                conv(b.name + ".shortcut.0", b.cout, b.cin, 1)
                bn(b.name + ".shortcut.1", b.cout)
            t[b.name + ".relu1.mask"] = masks[b.name + ".relu1"]
            t[b.name + ".relu2.mask"] = masks[b.name + ".relu2"]
    else:
        conv("conv1", layout.stem_full, 1, 3)
        for b in layout.blocks:
            bn(b.name + ".bn1", b.cin)
            conv(b.name + ".conv1", b.cout, b.cin, 3)
            bn(b.name + ".bn2", b.cout)
            conv(b.name + ".conv2", b.cout, b.cout, 3)
            if b.projection:
                conv(b.name + ".shortcut", b.cout, b.cin, 1)
            t[b.name + ".relu1.mask"] = masks[b.name + ".relu1"]
            t[b.name + ".relu2.mask"] = masks[b.name + ".relu2"]
        bn("bn", layout.final_full)
        t["relu.mask"] = masks["relu"]
    t["fc.weight"] = rng.uniform(-0.3, 0.3, (10, layout.final_full)).astype(np.float32)
    t["fc.bias"] = rng.uniform(-0.1, 0.1, 10).astype(np.float32)
    ckpt = dirpath / f"{name}.safetensors"
    write_checkpoint(ckpt, t, {"config": json.dumps(config), "stage": "test"})

    def flat(s_shape: tuple[int, int, int], m: np.ndarray) -> np.ndarray:
        return np.repeat(m, s_shape[1] * s_shape[2]) if m.ndim == 1 else m.reshape(-1)
    shapes = {s.name: s.full_shape for s in layout.sites}
    export = {"format": "senet-masks-1", "granularity": "channel" if channel_sites else "pixel",
              "sites": [{"name": n, "shape": list(shapes[n]), "size": int(np.prod(shapes[n])),
                         "kept": int(flat(shapes[n], m).sum()),
                         "indices": [int(v) for v in np.flatnonzero(flat(shapes[n], m))]}
                        for n, m in masks.items()]}
    mpath = dirpath / f"{name}_masks.json" if name != "tiny" else dirpath / "masks.json"
    mpath.write_text(json.dumps(export))
    return Tiny(ckpt, mpath, t, export, config)


@pytest.fixture
def tiny(tmp_path: Path) -> Tiny:
    return make_tiny(tmp_path)


@pytest.fixture
def tiny_factory(tmp_path: Path) -> Callable[..., Tiny]:
    """make_tiny(seed=…, keep=…) into this test's folder."""
    def make(**kw: Any) -> Tiny:
        return make_tiny(tmp_path, **kw)
    return make


@pytest.fixture
def tool_env() -> dict[str, str]:
    """The environment of a `python -m senet_pi` subprocess: PYTHONPATH = the package's folder."""
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(TOOLS_PI) + (os.pathsep + old if old else "")}
