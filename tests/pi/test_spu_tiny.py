"""tests/pi/test_spu_tiny.py — tiny SPU runs (seconds): a compacted site's traffic grows with its
kept count (linearly, at a constant message count) while the public-mask `where` site costs as much
as a dense one; results match plaintext; the tiny network's 2PC prediction matches plaintext."""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import make_tiny  # noqa: E402

from senet_pi.checkpoint import read_checkpoint  # noqa: E402
from senet_pi.network import Network, Site, Step, plain_forward, site_fn  # noqa: E402
from senet_pi.spu_run import measure  # noqa: E402

SHAPE = (4, 16, 16)  # 1,024 positions


def one_site(kept, how, rng):
    size = int(np.prod(SHAPE))
    idx = np.sort(rng.choice(size, kept, replace=False)).astype(np.int64)
    s = Site("s", SHAPE, True, np.zeros(SHAPE, np.uint8), "compact", idx)
    fn, params = site_fn(s, how)
    pub = {}
    if how == "where":
        m = np.zeros(size, np.bool_)
        m[idx] = True
        pub["s.keep"] = m.reshape(SHAPE)
    return [Step("s", "relu", ["x"], params, "a:s", fn, s, kept, how)], pub


class SpuTiny(unittest.TestCase):
    def test_compacted_site_bytes_scale_with_kept_count(self):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2,) + SHAPE).astype(np.float32)
        cost = {}
        for how, kept in (("compact", 16), ("compact", 64), ("compact", 256), ("where", 16),
                          ("dense", 1024)):
            steps, pub = one_site(kept, how, rng)
            records, outs = measure(steps, pub, list(x), "semi2k", set(pub))
            plain = plain_forward(steps, pub)
            for i in range(len(x)):
                ref = plain(x[i:i + 1]).reshape(-1)
                self.assertLess(np.abs(outs[i] - ref).max(), 1e-3, (how, kept))
                # positions outside the mask pass through unchanged, kept ones are max(x, 0)
                if how != "dense":
                    keep = np.zeros(ref.size, bool)
                    keep[steps[0].site.indices] = True
                    np.testing.assert_allclose(outs[i][~keep], x[i].reshape(-1)[~keep], atol=1e-3)
            r = records[-1][0]  # a later run
            cost[(how, kept)] = (r["send_bytes"] + r["recv_bytes"], r["send_msgs"] + r["recv_msgs"])
        b16, b64, b256 = (cost[("compact", k)][0] for k in (16, 64, 256))
        self.assertGreater(b16, 0)
        # linear in k: equal bytes per kept ReLU (within 5 %), and a constant message count
        for k, b in ((64, b64), (256, b256)):
            self.assertAlmostEqual(b / k, b16 / 16, delta=0.05 * b16 / 16)
        self.assertEqual(cost[("compact", 16)][1], cost[("compact", 256)][1])
        # the naive public-mask where costs what the dense site costs, ~64× the compacted one
        self.assertEqual(cost[("where", 16)][0], cost[("dense", 1024)][0])
        self.assertGreater(cost[("where", 16)][0], 30 * b16)

    def test_tiny_network_2pc_matches_plaintext(self):
        with tempfile.TemporaryDirectory() as d:
            ckpt, masks, _, _ = make_tiny(d, keep=0.02)
            net = Network(read_checkpoint(ckpt), masks)
            steps = net.steps("compact")
            x = np.random.default_rng(2).standard_normal((1, 1, 32, 32)).astype(np.float32) * 0.3
            records, outs = measure(steps, net.weights, list(x), "semi2k")
            ref = plain_forward(steps, net.weights)(x).reshape(-1)
            self.assertEqual(int(np.argmax(outs[0])), int(np.argmax(ref)))
            self.assertLess(np.abs(outs[0] - ref).max(), 1e-2 * max(1.0, np.abs(ref).max()))
            by = {r["step"]: r for r in records[0]}
            self.assertEqual(by["layer1.0.relu1"]["send_bytes"], 0)  # keeps nothing: no traffic
            # every compacted site: its bytes per kept ReLU equal the smallest site's (linear in k)
            per = [by[s.name]["send_bytes"] / s.kept for s in net.sites if s.kind == "compact"]
            self.assertLess(max(per) / min(per), 1.05)


if __name__ == "__main__":
    unittest.main()
