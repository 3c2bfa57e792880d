"""tests/interop/test_interop.py — PyTorch in and out (docs/interop.md), checked without PyTorch.

The numpy loader in docs/interop.md (the ```python block after the marker below, run as written)
must reproduce `senet eval --dump-logits` within 1e-4 relative, on a teacher trained here for one
short epoch on Fashion-MNIST and on students with pixel- and channel-wise masks, for the test split
and for the validation split (whose "index" is the position in the training file). Files saved by
Python's safetensors as other tools save them must load or fail as the doc says: a plain state_dict
(no metadata; BOOL masks, num_batches_tracked, no optimizer state or no masks) with --config gives
the same logits; a senet checkpoint saved again with its metadata is reported as rewritten, and
loads once the key that message names is dropped.

Needs $SENET_BIN (CTest sets it) and Fashion-MNIST ($SENET_FMNIST, default the Debian package's
/usr/share/datasets/fashion-mnist); runs in the venv of tools/interop_venv.sh.
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "docs", "interop.md")
MARKER = "<!-- interop:numpy-loader -->"
SENET = os.environ.get("SENET_BIN", "")
FMNIST = os.environ.get("SENET_FMNIST", "/usr/share/datasets/fashion-mnist")
RTOL = 1e-4  # relative to the image's largest |logit|: float32 sums in another order
N = 16       # images per comparison

# ResNet-18 at width 1/16 (4/8/16/32 channels) on 1×32×32 Fashion-MNIST: one epoch on 600 images.
RUN = ["--set", "model.width=0.0625", "--set", "model.in_channels=1", "--set", "model.image_size=32",
       "--set", "model.num_classes=10", "--set", "data.dataset=\"fashion-mnist\"",
       "--set", f"data.root=\"{FMNIST}\"", "--set", "data.train_limit=600", "--set", "data.val_size=100",
       "--set", "data.test_limit=64", "--set", "train.batch_size=50", "--set", "progress=false"]


def doc_snippet():
    """The numpy loader: the first ```python block after MARKER in docs/interop.md."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    at = text.index(MARKER)
    return re.compile(r"```python\n(.*?)```", re.S).search(text, at).group(1)


def read_all(path):
    with safe_open(path, framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Interop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SENET or not os.path.exists(SENET):
            raise unittest.SkipTest("$SENET_BIN is not set (CTest sets it)")
        if not os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
            raise unittest.SkipTest(f"Fashion-MNIST not found in {FMNIST} ($SENET_FMNIST)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="senet_interop_")
        cls.dir = cls.tmp.name
        cls.loader = os.path.join(cls.dir, "senet_numpy.py")
        with open(cls.loader, "w", encoding="utf-8") as f:
            f.write(doc_snippet())
        out = os.path.join(cls.dir, "run")
        r = subprocess.run([SENET, "train", *RUN, "--epochs", "1", "--threads", "2", "--out", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"senet train failed:\n{r.stdout}\n{r.stderr}")
        cls.teacher = os.path.join(out, "last.safetensors")
        cls.tensors, cls.meta = read_all(cls.teacher)
        cls.config = os.path.join(cls.dir, "config.json")
        with open(cls.config, "w", encoding="utf-8") as f:
            f.write(cls.meta["config"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def senet(self, *args):
        return subprocess.run([SENET, *args, "--threads", "2"], capture_output=True, text=True)

    def dump(self, ckpt, split="test", extra=()):
        """`senet eval --dump-logits` of the split's first N images: the JSON lines."""
        path = os.path.join(self.dir, "dump.jsonl")
        r = self.senet("eval", "--checkpoint", ckpt, "--split", split, "--limit", str(N),
                       "--dump-logits", path, *extra)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return read_jsonl(path)

    def numpy_logits(self, ckpt, split, index):
        """docs/interop.md's loader, run as a user runs it."""
        r = subprocess.run([sys.executable, self.loader, ckpt, FMNIST, split, *map(str, index)],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def assert_loader_matches(self, ckpt, split, what):
        """The loader on the images senet evaluated (by their file index) gives senet's logits."""
        ref = self.dump(ckpt, split)
        file_split = "test" if split == "test" else "train"  # val: a subset of the training file
        got = self.numpy_logits(ckpt, file_split, [r["index"] for r in ref])
        self.assertEqual([g["index"] for g in got], [r["index"] for r in ref])
        worst_abs, worst_rel = 0.0, 0.0
        for g, r in zip(got, ref):
            a, b = np.array(g["logits"]), np.array(r["logits"])
            diff = float(np.abs(a - b).max())
            worst_abs = max(worst_abs, diff)
            worst_rel = max(worst_rel, diff / float(np.abs(b).max()))
        print(f"{what}, {split} split, {len(ref)} images: max |Δlogit| {worst_abs:.3g}, "
              f"relative {worst_rel:.3g}", file=sys.stderr)
        self.assertLessEqual(worst_rel, RTOL)
        return ref

    def save(self, name, tensors, metadata=None):
        path = os.path.join(self.dir, name)
        save_file(tensors, path, metadata=metadata)
        return path

    def masked(self, bool_masks=False):
        """The teacher with masks: random pixel-wise masks at most sites, one channel-wise mask."""
        rng = np.random.default_rng(7)
        t = {k: v for k, v in self.tensors.items() if not k.startswith("optim.")}
        sites = sorted(k for k in t if k.endswith(".mask"))
        for i, k in enumerate(sites):
            shape = t[k].shape if k != "layer2.1.relu1.mask" else t[k].shape[:1]
            m = (rng.random(shape) < (0.3 if i % 2 else 0.7)).astype(np.uint8)
            t[k] = m.astype(bool) if bool_masks else m
        return t

    def test_loader_reproduces_eval_on_the_teacher(self):
        self.assert_loader_matches(self.teacher, "test", "teacher")

    def test_val_index_is_the_position_in_the_training_file(self):
        ref = self.assert_loader_matches(self.teacher, "val", "teacher")
        with gzip.open(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz")) as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        index = [r["index"] for r in ref]
        self.assertEqual([r["label"] for r in ref], [int(labels[i]) for i in index])
        self.assertTrue(all(0 <= i < 600 for i in index))  # data.train_limit=600
        self.assertNotEqual(index, list(range(N)))        # a seeded subset, not the first rows

    def test_loader_reproduces_eval_with_masks(self):
        # Saved as a senet checkpoint by hand (format + config, no checksums: still loads).
        path = self.save("masked.safetensors", self.masked(),
                         {"format": "senet-checkpoint-1", "config": self.meta["config"]})
        relus = [re.search(r"ReLUs (\d+)", self.senet("eval", "--checkpoint", p, "--limit", "1").stdout)
                 for p in (self.teacher, path)]
        self.assertLess(int(relus[1].group(1)), int(relus[0].group(1)))  # the masks took effect
        ref = self.assert_loader_matches(path, "test", "masked student")
        self.assertNotEqual(ref, self.dump(self.teacher))

    def test_plain_state_dict_needs_config_and_gives_the_same_logits(self):
        # As PyTorch's save_file(model.state_dict()) writes it: no metadata, int64
        # num_batches_tracked, no optimizer state; a teacher needs no masks.
        t = {k: v for k, v in self.tensors.items() if not k.startswith("optim.") and not k.endswith(".mask")}
        for k in [k for k in t if k.endswith(".running_var")]:
            t[k[:-len("running_var")] + "num_batches_tracked"] = np.array(12, np.int64)
        plain = self.save("plain.safetensors", t)
        r = self.senet("eval", "--checkpoint", plain)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"checkpoint '{plain}' has no stored config", r.stderr)
        self.assertIn("pass --config FILE", r.stderr)
        self.assertEqual(self.dump(plain, extra=("--config", self.config)), self.dump(self.teacher))
        # A student's BOOL masks, without metadata, load as its uint8 masks do.
        student = self.save("student.safetensors", self.masked(),
                            {"format": "senet-checkpoint-1", "config": self.meta["config"]})
        plain_student = self.save("plain_student.safetensors", self.masked(bool_masks=True))
        self.assertEqual(self.dump(plain_student, extra=("--config", self.config)), self.dump(student))
        # Strict otherwise: PyTorch-CIFAR's "linear" for our "fc" is named, both ways.
        t["linear.weight"], t["linear.bias"] = t.pop("fc.weight"), t.pop("fc.bias")
        r = self.senet("eval", "--checkpoint", self.save("linear.safetensors", t), "--config", self.config)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missing 'fc.weight', 'fc.bias'; unexpected 'linear.", r.stderr)
        self.assertIn("'linear.weight'", r.stderr)
        # A float mask is an error naming the file, the tensor and the dtypes a mask may have.
        t = self.masked()
        t["relu0.mask"] = t["relu0.mask"].astype(np.float32)
        path = self.save("float_mask.safetensors", t)
        r = self.senet("eval", "--checkpoint", path, "--config", self.config)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"checkpoint '{path}': tensor 'relu0.mask' is F32 [4, 32, 32]; a ReLU mask is U8 or BOOL",
                      r.stderr)

    def test_checkpoint_resaved_with_its_metadata_is_reported_as_rewritten(self):
        tensors, meta = dict(self.tensors), dict(self.meta)
        path = self.save("resaved.safetensors", tensors, meta)
        r = self.senet("eval", "--checkpoint", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"{path}: rewritten by another tool", r.stderr)
        self.assertIn("drop the metadata key 'senet.crc32.__metadata__'", r.stderr)
        self.assertNotIn("corrupt", r.stderr)
        # Dropped as the message says: the same model as the original.
        del meta["senet.crc32.__metadata__"]
        path = self.save("resaved_dropped.safetensors", tensors, meta)
        self.assertEqual(self.dump(path), self.dump(self.teacher))
        # A tensor changed by that tool as well: named, and how to load the file unchecked.
        tensors["fc.bias"] = tensors["fc.bias"] + np.float32(1)
        path = self.save("resaved_changed.safetensors", tensors, dict(self.meta))
        r = self.senet("eval", "--checkpoint", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('the bytes of tensor "fc.bias" differ', r.stderr)
        self.assertIn("drop every metadata key that starts with 'senet.crc32'", r.stderr)
        meta = {k: v for k, v in self.meta.items() if not k.startswith("senet.crc32")}
        path = self.save("resaved_unchecked.safetensors", tensors, meta)
        self.assertEqual(self.senet("eval", "--checkpoint", path, "--limit", "1").returncode, 0)


if __name__ == "__main__":
    unittest.main()
