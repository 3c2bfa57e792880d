"""tests/pi/test_data.py — test images as the engine feeds them at evaluation: idx files (raw or
.gz) read, 28×28 padded to S×S centred, the gray plane replicated, normalised with Fashion-MNIST's
mean and std in float32; files and ranges that do not fit are refused. Numpy only."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from senet_pi import PiError
from senet_pi.data import FMNIST_MEAN, FMNIST_STD, fashion_mnist_test, load_test_images


def write_idx(root: Path, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> None:
    def put(name: str, magic: int, a: np.ndarray) -> None:
        raw = struct.pack(">I", magic) + struct.pack(">" + "I" * a.ndim, *a.shape) + a.tobytes()
        if gz:
            with gzip.open(root / (name + ".gz"), "wb") as f:
                f.write(raw)
        else:
            (root / name).write_bytes(raw)
    put("t10k-images-idx3-ubyte", 0x803, images.astype(np.uint8))
    put("t10k-labels-idx1-ubyte", 0x801, labels.astype(np.uint8))


@pytest.mark.parametrize("gz", [False, True])
def test_images_are_padded_replicated_and_normalised(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (4, 28, 28))
    write_idx(tmp_path, imgs, np.array([3, 1, 4, 1]), gz)
    got = fashion_mnist_test(str(tmp_path), 1, 2, pad_to=32, channels=3)
    assert got.x.shape == (2, 3, 32, 32) and got.x.dtype == np.float32 and len(got) == 2
    assert got.labels.tolist() == [1, 4] and got.labels.dtype == np.int64
    scale = np.float32(1.0) / (np.float32(255.0) * FMNIST_STD)
    shift = -FMNIST_MEAN / FMNIST_STD
    want = imgs[1:3].astype(np.float32) * scale + shift
    for c in range(3):
        np.testing.assert_array_equal(got.x[:, c, 2:30, 2:30], want)  # the same float32 ops: exact
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert (got.x[:, :, border] == shift).all()  # padding is a zero pixel, normalised


def test_config_picks_size_channels_and_root(tmp_path: Path) -> None:
    write_idx(tmp_path, np.zeros((2, 28, 28)), np.array([7, 8]))
    cfg = {"data": {"dataset": "fashion-mnist", "root": str(tmp_path)},
           "model": {"image_size": 28, "in_channels": 1}}
    got = load_test_images(cfg, 0, 2)
    assert got.x.shape == (2, 1, 28, 28) and got.labels.tolist() == [7, 8]
    with pytest.raises(PiError, match="Fashion-MNIST test images only; .* data.dataset is 'cifar10'"):
        load_test_images({"data": {"dataset": "cifar10"}}, 0, 1)


def test_bad_files_and_ranges_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PiError, match="does not exist"):
        fashion_mnist_test(str(tmp_path), 0, 1)
    write_idx(tmp_path, np.zeros((2, 28, 28)), np.array([0, 1]))
    with pytest.raises(PiError, match="test images 1..2 are outside the 2 images"):
        fashion_mnist_test(str(tmp_path), 1, 2)
    with pytest.raises(PiError, match="image_size must be ≥ 28"):
        fashion_mnist_test(str(tmp_path), 0, 1, pad_to=24)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(struct.pack(">I", 0x803) + bytes(8))
    with pytest.raises(PiError, match="wrong magic number"):
        fashion_mnist_test(str(tmp_path), 0, 1)
    labels.write_bytes(struct.pack(">II", 0x801, 5) + bytes(2))
    with pytest.raises(PiError, match="expected 5 bytes after the header, found 2"):
        fashion_mnist_test(str(tmp_path), 0, 1)
    labels.write_bytes(struct.pack(">I", 0x801))
    with pytest.raises(PiError, match="too short for its 1 dimensions"):
        fashion_mnist_test(str(tmp_path), 0, 1)
