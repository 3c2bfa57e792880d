"""Test images exactly as the engine feeds them at evaluation (engine/data/idx.cpp, augment.cpp).

Fashion-MNIST idx (raw or .gz): 28×28 u8 zero-padded to S×S centred (top = left = (S−28)//2),
gray plane replicated to `channels`; then x = v·scale + shift with scale = 1/(255·std),
shift = −mean/std in float32 (mean 0.2860, std 0.3530: engine/data/normalize.cpp).
"""
from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import PiError

FMNIST_MEAN, FMNIST_STD = np.float32(0.2860), np.float32(0.3530)


@dataclass(frozen=True, eq=False)
class EvalImages:
    x: np.ndarray          # [count, channels, S, S] float32, normalised
    labels: np.ndarray     # [count] int64

    def __len__(self) -> int:
        return int(self.labels.size)


def _read_idx(path: str, magic: int) -> np.ndarray:
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                data = f.read()
            break
    else:
        raise PiError(f"load_idx: '{path}' (or '{path}.gz') does not exist")
    if len(data) < 4 or struct.unpack(">I", data[:4])[0] != magic:
        raise PiError(f"load_idx: '{p}': wrong magic number: expected {magic:#010x}")
    nd = magic & 0xff
    if len(data) < 4 + 4 * nd:
        raise PiError(f"load_idx: '{p}': {len(data)} bytes, too short for its {nd} dimensions")
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd)
    if body.size != int(np.prod(dims)):
        raise PiError(f"load_idx: '{p}': expected {int(np.prod(dims))} bytes after the header, "
                      f"found {body.size}")
    return body.reshape(dims)


def fashion_mnist_test(root: str, first: int, count: int, pad_to: int = 32,
                       channels: int = 1) -> EvalImages:
    """Test images first .. first+count−1, padded to pad_to×pad_to and normalised."""
    imgs = _read_idx(os.path.join(root, "t10k-images-idx3-ubyte"), 0x00000803)
    labels = _read_idx(os.path.join(root, "t10k-labels-idx1-ubyte"), 0x00000801)
    if first < 0 or first + count > imgs.shape[0]:
        raise PiError(f"test images {first}..{first + count - 1} are outside the "
                      f"{imgs.shape[0]} images of '{root}'")
    if pad_to < 28:
        raise PiError(f"model.image_size must be ≥ 28 for Fashion-MNIST, got {pad_to}")
    sel = imgs[first:first + count]
    top = (pad_to - 28) // 2
    out = np.zeros((count, channels, pad_to, pad_to), dtype=np.uint8)
    out[:, :, top:top + 28, top:top + 28] = sel[:, None]
    scale = np.float32(1.0) / (np.float32(255.0) * FMNIST_STD)
    shift = -FMNIST_MEAN / FMNIST_STD
    x = out.astype(np.float32) * scale + shift
    return EvalImages(x.astype(np.float32), labels[first:first + count].astype(np.int64))


def load_test_images(cfg: Mapping[str, Any], first: int, count: int) -> EvalImages:
    """The test images of the checkpoint's config (data.dataset, data.root, model.image_size)."""
    d, m = cfg.get("data", {}), cfg.get("model", {})
    ds = d.get("dataset", "fashion-mnist")
    if ds != "fashion-mnist":
        raise PiError(f"pi-measure reads Fashion-MNIST test images only; the checkpoint's "
                      f"data.dataset is '{ds}'")
    root = d.get("root", "/usr/share/datasets/fashion-mnist")
    return fashion_mnist_test(root, first, count, int(m.get("image_size", 32)),
                              int(m.get("in_channels", 1)))
