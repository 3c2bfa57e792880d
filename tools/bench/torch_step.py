"""tools/bench/torch_step.py — PyTorch's side of the training-step comparison (vs_pytorch.py).

The same model layout as models/resnet.cpp and models/wide_resnet.cpp (CIFAR ResNet-18: 3×3 stem at
stride 1, no max-pool, BasicBlocks [2, 2, 2, 2] at round(64·w)·2^i channels with a 1×1 conv + BN
shortcut on a shape change, global average pool, FC; pre-activation WRN-d-k), the same step as
tools/bench/bench_train_step.cpp (forward, cross-entropy, zero_grad, backward, SGD Nesterov
momentum 0.9, weight decay 5e-4, loss.item(), the correct count), one fixed N(0,1) batch.
  python torch_step.py --arch resnet18 --width 0.25 --in-channels 1 --classes 10 --batch 128 \
      --threads 2 --layout channels_last [--steps 10 --warmup 3 --seconds S]
      [--device cuda [--tf32]]     (on a GPU: cuDNN, TF32 off unless --tf32; the GPU day's peer)
      [--stage distill [--relu-fraction 0.03]]
--stage distill (ResNet-18) is SENet's stage-2/3 step as a PyTorch script would write it, the peer of
bench_train_step --stage distill: a frozen teacher (eval mode, no grad) and the student on the
batch, the student's ReLU sites masked (y = m ? relu(x) : x, random masks keeping --relu-fraction of
each site), loss 0.1·CE + 0.9·KD (T = 4, T²-scaled) + 1000·Σ PRAM over the four stage ends' post-ReLU
activations (docs/method.md; engine/ops/pram_loss.h), backward and SGD on the student.
Prints one JSON line like bench_train_step's.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Site(nn.Module):
    """A ReLU site (models/relu_site.h): relu, or with a mask m (bool C×H×W) m ? relu(x) : x; keeps
    its output when `capture` is set (PRAM)."""

    def __init__(self):
        super().__init__()
        self.mask, self.capture, self.captured = None, False, None

    def forward(self, x):
        y = F.relu(x) if self.mask is None else torch.where(self.mask, F.relu(x), x)
        if self.capture:
            self.captured = y
        return y


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.relu1, self.relu2 = Site(), Site()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        a = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(a)) + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, width, in_channels, classes):
        super().__init__()
        w = lambda base: max(1, round(base * width))  # std::lround for these positive values
        c0 = w(64)
        self.conv1 = nn.Conv2d(in_channels, c0, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c0)
        self.relu0 = Site()
        blocks, cin = [], c0
        for layer in range(4):
            cout = w(64 << layer)
            for b in range(2):
                blocks.append(BasicBlock(cin, cout, 2 if layer > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.blocks(self.relu0(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))

    def stage_ends(self):
        """The last site of each stage (two blocks a stage): PRAM's sites."""
        return [self.blocks[2 * i + 1].relu2 for i in range(4)]


def pram_loss(a_s, a_t):
    """engine/ops/pram_loss.h: q = mean_c A², normalised over H·W per image; mean squared gap."""
    q_s = F.normalize(a_s.pow(2).mean(1).flatten(1), dim=1, eps=1e-12)
    q_t = F.normalize(a_t.pow(2).mean(1).flatten(1), dim=1, eps=1e-12)
    return (q_s - q_t).pow(2).mean()


def distill_setup(student, teacher, x, fraction, seed=3):
    """Random masks on every student site keeping `fraction` of its ReLUs (at least one); both
    models keep their sites' outputs (as the engine's set_capture)."""
    sites_s = [m for m in student.modules() if isinstance(m, Site)]
    sites_t = [m for m in teacher.modules() if isinstance(m, Site)]
    for site in sites_s + sites_t:
        site.capture = True
    with torch.no_grad():
        teacher(x)  # the sites' shapes
    g = torch.Generator().manual_seed(seed)
    for site, t_site in zip(sites_s, sites_t):
        shape = t_site.captured.shape[1:]
        n = shape.numel()
        keep = torch.zeros(n, dtype=torch.bool)
        keep[torch.randperm(n, generator=g)[:max(1, round(fraction * n))]] = True
        site.mask = keep.view(shape).to(x.device)


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
    ap.add_argument("--stage", default="train", choices=["train", "distill"],
                    help="distill: SENet's stage-2/3 step (ResNet-18 only; see the module doc)")
    ap.add_argument("--relu-fraction", type=float, default=0.03,
                    help="distill: the fraction of each site's ReLUs the student's masks keep")
    a = ap.parse_args()
    if a.stage == "distill" and a.arch != "resnet18":
        ap.error("--stage distill: resnet18 only")
    if not 0.0 <= a.relu_fraction <= 1.0:
        ap.error(f"--relu-fraction must be in [0, 1], got {a.relu_fraction}")
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
    teacher = None
    if a.stage == "distill":
        torch.manual_seed(2)
        teacher = ResNet18(a.width, a.in_channels, a.classes)
        teacher = teacher.to(device=a.device, memory_format=fmt).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        distill_setup(model, teacher, x, a.relu_fraction)

    def loss_of(logits):
        if teacher is None:
            return F.cross_entropy(logits, y)
        T = 4.0
        with torch.no_grad():
            zt = teacher(x)
        kd = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(zt / T, 1), reduction="batchmean")
        pram = sum(pram_loss(s.captured, t.captured)
                   for s, t in zip(model.stage_ends(), teacher.stage_ends()))
        return 0.1 * F.cross_entropy(logits, y) + 0.9 * T * T * kd + 1000.0 * pram
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
        loss = loss_of(logits)
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
    print(json.dumps({"impl": impl, "stage": a.stage,
                      "relu_fraction": a.relu_fraction if teacher is not None else 1.0,
                      "arch": a.arch, "width": a.width,
                      "batch": a.batch, "threads": a.threads,
                      "images_per_second": round(1000.0 * a.batch / med, 2),
                      "median_step_ms": round(med, 3), "min_step_ms": round(min(ms), 3),
                      "steps": len(ms), "peak_rss_mib": round(rss, 1),
                      "last_loss": round(last_loss, 5), "torch": torch.__version__,
                      "step_ms": [round(v, 3) for v in ms]}))


if __name__ == "__main__":
    main()
