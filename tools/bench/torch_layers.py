"""tools/bench/torch_layers.py — PyTorch's side of the per-layer table (vs_pytorch.py): the conv
layers that `bench_conv_layers --list` prints (one JSON object per line on stdin or in --shapes),
each timed as fprop (F.conv2d), dgrad and wgrad (aten.convolution_backward with only that output
requested), and conv → BatchNorm (training) → masked ReLU forward + backward through autograd, in
NCHW and channels_last; median of --reps runs after 2 warm-ups, like bench_conv_layers.
  python torch_layers.py --shapes shapes.jsonl --threads 2 --reps 7
Prints one JSON line per shape and layout.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F


def median_ms(f, reps):
    for _ in range(2):
        f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(1000.0 * (time.perf_counter() - t0))
    ts.sort()
    return ts[len(ts) // 2]


def bench(s, layout, reps):
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    g = torch.Generator().manual_seed(1)
    N, C, H, W, K, R, S = s["N"], s["C"], s["H"], s["W"], s["K"], s["R"], s["S"]
    stride, pad = s["stride"], s["pad"]
    x = torch.randn(N, C, H, W, generator=g).to(memory_format=fmt)
    w = (torch.randn(K, C, R, S, generator=g) * (2.0 / (C * R * S)) ** 0.5).to(memory_format=fmt)
    y = F.conv2d(x, w, None, stride, pad)
    dy = torch.randn(y.shape, generator=g).to(memory_format=fmt)
    cb = torch.ops.aten.convolution_backward
    args = (dy, x, w, None, [stride, stride], [pad, pad], [1, 1], False, [0, 0], 1)
    with torch.no_grad():
        fprop = median_ms(lambda: F.conv2d(x, w, None, stride, pad), reps)
        dgrad = median_ms(lambda: cb(*args, [True, False, False]), reps)
        wgrad = median_ms(lambda: cb(*args, [False, True, False]), reps)
    xr = x.clone().requires_grad_(True)
    wr = w.clone().requires_grad_(True)
    bn = torch.nn.BatchNorm2d(K).train()
    mask = torch.randint(0, 2, y.shape[1:], generator=g, dtype=torch.bool)

    def fused():
        z = bn(F.conv2d(xr, wr, None, stride, pad))
        a = torch.where(mask, F.relu(z), z)
        a.backward(dy)

    fused_ms = median_ms(fused, reps)
    return {"impl": "torch-" + layout, "model": s["model"], "name": s["name"], "fprop_ms": round(fprop, 4),
            "dgrad_ms": round(dgrad, 4), "wgrad_ms": round(wgrad, 4), "fused_fwd_bwd_ms": round(fused_ms, 4),
            "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="-")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    src = sys.stdin if a.shapes == "-" else open(a.shapes)
    shapes = [json.loads(l) for l in src if l.strip()]
    for s in shapes:
        for layout in ("nchw", "channels_last"):
            print(json.dumps(bench(s, layout, a.reps)), flush=True)


if __name__ == "__main__":
    main()
