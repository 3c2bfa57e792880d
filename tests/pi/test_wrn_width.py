"""tests/pi/test_wrn_width.py — the models beyond the plain ResNet: a pre-activation WRN (BN kept as
an affine step where it cannot fold into a conv, the shortcut fed by the block's first BN-ReLU,
the final BN-ReLU site), a width-switchable ResNet at each width factor (its own BN set, its
sliced masks), and per-channel masks (whole planes by slices): layout, MACs and folded weights
against independent unfolded float64 references (numpy), the JAX steps against the same
references, the CLI's check against `senet eval` (with JAX, $SENET_BIN and Fashion-MNIST), and the
errors for checkpoints the tool cannot map (naming the tensor and the reason)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import SWITCH_CONFIG, WRN_CONFIG, Tiny, make_tiny
from senet_pi import PiError, cli
from senet_pi.checkpoint import read_checkpoint, write_checkpoint
from senet_pi.data import load_test_images
from senet_pi.network import Network, bn_set_name, channel_runs, model_layout, plain_forward
from test_plaintext import FMNIST, conv, kept_relu, rel_err

CHANNEL_SITES = ("layer1.1.relu1", "layer2.0.relu2", "layer3.1.relu2")


def bn(f: dict[str, np.ndarray], z: np.ndarray, n: str) -> np.ndarray:
    s = f[n + ".weight"] / np.sqrt(f[n + ".running_var"] + 1e-5)
    return (z - f[n + ".running_mean"][None, :, None, None]) * s[None, :, None, None] + \
        f[n + ".bias"][None, :, None, None]


def act(t: dict[str, np.ndarray], z: np.ndarray, site: str) -> np.ndarray:
    """Masked ReLU with the checkpoint's mask (per position, or per channel), sliced to z's channels."""
    m = t[site + ".mask"].astype(bool)[:z.shape[1]]
    m = m[:, None, None] if m.ndim == 1 else m
    return np.where(m[None], np.maximum(z, 0), z)


def wrn_reference(t: dict[str, np.ndarray], cfg: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Pre-activation WRN as models/wide_resnet.cpp computes it, unfolded, float64."""
    f = {k: v.astype(np.float64) for k, v in t.items()}
    h = conv(x, f["conv1.weight"], 1, 1)
    for b in model_layout(cfg).blocks:
        n = b.name
        a = act(t, bn(f, h, n + ".bn1"), n + ".relu1")
        z = act(t, bn(f, conv(a, f[n + ".conv1.weight"], b.stride, 1), n + ".bn2"), n + ".relu2")
        h = conv(z, f[n + ".conv2.weight"], 1, 1) + (
            conv(a, f[n + ".shortcut.weight"], b.stride, 0) if b.projection else h)
    a = act(t, bn(f, h, "bn"), "relu")
    return a.mean(axis=(2, 3)) @ f["fc.weight"].T + f["fc.bias"]


def resnet_reference(t: dict[str, np.ndarray], cfg: dict[str, Any], x: np.ndarray,
                     percent: int = 100) -> np.ndarray:
    """ResNet at width factor percent/100 as models/resnet.cpp computes it: W[:⌊pK⌋, :⌊pC⌋], the
    factor's BN set, masks sliced to the first ⌊pC⌋ channels; unfolded, float64."""
    f = {k: v.astype(np.float64) for k, v in t.items()}

    def at(c: int) -> int:
        return c * percent // 100

    def cv(a: np.ndarray, name: str, stride: int, pad: int) -> np.ndarray:
        w = f[name + ".weight"]
        return conv(a, w[:at(w.shape[0]), :a.shape[1]], stride, pad)

    def b_(z: np.ndarray, n: str) -> np.ndarray:
        return bn(f, z, bn_set_name(n, percent))

    a = act(t, b_(cv(x, "conv1", 1, 1), "bn1"), "relu0")
    for b in model_layout(cfg).blocks:
        n = b.name
        a1 = act(t, b_(cv(a, n + ".conv1", b.stride, 1), n + ".bn1"), n + ".relu1")
        sc = b_(cv(a, n + ".shortcut.0", b.stride, 0), n + ".shortcut.1") if b.projection else a
        a = act(t, b_(cv(a1, n + ".conv2", 1, 1), n + ".bn2") + sc, n + ".relu2")
    return a.mean(axis=(2, 3)) @ f["fc.weight"][:, :a.shape[1]].T + f["fc.bias"]


@pytest.fixture
def wrn(tmp_path: Path) -> Tiny:
    return make_tiny(tmp_path, config=WRN_CONFIG, name="wrn")


@pytest.fixture
def switch(tmp_path: Path) -> Tiny:
    return make_tiny(tmp_path, config=SWITCH_CONFIG, keep=0.2, name="switch")


