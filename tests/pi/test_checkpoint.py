"""tests/pi/test_checkpoint.py — the safetensors reader: what write_checkpoint writes reads back
bit for bit; a corrupt, truncated or foreign file is refused naming the file and what is wrong."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import Tiny
from senet_pi import PiError
from senet_pi.checkpoint import CRC_PREFIX, read_checkpoint, write_checkpoint


def test_round_trip_keeps_every_tensor_and_the_metadata(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {"w": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
               "m": rng.integers(0, 2, (4, 5, 5)).astype(np.uint8),
               "i": np.array([-(2 ** 40), 7], np.int64), "s": np.array(2.5, np.float64)}
    p = tmp_path / "c.safetensors"
    write_checkpoint(p, tensors, {"config": json.dumps({"model": {"arch": "resnet18"}})})
    c = read_checkpoint(p)
    assert list(c.tensors) == list(tensors)
    for name, a in tensors.items():
        assert c.tensors[name].dtype == a.dtype and c.tensors[name].shape == a.shape
        assert c.tensors[name].tobytes() == a.tobytes()
    # CRC-32s are checked and dropped; the format is added.
    assert c.metadata == {"config": '{"model": {"arch": "resnet18"}}', "format": "senet-checkpoint-1"}
    assert c.config() == {"model": {"arch": "resnet18"}}
    with open(p, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        assert (8 + n) % 8 == 0  # the data buffer is 8-byte aligned
        assert sum(k.startswith(CRC_PREFIX) for k in json.loads(f.read(n))["__metadata__"]) == 4


def test_tensor_checks_name_shape_and_dtype(tiny: Tiny) -> None:
    c = read_checkpoint(tiny.checkpoint)
    assert c.tensor("fc.bias", (10,), np.float32).shape == (10,)
    with pytest.raises(PiError, match="has no tensor 'fc.weights'"):
        c.tensor("fc.weights")
    with pytest.raises(PiError, match=r"'fc.bias' has shape \[10\], the model expects \[11\]"):
        c.tensor("fc.bias", (11,))
    with pytest.raises(PiError, match="'relu0.mask' has dtype uint8, expected float32"):
        c.tensor("relu0.mask", dtype=np.float32)


def test_corrupt_checkpoint_fails_its_crc(tiny: Tiny, tmp_path: Path) -> None:
    data = bytearray(tiny.checkpoint.read_bytes())
    data[-3] ^= 0xFF  # inside fc.bias, the last tensor
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(PiError) as e:
        read_checkpoint(bad)
    assert "CRC-32" in str(e.value) and "fc.bias" in str(e.value) and str(bad) in str(e.value)


def test_truncated_and_foreign_files_are_refused(tiny: Tiny, tmp_path: Path) -> None:
    data = tiny.checkpoint.read_bytes()
    cases = {"short": (data[:5], "too short"),
             "header": (struct.pack("<Q", 1 << 20) + data[8:100], "exceeds the file"),
             "json": (struct.pack("<Q", 4) + b"{no}", "not valid JSON"),
             "cut": (data[:-8], "do not fit"),
             "missing": (None, "cannot read")}
    for name, (content, message) in cases.items():
        p = tmp_path / f"{name}.safetensors"
        if content is not None:
            p.write_bytes(content)
        with pytest.raises(PiError, match=message):
            read_checkpoint(p)
    # A safetensors file that is not a senet checkpoint reads, but has no config.
    p = tmp_path / "foreign.safetensors"
    header = json.dumps({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    p.write_bytes(struct.pack("<Q", len(header)) + header + np.float32(1).tobytes())
    c = read_checkpoint(p)
    assert c.tensors["x"].tolist() == [1.0]
    with pytest.raises(PiError, match="not a senet checkpoint"):
        c.config()
