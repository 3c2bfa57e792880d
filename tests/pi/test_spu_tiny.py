"""tests/pi/test_spu_tiny.py — tiny SPU runs (seconds): a compacted site's traffic grows with its
kept count (linearly, at a constant message count) while the public-mask `where` site costs as much
as a dense one; results match plaintext; the tiny networks' 2PC predictions match plaintext (the
ResNet, a WRN with affine BN steps, a width-switchable ResNet at 0.5); a site that keeps nothing
has no traffic and no rounds; a per-channel mask by slices costs the bytes and rounds of the
per-element gather layout at the same ReLU count.
Needs the venv of tools/pi/setup_pi.sh (JAX, SPU); skipped without it."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("spu")

from conftest import SWITCH_CONFIG, WRN_CONFIG, Tiny, make_tiny  # noqa: E402
from senet_pi.checkpoint import read_checkpoint  # noqa: E402
from senet_pi.network import Network, Site, Step, plain_forward, site_fn  # noqa: E402
from senet_pi.records import Traffic  # noqa: E402
from senet_pi.spu_run import measure  # noqa: E402

SHAPE = (4, 16, 16)  # 1,024 positions


def one_site(kept: int, how: str, rng: np.random.Generator) -> tuple[list[Step], dict[str, np.ndarray]]:
    """A one-step network: site s keeping `kept` random positions, evaluated `how`; its public inputs."""
    size = int(np.prod(SHAPE))
    idx = np.sort(rng.choice(size, kept, replace=False)).astype(np.int64)
    s = Site("s", SHAPE, True, np.zeros(SHAPE, np.uint8), "compact", idx)
    sf = site_fn(s, how)
    pub = {}
    if how == "where":
        m = np.zeros(size, np.bool_)
        m[idx] = True
        pub["s.keep"] = m.reshape(SHAPE)
    return [Step("s", "relu", ("x",), sf.params, "a:s", sf.fn, s, kept, how)], pub


def test_compacted_site_bytes_scale_with_kept_count() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2,) + SHAPE).astype(np.float32)
    cost = {}
    for how, kept in (("compact", 16), ("compact", 64), ("compact", 256), ("where", 16), ("dense", 1024)):
        steps, pub = one_site(kept, how, rng)
        got = measure(steps, pub, list(x), "semi2k", public_names=set(pub))
        plain = plain_forward(steps, pub)
        for i in range(len(x)):
            ref = plain(x[i:i + 1]).reshape(-1)
            assert np.abs(got.logits[i] - ref).max() < 1e-3, (how, kept)
            # positions outside the mask pass through unchanged, kept ones are max(x, 0)
            if how != "dense":
                keep = np.zeros(ref.size, bool)
                keep[steps[0].site.indices] = True
                np.testing.assert_allclose(got.logits[i][~keep], x[i].reshape(-1)[~keep], atol=1e-3)
        t = got.costs[-1][0].traffic  # a later run
        cost[(how, kept)] = (t.bytes, t.msgs)
    b16, b64, b256 = (cost[("compact", k)][0] for k in (16, 64, 256))
    assert b16 > 0
    # linear in k: equal bytes per kept ReLU (within 5 %), and a constant message count
    for k, b in ((64, b64), (256, b256)):
        assert b / k == pytest.approx(b16 / 16, rel=0.05)
    assert cost[("compact", 16)][1] == cost[("compact", 256)][1]
    # the naive public-mask where costs what the dense site costs, ~64× the compacted one
    assert cost[("where", 16)][0] == cost[("dense", 1024)][0]
    assert cost[("where", 16)][0] > 30 * b16


def test_tiny_network_2pc_matches_plaintext(tiny_factory: Callable[..., Tiny]) -> None:
    tiny = tiny_factory(keep=0.02)
    net = Network(read_checkpoint(tiny.checkpoint), tiny.masks)
    steps = net.steps("compact")
    x = np.random.default_rng(2).standard_normal((1, 1, 32, 32)).astype(np.float32) * 0.3
    got = measure(steps, net.weights, list(x), "semi2k")
    ref = plain_forward(steps, net.weights)(x).reshape(-1)
    assert int(np.argmax(got.logits[0])) == int(np.argmax(ref))
    assert np.abs(got.logits[0] - ref).max() < 1e-2 * max(1.0, np.abs(ref).max())
    by = {c.step: c.traffic for c in got.costs[0]}
    assert by["layer1.0.relu1"].send_bytes == 0  # keeps nothing: no traffic
    # every compacted site: its bytes per kept ReLU equal the smallest site's (linear in k)
    per = [by[s.name].send_bytes / s.kept for s in net.sites if s.kind == "compact"]
    assert max(per) / min(per) < 1.05


def run_2pc(net: Network, variant: str, x: np.ndarray) -> tuple[dict[str, Traffic], np.ndarray, np.ndarray]:
    """One image under SEMI2K: per-step traffic, the 2PC logits and the plaintext logits."""
    steps = net.steps(variant)
    params = {**net.weights, **net.public_params(variant)}
    got = measure(steps, params, [x[0]], "semi2k", public_names=set(net.public_params(variant)))
    ref = plain_forward(steps, params)(x).reshape(-1)
    return {c.step: c.traffic for c in got.costs[0]}, got.logits[0], ref


def close(got: np.ndarray, ref: np.ndarray) -> bool:
    return int(np.argmax(got)) == int(np.argmax(ref)) and \
        float(np.abs(got - ref).max()) < 1e-2 * max(1.0, float(np.abs(ref).max()))


def test_tiny_wrn_and_width_switch_2pc_match_plaintext(tmp_path: Path) -> None:
    x = np.random.default_rng(2).standard_normal((1, 1, 32, 32)).astype(np.float32) * 0.3
    wrn = make_tiny(tmp_path, config=WRN_CONFIG, keep=0.02, name="wrn")
    net = Network(read_checkpoint(wrn.checkpoint), wrn.masks)
    by, got, ref = run_2pc(net, "compact", x)
    assert close(got, ref)
    # the second site keeps nothing: identity, no bytes, no rounds
    assert by["group1.0.relu2"].bytes == 0 and by["group1.0.relu2"].rounds == 0
    # a BN kept as an affine step with a secret scale is a secret product: it communicates
    assert by["group1.1.bn1"].bytes > 0 and by["group1.1.bn1"].rounds > 0
    assert by["relu"].rounds == by["group2.0.relu2"].rounds > 0   # a ReLU's rounds: not its size
    # SEMI2K exchanges are symmetric: sent = received, rounds = messages per direction
    assert all(t.send_msgs == t.recv_msgs == t.rounds for t in by.values())

    switch = make_tiny(tmp_path, config=SWITCH_CONFIG, keep=0.1, name="switch")
    ckpt = read_checkpoint(switch.checkpoint)
    half = Network(ckpt, switch.masks, 0.5)
    by, got, ref = run_2pc(half, "compact", x)
    assert close(got, ref)
    per = [by[s.name].bytes / s.kept for s in half.sites if s.kind == "compact"]
    assert max(per) / min(per) < 1.05     # linear in the kept count at this width too


def test_channel_layout_costs_the_bytes_and_rounds_of_the_element_layout() -> None:
    # A per-channel mask keeping channels 0-2 and 5 of 8 (runs: 3 kept, 2 not, 1 kept, 2 not),
    # evaluated by channel slices and by the per-element gather: 4·64 = 256 ReLUs each.
    C, H = 8, 8
    kept = np.array([0, 1, 2, 5], np.int64)
    idx = (kept[:, None] * H * H + np.arange(H * H)[None]).reshape(-1)
    mask = np.zeros(C, np.uint8)
    mask[kept] = 1
    s = Site("s", (C, H, H), True, mask, "channel", idx, kept)
    x = np.random.default_rng(3).standard_normal((1, C, H, H)).astype(np.float32)
    want = x[0].copy()
    want[kept] = np.maximum(want[kept], 0)
    cost = {}
    for how in ("channel", "compact"):
        sf = site_fn(s, how)
        steps = [Step("s", "relu", ("x",), sf.params, "a:s", sf.fn, s, idx.size, how)]
        got = measure(steps, {}, [x[0]], "semi2k")
        np.testing.assert_allclose(got.logits[0], want.reshape(-1), atol=1e-3)
        t = got.costs[0][0].traffic
        cost[how] = (t.bytes, t.rounds)
    # the same ReLU count: the same comparison traffic and rounds; the layouts differ in local work
    assert cost["channel"] == cost["compact"] and cost["channel"][0] > 0