@pytest.fixture
def channel(tmp_path: Path) -> Tiny:
    return make_tiny(tmp_path, keep=0.5, channel_sites=CHANNEL_SITES, name="channel")


def x_batch(n: int = 2) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((n, 1, 32, 32))


# ------------------------------------------------------------------ numpy: layout, MACs, folding

def test_wrn_layout_macs_and_where_bn_folds(wrn: Tiny) -> None:
    net = Network(read_checkpoint(wrn.checkpoint), wrn.masks)
    L = net.layout
    assert [s.name for s in L.sites] == [f"group{g}.{b}.relu{r}" for g in (1, 2, 3) for b in (0, 1)
                                         for r in (1, 2)] + ["relu"]
    # stem 4 channels, groups 8/16/32 (16·2·¼ = 8), 32×32 → 32, 16, 8
    assert [(s.channels, s.size) for s in L.sites[:4]] == [(4, 32), (8, 32), (8, 32), (8, 32)]
    assert (L.sites[-1].channels, L.sites[-1].size) == (32, 8)
    macs = 4 * 1 * 9 * 32 * 32                                                # stem
    for cin, cout, P, proj in ((4, 8, 32, True), (8, 8, 32, False), (8, 16, 16, True),
                               (16, 16, 16, False), (16, 32, 8, True), (32, 32, 8, False)):
        macs += cout * cin * 9 * P * P + cout * cout * 9 * P * P + (cout * cin * P * P if proj else 0)
    assert net.macs == macs + 32 * 10
    # group1.0's input is the stem's output alone (projection shortcut): its bn1 folds into the
    # stem; every other BN before a site reads an identity block's output: an affine step.
    affine = sorted(k[:-2] for k in net.weights if k.endswith(".s"))
    assert affine == sorted(["group1.1.bn1", "group2.0.bn1", "group2.1.bn1", "group3.0.bn1",
                             "group3.1.bn1", "bn"])
    assert "group1.0.bn1.s" not in net.weights
    # the stem with the folded BN: W·s, b = t
    f = {k: v.astype(np.float64) for k, v in wrn.tensors.items()}
    s = f["group1.0.bn1.weight"] / np.sqrt(f["group1.0.bn1.running_var"] + 1e-5)
    np.testing.assert_allclose(net.weights["conv1.w"], f["conv1.weight"] * s[:, None, None, None],
                               rtol=1e-6)
    np.testing.assert_allclose(net.weights["conv1.b"], f["group1.0.bn1.bias"] -
                               f["group1.0.bn1.running_mean"] * s, rtol=1e-6, atol=1e-7)


def test_width_switch_slices_weights_bn_sets_and_masks(switch: Tiny) -> None:
    ckpt = read_checkpoint(switch.checkpoint)
    full, half = Network(ckpt, switch.masks, 1.0), Network(ckpt, switch.masks, 0.5)
    assert [s.shape for s in half.sites][:2] == [(2, 32, 32), (2, 32, 32)]
    assert half.sites[-1].shape == (16, 4, 4)
    assert half.weights["conv1.w"].shape == (2, 1, 3, 3)
    assert half.weights["layer2.0.conv1.w"].shape == (4, 2, 3, 3)
    assert half.weights["fc.w"].shape == (10, 16)
    # layer1.0.conv1 at 0.5 folds the w050 BN set, not the full set's first channels
    f = {k: v.astype(np.float64) for k, v in switch.tensors.items()}
    n = "layer1.0.bn1.w050"
    s = f[n + ".weight"] / np.sqrt(f[n + ".running_var"] + 1e-5)
    np.testing.assert_allclose(half.weights["layer1.0.conv1.w"],
                               f["layer1.0.conv1.weight"][:2, :2] * s[:, None, None, None], rtol=1e-6)
    # each site keeps the kept positions of its first ⌊C/2⌋ channels
    for sf, sh in zip(full.sites, half.sites):
        m = switch.tensors[sf.name + ".mask"][:sh.shape[0]]
        assert sh.kept == (sh.size if sh.kind == "dense" else int(m.sum())), sf.name
        assert (sh.indices < sh.size).all()
    assert half.relu_count("compact") < full.relu_count("compact")
    # MACs as the engine counts them at 0.5: 2/4/8/16 channels
    macs, cin, H = 2 * 1 * 9 * 32 * 32, 2, 32
    for cout, stride in ((2, 1), (2, 1), (4, 2), (4, 1), (8, 2), (8, 1), (16, 2), (16, 1)):
        P = H // stride
        macs += cout * cin * 9 * P * P + cout * cout * 9 * P * P + (cout * cin * P * P if cin != cout or stride != 1 else 0)
        cin, H = cout, P
    assert half.macs == macs + 16 * 10


