"""tests/pi/tiny.py — a tiny senet ResNet-18 checkpoint (width 1/16: 4/8/16/32 channels, 1×32×32,
10 classes) with random weights, BN statistics and masks, written in the engine's format, plus its
masks.json. Sites: relu0 all ones (dense), layer1.0.relu1 keeps nothing, the rest random subsets."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "pi"))

from senet_pi.checkpoint import write_checkpoint  # noqa: E402
from senet_pi.network import resnet_sites  # noqa: E402

CONFIG = {"data": {"dataset": "fashion-mnist", "root": "/usr/share/datasets/fashion-mnist"},
          "model": {"arch": "resnet18", "width": 0.0625, "in_channels": 1, "image_size": 32,
                    "num_classes": 10, "stem_site": True}}


def make_tiny(dirpath, seed=0, keep=0.05):
    rng = np.random.default_rng(seed)
    layout, blocks, cfinal = resnet_sites(CONFIG)
    t = {}

    def conv(name, k, c, r):
        t[name + ".weight"] = (rng.standard_normal((k, c, r, r)) * np.sqrt(2.0 / (c * r * r))).astype(np.float32)

    def bn(name, k):
        t[name + ".weight"] = rng.uniform(0.5, 1.5, k).astype(np.float32)
        t[name + ".bias"] = rng.normal(0, 0.1, k).astype(np.float32)
        t[name + ".running_mean"] = rng.normal(0, 0.2, k).astype(np.float32)
        t[name + ".running_var"] = rng.uniform(0.5, 2.0, k).astype(np.float32)

    masks = {}
    for i, (name, C, H, _) in enumerate(layout):
        size = C * H * H
        if i == 0:
            m = np.ones(size, np.uint8)
        elif i == 1:
            m = np.zeros(size, np.uint8)
        else:
            m = np.zeros(size, np.uint8)
            m[rng.choice(size, max(1, int(keep * size)), replace=False)] = 1
        masks[name] = m.reshape(C, H, H)
    c0 = layout[0][1]
    conv("conv1", c0, 1, 3)
    bn("bn1", c0)
    t["relu0.mask"] = masks["relu0"]
    for name, cin, cout, stride, _ in blocks:
        conv(name + ".conv1", cout, cin, 3)
        bn(name + ".bn1", cout)
        conv(name + ".conv2", cout, cout, 3)
        bn(name + ".bn2", cout)
        if stride != 1 or cin != cout:
            conv(name + ".shortcut.0", cout, cin, 1)
            bn(name + ".shortcut.1", cout)
        t[name + ".relu1.mask"] = masks[name + ".relu1"]
        t[name + ".relu2.mask"] = masks[name + ".relu2"]
    t["fc.weight"] = rng.uniform(-0.3, 0.3, (10, cfinal)).astype(np.float32)
    t["fc.bias"] = rng.uniform(-0.1, 0.1, 10).astype(np.float32)
    ckpt = os.path.join(dirpath, "tiny.safetensors")
    write_checkpoint(ckpt, t, {"config": json.dumps(CONFIG), "stage": "test"})
    export = {"format": "senet-masks-1", "granularity": "pixel", "sites": [
        {"name": n, "shape": list(m.shape), "size": int(m.size), "kept": int(m.sum()),
         "indices": [int(v) for v in np.flatnonzero(m.reshape(-1))]} for n, m in masks.items()]}
    mpath = os.path.join(dirpath, "masks.json")
    with open(mpath, "w") as f:
        json.dump(export, f)
    return ckpt, mpath, t, export
