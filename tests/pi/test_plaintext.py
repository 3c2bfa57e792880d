"""tests/pi/test_plaintext.py — the network pi-measure builds (BN folded, compacted sites) computes
what the engine computes: against an independent unfolded float64 reference, and against
`senet eval --dump-logits` on real test images (when $SENET_BIN and Fashion-MNIST are present)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import make_tiny  # noqa: E402

from senet_pi.checkpoint import read_checkpoint  # noqa: E402
from senet_pi.network import Network, plain_forward, resnet_sites  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "tools", "pi", "pi_measure.py")
FMNIST = "/usr/share/datasets/fashion-mnist"


def conv(x, w, stride, pad):
    """Direct NCHW convolution in float64 (no JAX)."""
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


def reference(t, cfg, x):
    """conv → BN(eval) → masked ReLU (y = m ? max(z,0) : z), unfolded, float64."""
    layout, blocks, _ = resnet_sites(cfg)
    f = {k: v.astype(np.float64) for k, v in t.items()}

    def bn(z, n):
        s = f[n + ".weight"] / np.sqrt(f[n + ".running_var"] + 1e-5)
        return (z - f[n + ".running_mean"][None, :, None, None]) * s[None, :, None, None] + \
            f[n + ".bias"][None, :, None, None]

    def act(z, site):
        m = t[site + ".mask"].astype(bool)[None]
        return np.where(m, np.maximum(z, 0), z)

    a = act(bn(conv(x, f["conv1.weight"], 1, 1), "bn1"), "relu0")
    for name, cin, cout, stride, _ in blocks:
        a1 = act(bn(conv(a, f[name + ".conv1.weight"], stride, 1), name + ".bn1"), name + ".relu1")
        sc = a
        if stride != 1 or cin != cout:
            sc = bn(conv(a, f[name + ".shortcut.0.weight"], stride, 0), name + ".shortcut.1")
        a = act(bn(conv(a1, f[name + ".conv2.weight"], 1, 1), name + ".bn2") + sc, name + ".relu2")
    return a.mean(axis=(2, 3)) @ f["fc.weight"].T + f["fc.bias"]


class PlaintextEquivalence(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ckpt, self.masks, self.t, self.export = make_tiny(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_folded_compacted_network_matches_unfolded_reference(self):
        from tiny import CONFIG
        net = Network(read_checkpoint(self.ckpt), self.masks)
        kinds = [s.kind for s in net.sites]
        self.assertEqual(kinds[0], "dense")
        self.assertEqual(kinds[1], "none")
        self.assertTrue(all(k == "compact" for k in kinds[2:]))
        self.assertEqual(net.relu_count("compact"),
                         sum(int(m.sum()) for n, m in self.t.items() if n.endswith(".mask")))
        x = np.random.default_rng(1).standard_normal((1, 1, 32, 32)).astype(np.float32)
        ref = reference(self.t, CONFIG, x.astype(np.float64))
        for variant in ("compact", "where"):
            params = dict(net.weights)
            params.update(net.public_params(variant))
            got = plain_forward(net.steps(variant), params)(x)
            err = np.abs(got - ref).max() / max(1.0, np.abs(ref).max())
            self.assertLess(err, 1e-5, variant)

    @unittest.skipUnless(os.environ.get("SENET_BIN") and os.path.isdir(FMNIST),
                         "needs $SENET_BIN (the senet binary) and Fashion-MNIST")
    def test_matches_senet_eval_on_test_images(self):
        out = os.path.join(self.tmp.name, "logits.jsonl")
        r = subprocess.run([os.environ["SENET_BIN"], "eval", "--checkpoint", self.ckpt, "--limit", "4",
                            "--dump-logits", out], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual([row["index"] for row in rows], [0, 1, 2, 3])
        # The tool's own check (tolerance 1e-4·max(1, max|logit|)) passes, via the CLI.
        r = subprocess.run([sys.executable, TOOL, "--checkpoint", self.ckpt, "--masks", self.masks,
                            "--images", "4", "--plaintext-only", "--senet", os.environ["SENET_BIN"]],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("match `senet eval`", r.stdout)
        # …and it is a real check: a model the engine does not compute fails it.
        t = dict(self.t)
        t["fc.bias"] = t["fc.bias"] + np.float32(1.0)
        from senet_pi.checkpoint import write_checkpoint
        from tiny import CONFIG
        other = os.path.join(self.tmp.name, "other.safetensors")
        write_checkpoint(other, t, {"config": json.dumps(CONFIG)})
        r = subprocess.run([sys.executable, TOOL, "--checkpoint", other, "--masks", self.masks,
                            "--images", "2", "--plaintext-only", "--reference-logits", out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("differ from `senet eval`", r.stderr)


if __name__ == "__main__":
    unittest.main()