def test_channel_masks_evaluate_whole_planes(channel: Tiny) -> None:
    net = Network(read_checkpoint(channel.checkpoint), channel.masks)
    sites = {s.name: s for s in net.sites}
    for n in CHANNEL_SITES:
        s = sites[n]
        assert s.kind == "channel", n
        m = channel.tensors[n + ".mask"]
        np.testing.assert_array_equal(s.channels, np.flatnonzero(m))
        H = s.shape[1]
        np.testing.assert_array_equal(s.indices, (s.channels[:, None] * H * H +
                                                  np.arange(H * H)[None]).reshape(-1))
    assert channel_runs(np.array([0, 1, 4, 7]), 8) == [(0, 2, True), (2, 4, False), (4, 5, True),
                                                       (5, 7, False), (7, 8, True)]
    assert channel_runs(np.array([0, 1]), 2) == [(0, 2, True)]


# ------------------------------------------------------------------ errors naming the tensor

def edited(t: Tiny, tmp_path: Path, name: str, drop: str = "", reshape: str = "",
           cfg: dict[str, Any] | None = None) -> Path:
    tensors = {k: v for k, v in t.tensors.items() if k != drop}
    if reshape:
        tensors[reshape] = np.concatenate([tensors[reshape], tensors[reshape][:1]])
    p = tmp_path / f"{name}.safetensors"
    write_checkpoint(p, tensors, {"config": json.dumps(cfg or t.config)})
    return p


def test_unmappable_checkpoints_name_the_tensor_and_the_reason(wrn: Tiny, switch: Tiny,
                                                               tmp_path: Path) -> None:
    cases = [
        (edited(wrn, tmp_path, "a", drop="group2.0.shortcut.weight"), 1.0,
         ("'group2.0.shortcut.weight'", "has no tensor", "different architecture or width")),
        (edited(wrn, tmp_path, "b", reshape="group1.1.bn1.running_var"), 1.0,
         ("'group1.1.bn1.running_var'", "has shape [9]", "expects [8]")),
        (edited(switch, tmp_path, "c", drop="layer1.0.bn1.w050.weight"), 0.5,
         ("'layer1.0.bn1.w050.weight'", "has no tensor")),
        (switch.checkpoint, 0.3, ("width factor 0.30 is not one of the model's factors [0.5, 1.0]",)),
        (edited(wrn, tmp_path, "d", cfg={**WRN_CONFIG, "model": {**WRN_CONFIG["model"], "arch": "vgg"}}),
         1.0, ("model.arch 'vgg' is not supported",)),
    ]
    for path, width, fragments in cases:
        with pytest.raises(PiError) as e:
            Network(read_checkpoint(path), None, width)
        for frag in (f"checkpoint '{path}'",) + fragments:
            assert frag in str(e.value), (path, str(e.value))
    t = dict(wrn.tensors)
    t["bn.running_var"] = -t["bn.running_var"]
    p = tmp_path / "negvar.safetensors"
    write_checkpoint(p, t, {"config": json.dumps(wrn.config)})
    with pytest.raises(PiError, match="'bn.running_var' has negative entries"):
        Network(read_checkpoint(p))


# ------------------------------------------------------------------ numpy folded vs unfolded

def folded_numpy(net: Network, x: np.ndarray) -> np.ndarray:
    """The WRN as built here, float64 numpy: folded weights, affine steps, kept-index ReLUs."""
    w = {k: v.astype(np.float64) for k, v in net.weights.items()}
    sites = {s.name: s for s in net.sites}

    def site(z: np.ndarray, name: str) -> np.ndarray:
        return kept_relu(sites[name], z)

    def affine(z: np.ndarray, n: str) -> np.ndarray:
        if n + ".s" not in w:
            return z
        return z * w[n + ".s"][None, :, None, None] + w[n + ".t"][None, :, None, None]

    def lin(name: str, a: np.ndarray, stride: int, pad: int) -> np.ndarray:
        return conv(a, w[name + ".w"], stride, pad) + w[name + ".b"][None, :, None, None]

    h = lin("conv1", x, 1, 1)
    for b in net.blocks:
        n = b.name
        a = site(affine(h, n + ".bn1"), n + ".relu1")
        z = site(lin(n + ".conv1", a, b.stride, 1), n + ".relu2")
        h = lin(n + ".conv2", z, 1, 1) + (conv(a, w[n + ".shortcut.w"], b.stride, 0) if b.projection else h)
    a = site(affine(h, "bn"), "relu")
    return a.mean(axis=(2, 3)) @ w["fc.w"].T + w["fc.b"]


def test_wrn_folded_network_matches_the_unfolded_reference(wrn: Tiny) -> None:
    net = Network(read_checkpoint(wrn.checkpoint), wrn.masks)
    assert [s.kind for s in net.sites[:2]] == ["dense", "none"]
    x = x_batch()
    assert rel_err(folded_numpy(net, x), wrn_reference(wrn.tensors, wrn.config, x)) < 1e-5


# ------------------------------------------------------------------ JAX steps

