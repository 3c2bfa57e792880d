"""tests/pi/test_index_errors.py — index lists that do not match the checkpoint are refused with a
message naming the file, the site and what was expected (and the CLI exits 1)."""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny import make_tiny  # noqa: E402

from senet_pi import PiError  # noqa: E402
from senet_pi.checkpoint import read_checkpoint  # noqa: E402
from senet_pi.network import Network  # noqa: E402

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "pi", "pi_measure.py")


class IndexListErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ckpt, self.masks, self.t, self.export = make_tiny(self.tmp.name)
        self.site = 3  # a partial site
        self.name = self.export["sites"][self.site]["name"]

    def tearDown(self):
        self.tmp.cleanup()

    def broken(self, edit):
        e = copy.deepcopy(self.export)
        edit(e["sites"][self.site])
        p = os.path.join(self.tmp.name, "bad.json")
        with open(p, "w") as f:
            json.dump(e, f)
        return p

    def expect(self, path, *fragments):
        with self.assertRaises(PiError) as cm:
            Network(read_checkpoint(self.ckpt), path)
        msg = str(cm.exception)
        for frag in (path,) + fragments:
            self.assertIn(frag, msg)
        return msg

    def test_good_lists_load(self):
        net = Network(read_checkpoint(self.ckpt), self.masks)
        self.assertEqual(net.sites[self.site].indices.tolist(), self.export["sites"][self.site]["indices"])

    def test_wrong_site(self):
        p = self.broken(lambda s: s.update(name="layer9.9.relu1"))
        self.expect(p, f"expected site '{self.name}'", "layer9.9.relu1")

    def test_index_out_of_range(self):
        size = self.export["sites"][self.site]["size"]
        p = self.broken(lambda s: s["indices"].__setitem__(-1, size))
        self.expect(p, f"index {size} is out of range [0, {size})", self.name)

    def test_duplicate_index(self):
        def dup(s):
            s["indices"][1] = s["indices"][0]
        p = self.broken(dup)
        self.expect(p, "duplicate index", self.name)

    def test_kept_field_disagrees_with_list(self):
        p = self.broken(lambda s: s.update(kept=s["kept"] + 1))
        self.expect(p, "'kept'", self.name)

    def test_count_disagrees_with_checkpoint_mask(self):
        def drop(s):
            s["indices"].pop()
            s["kept"] -= 1
        p = self.broken(drop)
        self.expect(p, f"'{self.name}.mask' keeps", self.ckpt)

    def test_same_count_different_positions(self):
        def move(s):
            free = sorted(set(range(s["size"])) - set(s["indices"]))
            s["indices"] = sorted(s["indices"][1:] + [free[0]])
        p = self.broken(move)
        self.expect(p, "a different mask", self.name)

    def test_missing_site_and_bad_json(self):
        e = copy.deepcopy(self.export)
        e["sites"].pop()
        p = os.path.join(self.tmp.name, "short.json")
        with open(p, "w") as f:
            json.dump(e, f)
        self.expect(p, "has 16 sites", "17 counted sites")
        with open(p, "w") as f:
            f.write("{ not json")
        self.expect(p, "not valid JSON")

    def test_cli_exits_1_with_the_message(self):
        p = self.broken(lambda s: s.update(name="relu99"))
        r = subprocess.run([sys.executable, TOOL, "--checkpoint", self.ckpt, "--masks", p,
                            "--plaintext-only"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("senet pi-measure: error:", r.stderr)
        self.assertIn("relu99", r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def test_corrupt_checkpoint_fails_its_crc(self):
        with open(self.ckpt, "rb") as f:
            data = bytearray(f.read())
        data[-3] ^= 0xFF  # inside fc.bias, the last tensor
        bad = os.path.join(self.tmp.name, "corrupt.safetensors")
        with open(bad, "wb") as f:
            f.write(bytes(data))
        with self.assertRaises(PiError) as cm:
            read_checkpoint(bad)
        self.assertIn("CRC-32", str(cm.exception))
        self.assertIn("fc.bias", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
