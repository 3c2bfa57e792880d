"""Reading senet checkpoints: safetensors with a CRC-32 per tensor in the metadata.

File layout (engine/io/safetensors.h): u64 little-endian N | N bytes of JSON header | data.
header = {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {...}};
offsets are relative to the data buffer. senet stores "senet.crc32.<name>" (8 lowercase hex
digits, zlib's CRC-32 of the tensor's bytes) in the metadata; we verify it when present.
A senet checkpoint has metadata "format" = "senet-checkpoint-1" and "config" (the run's JSON).
write_checkpoint() writes the same format (used by the tests to make tiny checkpoints).
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import PiError

_DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8, "I8": np.int8, "I32": np.int32,
           "I64": np.int64, "U32": np.uint32, "U64": np.uint64, "F16": np.float16,
           "U16": np.uint16, "I16": np.int16, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
CRC_PREFIX = "senet.crc32."
FORMAT = "senet-checkpoint-1"


@dataclass(frozen=True, eq=False)
class Checkpoint:
    path: str
    tensors: dict[str, np.ndarray]   # name → array
    metadata: dict[str, str]         # without the senet.crc32.* keys

    def tensor(self, name: str, shape: Sequence[int] | None = None,
               dtype: DTypeLike | None = None) -> np.ndarray:
        """The tensor `name`, checked against the shape and dtype the model expects (when given)."""
        if name not in self.tensors:
            raise PiError(f"checkpoint '{self.path}' has no tensor '{name}' that the model needs "
                          f"(saved from a different architecture or width?)")
        t = self.tensors[name]
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise PiError(f"checkpoint '{self.path}': tensor '{name}' has shape {list(t.shape)}, "
                          f"the model expects {list(shape)}")
        if dtype is not None and t.dtype != np.dtype(dtype):
            raise PiError(f"checkpoint '{self.path}': tensor '{name}' has dtype {t.dtype}, "
                          f"expected {np.dtype(dtype)}")
        return t

    def config(self) -> dict[str, Any]:
        """The run's config stored with the checkpoint (metadata 'config')."""
        if self.metadata.get("format") != FORMAT:
            raise PiError(f"checkpoint '{self.path}': not a senet checkpoint (metadata 'format' is "
                          f"missing or not {FORMAT})")
        if "config" not in self.metadata:
            raise PiError(f"checkpoint '{self.path}': metadata key 'config' is missing")
        try:
            cfg = json.loads(self.metadata["config"])
        except json.JSONDecodeError as e:
            raise PiError(f"checkpoint '{self.path}': metadata 'config' is not valid JSON ({e})")
        if not isinstance(cfg, dict):
            raise PiError(f"checkpoint '{self.path}': metadata 'config' is not a JSON object")
        return cfg


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PiError(f"checkpoint '{path}': cannot read ({e.strerror})")
    if len(data) < 8:
        raise PiError(f"checkpoint '{path}': {len(data)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise PiError(f"checkpoint '{path}': header length {n} exceeds the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PiError(f"checkpoint '{path}': the header is not valid JSON ({e})")
    if not isinstance(header, dict):
        raise PiError(f"checkpoint '{path}': the header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, h in header.items():
        try:
            dt = np.dtype(_DTYPES[h["dtype"]])
            shape = [int(s) for s in h["shape"]]
            b, e = (int(v) for v in h["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise PiError(f"checkpoint '{path}': tensor '{name}' has a malformed header entry {h}")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= b <= e <= len(body)) or e - b != count * dt.itemsize:
            raise PiError(f"checkpoint '{path}': tensor '{name}' data_offsets [{b}, {e}] do not fit "
                          f"its {h['dtype']} {shape} or the file")
        raw = bytes(body[b:e])
        crc = meta.get(CRC_PREFIX + name)
        if crc is not None and f"{zlib.crc32(raw) & 0xffffffff:08x}" != crc:
            raise PiError(f"checkpoint '{path}': tensor '{name}' fails its CRC-32 check "
                          f"(stored {crc}); the file is corrupt")
        tensors[name] = np.frombuffer(raw, dtype=dt.newbyteorder("<")).reshape(tuple(shape)).copy()
    meta = {k: v for k, v in meta.items() if not k.startswith(CRC_PREFIX)}
    return Checkpoint(path, tensors, meta)


def write_checkpoint(path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray],
                     metadata: Mapping[str, str]) -> None:
    """tensors in file order; metadata strings (the format and the CRC-32s are added)."""
    meta = dict(metadata)
    meta["format"] = FORMAT
    header: dict[str, Any] = {}
    blobs, off = [], 0
    for name, a in tensors.items():
        a = np.asarray(a)  # tobytes() is C order; ascontiguousarray would make a scalar 1-d
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        meta[CRC_PREFIX + name] = f"{zlib.crc32(raw) & 0xffffffff:08x}"
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
