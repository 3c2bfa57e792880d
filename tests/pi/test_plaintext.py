"""tests/pi/test_plaintext.py — the network pi-measure builds (BN folded, compacted sites) computes
what the engine computes: its folded weights and index lists (numpy) and its JAX steps (compact and
where) against an independent unfolded float64 reference, and the CLI's check against
`senet eval --dump-logits` on real test images (with JAX, $SENET_BIN and Fashion-MNIST)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import Tiny
from senet_pi.checkpoint import read_checkpoint, write_checkpoint
from senet_pi.network import Network, model_layout, plain_forward

FMNIST = "/usr/share/datasets/fashion-mnist"


def conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Direct NCHW cross-correlation in float64 (no JAX)."""
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    P, Q = (h + 2 * pad - r) // stride + 1, (wd + 2 * pad - s) // stride + 1
    out = np.zeros((n, k, P, Q))
    for i in range(r):
        for j in range(s):
            patch = xp[:, :, i:i + stride * P:stride, j:j + stride * Q:stride]
            out += np.einsum("nchw,kc->nkhw", patch, w[:, :, i, j])
    return out


def reference(t: dict[str, np.ndarray], cfg: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """conv → BN(eval) → masked ReLU (y = m ? max(z,0) : z), unfolded, float64, the checkpoint's masks."""
    f = {k: v.astype(np.float64) for k, v in t.items()}

    def bn(z: np.ndarray, n: str) -> np.ndarray:
        s = f[n + ".weight"] / np.sqrt(f[n + ".running_var"] + 1e-5)
        return (z - f[n + ".running_mean"][None, :, None, None]) * s[None, :, None, None] + \
            f[n + ".bias"][None, :, None, None]

    def act(z: np.ndarray, site: str) -> np.ndarray:
        m = t[site + ".mask"].astype(bool)[None]
        return np.where(m, np.maximum(z, 0), z)

    a = act(bn(conv(x, f["conv1.weight"], 1, 1), "bn1"), "relu0")
    for b in model_layout(cfg).blocks:
        n = b.name
        a1 = act(bn(conv(a, f[n + ".conv1.weight"], b.stride, 1), n + ".bn1"), n + ".relu1")
        sc = bn(conv(a, f[n + ".shortcut.0.weight"], b.stride, 0), n + ".shortcut.1") if b.projection else a
        a = act(bn(conv(a1, f[n + ".conv2.weight"], 1, 1), n + ".bn2") + sc, n + ".relu2")
    return a.mean(axis=(2, 3)) @ f["fc.weight"].T + f["fc.bias"]


def kept_relu(site: Any, z: np.ndarray) -> np.ndarray:
    """A site as pi-measure evaluates it, in numpy: ReLU on its kept indices (all for a dense one)."""
    if site.kind == "dense":
        return np.maximum(z, 0)
    h = z.reshape(len(z), -1).copy()
    h[:, site.indices] = np.maximum(h[:, site.indices], 0)
    return h.reshape(z.shape)


def folded_forward(net: Network, x: np.ndarray) -> np.ndarray:
    """The network as pi-measure built it, in float64 numpy: folded weights, ReLU on each site's
    kept indices (all positions for a dense site)."""
    w = {k: v.astype(np.float64) for k, v in net.weights.items()}
    sites = {s.name: s for s in net.sites}

    def lin(name: str, a: np.ndarray, stride: int, pad: int) -> np.ndarray:
        return conv(a, w[name + ".w"], stride, pad) + w[name + ".b"][None, :, None, None]

    def site(z: np.ndarray, name: str) -> np.ndarray:
        return kept_relu(sites[name], z)

    a = site(lin("conv1", x, 1, 1), "relu0")
    for b in net.blocks:
        a1 = site(lin(b.name + ".conv1", a, b.stride, 1), b.name + ".relu1")
        sc = lin(b.name + ".shortcut.0", a, b.stride, 0) if b.projection else a
        a = site(lin(b.name + ".conv2", a1, 1, 1) + sc, b.name + ".relu2")
    return a.mean(axis=(2, 3)) @ w["fc.w"].T + w["fc.b"]


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max()))


def test_folded_network_and_index_lists_match_the_unfolded_reference(tiny: Tiny) -> None:
    net = Network(read_checkpoint(tiny.checkpoint), tiny.masks)
    assert [s.kind for s in net.sites] == ["dense", "none"] + ["compact"] * 15
    kept = sum(int(m.sum()) for n, m in tiny.tensors.items() if n.endswith(".mask"))
    assert net.relu_count("compact") == kept
    assert net.relu_count("where") == sum(s.size for s in net.sites)
    keep = net.public_params("where")
    assert sorted(keep) == sorted(s.name + ".keep" for s in net.sites[1:])
    assert all((keep[n + ".keep"] == tiny.tensors[n + ".mask"].astype(bool)).all()
               for n in (s.name for s in net.sites[1:]))
    x = np.random.default_rng(1).standard_normal((2, 1, 32, 32))
    ref = reference(tiny.tensors, tiny.config, x)
    assert rel_err(folded_forward(net, x), ref) < 1e-5  # the folded weights are float32


def test_jax_steps_match_the_unfolded_reference(tiny: Tiny) -> None:
    pytest.importorskip("jax")
    net = Network(read_checkpoint(tiny.checkpoint), tiny.masks)
    x = np.random.default_rng(1).standard_normal((1, 1, 32, 32)).astype(np.float32)
    ref = reference(tiny.tensors, tiny.config, x.astype(np.float64))
    for variant in ("compact", "where"):
        params = {**net.weights, **net.public_params(variant)}
        got = plain_forward(net.steps(variant), params)(x)
        assert rel_err(got, ref) < 1e-5, variant


@pytest.mark.skipif(not (os.environ.get("SENET_BIN") and os.path.isdir(FMNIST)),
                    reason="needs $SENET_BIN (the senet binary) and Fashion-MNIST")
def test_matches_senet_eval_on_test_images(tiny: Tiny, tool_env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("jax")
    senet = os.environ["SENET_BIN"]
    out = tmp_path / "logits.jsonl"
    r = subprocess.run([senet, "eval", "--checkpoint", str(tiny.checkpoint), "--limit", "4",
                        "--dump-logits", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["index"] for row in rows] == [0, 1, 2, 3]
    # The tool's own check (tolerance 1e-4·max(1, max|logit|)) passes, via the CLI.
    r = subprocess.run([sys.executable, "-m", "senet_pi", "--checkpoint", str(tiny.checkpoint),
                        "--masks", str(tiny.masks), "--images", "4", "--plaintext-only",
                        "--senet", senet], capture_output=True, text=True, env=tool_env)
    assert r.returncode == 0, r.stderr
    assert "match `senet eval`" in r.stdout
    # …and it is a real check: a model the engine does not compute fails it.
    t = dict(tiny.tensors)
    t["fc.bias"] = t["fc.bias"] + np.float32(1.0)
    other = tmp_path / "other.safetensors"
    write_checkpoint(other, t, {"config": json.dumps(tiny.config)})
    r = subprocess.run([sys.executable, "-m", "senet_pi", "--checkpoint", str(other), "--masks",
                        str(tiny.masks), "--images", "2", "--plaintext-only", "--reference-logits",
                        str(out)], capture_output=True, text=True, env=tool_env)
    assert r.returncode == 1
    assert "differ from `senet eval`" in r.stderr
