"""Per-site ReLU index lists (masks.json, format senet-masks-1) checked against a checkpoint.

masks.json (senet/masks.cpp): {"format": "senet-masks-1", "sites": [{"name", "shape": [C,H,W],
"size", "kept", "indices": [...]}, ...]} — one entry per counted site in network order, indices
ascending flat positions c·H·W + h·W + w. Every list must agree with the checkpoint's own mask
buffer "<site>.mask" (u8 [C,H,W] pixel-wise, or [C] channel-wise = whole channels): same sites in
the same order, indices in range, no duplicates, 'kept' = number of indices = ones in the mask.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import PiError

if TYPE_CHECKING:
    from .network import Site


def checkpoint_mask_indices(mask: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Kept flat indices (int64, ascending) of a checkpoint mask buffer ([C,H,W] or channel-wise [C])."""
    C, H, W = shape
    m = np.asarray(mask).astype(np.uint8)
    if m.shape == (C,):
        m = np.repeat(m, H * W).reshape(C, H, W)
    return np.flatnonzero(m.reshape(-1)).astype(np.int64)


def read_index_lists(path: str | os.PathLike[str], sites: Sequence[Site],
                     checkpoint_path: str) -> dict[str, np.ndarray]:
    """The lists of masks.json at `path`, each checked against its site's mask buffer (sites: the
    model's counted sites, in network order). Returns site name → kept flat indices (int64)."""
    path = os.fspath(path)
    try:
        with open(path, "r", encoding="utf-8") as f:
            j = json.load(f)
    except OSError as e:
        raise PiError(f"mask export '{path}': cannot read ({e.strerror})")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PiError(f"mask export '{path}' is not valid JSON ({e})")
    if not isinstance(j, dict) or j.get("format") != "senet-masks-1":
        raise PiError(f"mask export '{path}': 'format' must be senet-masks-1")
    entries = j.get("sites")
    if not isinstance(entries, list):
        raise PiError(f"mask export '{path}': 'sites' must be a list")
    if len(entries) != len(sites):
        raise PiError(f"mask export '{path}' has {len(entries)} sites, the checkpoint "
                      f"'{checkpoint_path}' has {len(sites)} counted sites "
                      f"({', '.join(s.name for s in sites)})")
    out = {}
    for i, (e, s) in enumerate(zip(entries, sites)):
        where = f"mask export '{path}' site {i}"
        name = e.get("name") if isinstance(e, dict) else None
        if name != s.name:
            raise PiError(f"{where}: expected site '{s.name}' (the checkpoint's site {i}), "
                          f"got {json.dumps(name)}")
        where += f" ('{name}')"
        idx = e.get("indices")
        if not isinstance(idx, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in idx):
            raise PiError(f"{where}: 'indices' must be a list of integers")
        size = int(np.prod(s.shape))
        if "shape" in e and list(e["shape"]) != list(s.shape):
            raise PiError(f"{where}: 'shape' {e['shape']} differs from the checkpoint's "
                          f"{list(s.shape)}")
        a = np.asarray(idx, dtype=np.int64)
        bad = a[(a < 0) | (a >= size)]
        if bad.size:
            raise PiError(f"{where}: index {int(bad[0])} is out of range [0, {size}) "
                          f"(C×H×W = {'×'.join(map(str, s.shape))})")
        if a.size > 1:
            d = np.diff(a)
            if (d == 0).any():
                raise PiError(f"{where}: duplicate index {int(a[1:][d == 0][0])}")
            if (d < 0).any():
                raise PiError(f"{where}: indices must be ascending; {int(a[:-1][d < 0][0])} is "
                              f"followed by {int(a[1:][d < 0][0])}")
        kept = e.get("kept")
        if not isinstance(kept, int) or kept != a.size:
            raise PiError(f"{where}: 'kept' is {json.dumps(kept)} but there are {a.size} indices")
        ref = checkpoint_mask_indices(s.mask, s.shape)
        if ref.size != a.size:
            raise PiError(f"{where}: {a.size} kept positions, but the checkpoint '{checkpoint_path}' mask "
                          f"'{s.name}.mask' keeps {ref.size}")
        if not np.array_equal(ref, a):
            k = int(np.flatnonzero(ref != a)[0])
            raise PiError(f"{where}: position {k} of the list is {int(a[k])}, the checkpoint mask "
                          f"'{s.name}.mask' keeps {int(ref[k])} there (a different mask)")
        out[s.name] = a
    return out