def test_jax_steps_match_the_references(wrn: Tiny, switch: Tiny, channel: Tiny) -> None:
    pytest.importorskip("jax")
    x = x_batch(1).astype(np.float32)
    x64 = x.astype(np.float64)
    # (element differs from compact only where a mask is per channel)
    cases = [(wrn, 1.0, wrn_reference(wrn.tensors, wrn.config, x64), ("compact", "where")),
             (switch, 0.5, resnet_reference(switch.tensors, switch.config, x64, 50), ("compact", "where")),
             (channel, 1.0, resnet_reference(channel.tensors, channel.config, x64),
              ("compact", "element", "where"))]
    for t, width, ref, variants in cases:
        net = Network(read_checkpoint(t.checkpoint), t.masks, width)
        for variant in variants:
            steps = net.steps(variant)
            got = plain_forward(steps, {**net.weights, **net.public_params(variant)})(x)
            assert rel_err(got, ref) < 1e-5, (t.checkpoint.name, width, variant)
            hows = {st.how for st in steps}
            # the steps evaluate the ReLUs the variant counts; `where` selects over every position
            # of every partial site (one that keeps nothing included), like the engine's mask
            assert sum(st.relus for st in steps) == net.relu_count(variant)
            if variant == "where":
                assert all(st.how == "where" for st in steps if st.site and st.site.partial)
            if t is channel:
                assert ("channel" in hows) == (variant == "compact"), variant
            if t is wrn:
                assert "affine" in hows
        # a site that keeps nothing is the identity: no ReLU step work
        assert any(st.how == "none" and st.relus == 0 for st in net.steps("compact"))


@pytest.mark.skipif(not (os.environ.get("SENET_BIN") and os.path.isdir(FMNIST)),
                    reason="needs $SENET_BIN (the senet binary) and Fashion-MNIST")
def test_wrn_and_every_width_match_senet_eval(wrn: Tiny, switch: Tiny,
                                             tool_env: dict[str, str]) -> None:
    pytest.importorskip("jax")
    senet = os.environ["SENET_BIN"]
    # The WRN, in process: its logits on 2 test images against `senet eval --dump-logits`.
    a = cli.parse_args(["--checkpoint", str(wrn.checkpoint), "--images", "2", "--senet", senet])
    net = Network(read_checkpoint(wrn.checkpoint), wrn.masks)
    images = load_test_images(wrn.config, 0, 2)
    refs = cli.reference_logits(a, str(wrn.checkpoint), 0, 2)
    assert cli.plaintext_check("wrn", str(wrn.checkpoint), plain_forward(net.steps(), net.weights),
                               images, refs) < 1e-4
    # The width-switchable ResNet through the command line at every width: logits at 1, the
    # loss/accuracy/ReLUs of `senet eval`'s "at width" line at 0.5.
    r = subprocess.run([sys.executable, "-m", "senet_pi", "--checkpoint", str(switch.checkpoint),
                        "--masks", str(switch.masks), "--images", "2", "--plaintext-only",
                        "--variants", "compact", "--senet", senet, "--width", "all"],
                       capture_output=True, text=True, env=tool_env)
    assert r.returncode == 0, r.stderr
    assert "switch@0.50 [compact]: 32 test images: mean CE" in r.stdout, r.stdout
    assert "switch@1.00 [compact]: 2 image(s) match `senet eval`" in r.stdout, r.stdout
    # …and the width check is a real one: a network at 0.5 that uses the full BN set's first
    # channels instead of the w050 set (the likeliest wrong mapping) fails it.
    tt = dict(switch.tensors)
    for k in [k for k in tt if ".w050." in k]:
        tt[k] = tt[k.replace(".w050", "")][:tt[k].size].copy()
    bad = switch.checkpoint.parent / "full_set.safetensors"
    write_checkpoint(bad, tt, {"config": json.dumps(switch.config)})
    net = Network(read_checkpoint(bad), None, 0.5)
    a = cli.parse_args(["--checkpoint", str(switch.checkpoint), "--images", "1", "--senet", senet])
    spec = cli.ModelSpec("switch@0.50", str(switch.checkpoint), None, 0.5)
    with pytest.raises(PiError, match="at width 0.5: the network built here is not the engine's"):
        cli.width_check(a, spec, net, plain_forward(net.steps(), net.weights))


def test_a_width_the_model_lacks_is_refused(switch: Tiny, tool_env: dict[str, str]) -> None:
    r = subprocess.run([sys.executable, "-m", "senet_pi", "--checkpoint", str(switch.checkpoint),
                        "--images", "1", "--plaintext-only", "--width", "0.25"],
                       capture_output=True, text=True, env=tool_env)
    assert r.returncode == 1
    assert f"--width 0.25: '{switch.checkpoint}' has the width factors 0.5, 1" in r.stderr
