"""tools/bench/torch_step.py — PyTorch's side of the training-step comparison (vs_pytorch.py).

The same model layout as models/resnet.cpp and models/wide_resnet.cpp (CIFAR ResNet-18: 3×3 stem at
stride 1, no max-pool, BasicBlocks [2, 2, 2, 2] at round(64·w)·2^i channels with a 1×1 conv + BN
shortcut on a shape change, global average pool, FC; pre-activation WRN-d-k), the same step as
tools/bench/bench_train_step.cpp (forward, cross-entropy, zero_grad, backward, SGD Nesterov
momentum 0.9, weight decay 5e-4, loss.item(), the correct count), one fixed N(0,1) batch.
  python torch_step.py --arch resnet18 --width 0.25 --in-channels 1 --classes 10 --batch 128 \
      --threads 2 --layout channels_last [--steps 10 --warmup 3 --seconds S]
      [--device cuda [--tf32]]     (on a GPU: cuDNN, TF32 off unless --tf32; the GPU day's peer)
Prints one JSON line like bench_train_step's.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(a)) + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, width, in_channels, classes):
        super().__init__()
        w = lambda base: max(1, round(base * width))  # std::lround for these positive values
        c0 = w(64)
        self.conv1 = nn.Conv2d(in_channels, c0, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c0)
        blocks, cin = [], c0
        for layer in range(4):
            cout = w(64 << layer)
            for b in range(2):
                blocks.append(BasicBlock(cin, cout, 2 if layer > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class WideBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
                         if stride != 1 or cin != cout else None)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return y + (self.shortcut(a) if self.shortcut is not None else x)


class WideResNet(nn.Module):
    def __init__(self, depth, k, in_channels, classes):
        super().__init__()
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        blocks, cin = [], 16
        for g in range(3):
            cout = 16 * k << g
            for b in range(n):
                blocks.append(WideBlock(cin, cout, 2 if g > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = F.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def peak_rss_mib():
    """VmHWM of this process (ru_maxrss would include the parent's memory at fork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet18", choices=["resnet18", "wrn"])
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--wrn-depth", type=int, default=16)
    ap.add_argument("--wrn-k", type=int, default=4)
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--image", type=int, default=32)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--layout", default="channels_last", choices=["nchw", "channels_last"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="cuDNN and cuBLAS on TF32 tensor cores")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "cuda":
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    if a.arch == "resnet18":
        model = ResNet18(a.width, a.in_channels, a.classes)
    else:
        model = WideResNet(a.wrn_depth, a.wrn_k, a.in_channels, a.classes)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    model = model.to(device=a.device, memory_format=fmt).train()
    g = torch.Generator().manual_seed(11)
    x = torch.randn(a.batch, a.in_channels, a.image, a.image, generator=g)
    x = x.to(device=a.device, memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,), generator=g).to(a.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True)

    ms, correct, last_loss = [], 0, 0.0
    t_start = time.perf_counter()
    s = 0
    while True:
        timed = s >= a.warmup
        if timed and len(ms) >= a.steps and time.perf_counter() - t_start >= a.seconds:
            break
        if s == a.warmup:
            t_start = time.perf_counter()
        t0 = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        last_loss = loss.item()
        correct += int((logits.detach().argmax(1) == y).sum().item())
        if timed:
            ms.append(1000.0 * (time.perf_counter() - t0))
        s += 1
    med = sorted(ms)[len(ms) // 2]
    rss = peak_rss_mib()
    impl = "torch-" + a.layout + ("-cuda" + ("-tf32" if a.tf32 else "-fp32") if a.device == "cuda" else "")
    print(json.dumps({"impl": impl, "arch": a.arch, "width": a.width,
                      "batch": a.batch, "threads": a.threads,
                      "images_per_second": round(1000.0 * a.batch / med, 2),
                      "median_step_ms": round(med, 3), "min_step_ms": round(min(ms), 3),
                      "steps": len(ms), "peak_rss_mib": round(rss, 1),
                      "last_loss": round(last_loss, 5), "torch": torch.__version__,
                      "step_ms": [round(v, 3) for v in ms]}))


if __name__ == "__main__":
    main()
