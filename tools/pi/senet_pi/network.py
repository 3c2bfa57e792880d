"""The inference network of a senet checkpoint (ResNet-18/34 at any width factor, or a
pre-activation WRN-d-k), as a list of SPU-sized steps.

Eval-mode BatchNorm (γ, β, running mean/var, eps = 1e-5) is s = γ/√(var+eps), t = β − mean·s per
channel. Where a BN follows convolutions alone it is folded into them: W' = W·s (per output
channel), b' = t. Where it cannot fold it is kept as a per-channel affine step z = x·s + t (s, t
secret or public as the weights are).

ResNet (models/resnet.cpp; post-activation, every BN folds):
  linear  conv1                         z = conv(x, W') + b'
  relu    relu0
  per block layerL.B:
  linear  layerL.B.conv1                z = conv(a_in, W1', stride) + b1'
  relu    layerL.B.relu1
  linear  layerL.B.conv2+shortcut       z = conv(a1, W2') + b2' + (conv1×1(a_in, Ws', stride) + bs' | a_in)
  relu    layerL.B.relu2                (the post-residual site, after the add)
  linear  fc                            logits = mean_hw(a) · Wfcᵀ + bfc
At width factor p (models/width_switch.h: a width-switchable checkpoint, model.width_factors) every
layer uses its first ⌊p·C⌋ channels: W[:⌊p·K⌋, :⌊p·C⌋] (the stem keeps the image's channels, the
FC W[:, :⌊p·F⌋]), BN set "<bn>.wNNN" (NNN = 100·p; the plain names at p = 1), each site's mask
sliced to its first ⌊p·C⌋ channels (so its kept indices are those below ⌊p·C⌋·H·W).

WRN-d-k (models/wide_resnet.cpp; pre-activation: BN → ReLU → conv):
  linear  conv1                         x0 = conv(img, W)  (+ group1.0.bn1 folded, see below)
  per block groupG.B (input x):
  linear  groupG.B.bn1                  u = x·s1 + t1   (affine; absent where folded)
  relu    groupG.B.relu1                a = site(u)
  linear  groupG.B.conv1                z = conv(a, W1·s2, stride) + t2   (bn2 folds into conv1)
  relu    groupG.B.relu2                h = site(z)
  linear  groupG.B.conv2+shortcut       x' = conv(h, W2) + (conv1×1(a, Ws, stride) | x)
                                        (the shortcut is fed by the block's first BN-ReLU)
  linear  bn                            u = x·s + t   (the final BN; absent where folded)
  relu    relu                          (the final BN-ReLU site)
  linear  fc                            logits = mean_hw(a) · Wfcᵀ + bfc
A BN folds into the step that produces its input when that input feeds nothing else (the next
block has a projection shortcut, or it is the final BN) and that step is convolutions alone (the
stem, or a block with a projection shortcut): W' = W·s, b' = t. Otherwise (an identity shortcut
also reads the un-normalised x) it is an affine step.

A ReLU site evaluates (how = the site's kind, or the variant's):
  dense    max(z, 0) on all C·H·W positions (all-ReLU site, or a site outside the budget)
  none     z (mask keeps nothing: identity, no ReLU, no communication)
  compact  the kept positions gathered, ONE batched ReLU over them, and put back with a single
           inverse-permutation gather: concat([relu(h[idx]), h[cidx]])[inv], h = z flattened,
           cidx the complement of idx, inv = argsort(concat([idx, cidx]))
  channel  a per-channel mask (senet.granularity = channel): the kept channels' whole H×W planes
           taken by static channel slices (one per run of consecutive kept channels), ONE batched
           ReLU over them, the output reassembled by slices and one concat: no gather at all
  where    the naive masked model: where(m, max(z, 0), z) with the mask m a PUBLIC input, so the
           runtime evaluates every position (what a masked model costs if nobody compacts it).
Variants: compact (channel sites by slices, pixel sites by gathers), element (every partial site
by the per-element gather, channel sites included: the layout to compare with), where.
Steps are pure functions of named arrays, so the same code runs in plaintext (JAX on CPU) and
under SPU (one executable per step, the activations staying secret-shared in between).
Only steps() and plain_forward() need JAX (imported when called); the layout, the index lists and
the folded weights are numpy, so the checks of a checkpoint run without the venv.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from . import PiError
from .checkpoint import Checkpoint
from .masks import checkpoint_mask_indices, read_index_lists

BN_EPS = 1e-5
VARIANTS = ("compact", "element", "where")

SiteKind = Literal["dense", "none", "compact", "channel"]
Array = Any                     # a jax.Array (or a tracer while JAX traces a step)
StepFn = Callable[..., Array]   # fn(*inputs, *params) → output


# ---------------------------------------------------------------------------------------------
# Layout: the architecture's sites, blocks and MACs at one width factor (no weights).

@dataclass(frozen=True)
class SiteLayout:
    """A ReLU site: `channels`×H×H activations at full width, `active` of the channels in use at
    the layout's width factor; counted = in the ReLU budget."""
    name: str
    channels: int
    size: int
    counted: bool
    active: int

    @property
    def full_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.active, self.size, self.size)


@dataclass(frozen=True)
class Block:
    """A residual block: `cin`/`cout` channels at the layout's width (full: `cin_full`/`cout_full`)."""
    name: str
    cin: int
    cout: int
    stride: int
    in_size: int        # H = W of its input
    out_size: int       # H = W of its output
    cin_full: int
    cout_full: int

    @property
    def projection(self) -> bool:
        """A 1×1 conv shortcut (decided at full width, as the engine builds it), else the identity."""
        return self.stride != 1 or self.cin_full != self.cout_full


@dataclass(frozen=True)
class ModelLayout:
    arch: Literal["resnet", "wrn"]
    percent: int                     # width factor × 100 (100: full width)
    in_channels: int
    image_size: int
    num_classes: int
    stem: int                        # the stem conv's output channels (at the width)
    stem_full: int
    sites: tuple[SiteLayout, ...]    # network order
    blocks: tuple[Block, ...]
    final_channels: int              # the fc layer's inputs (at the width)
    final_full: int
    macs: int                        # multiply-adds of the linear layers, one image (as the engine counts)


def width_channels(c: int, percent: int) -> int:
    """⌊p·C⌋ from the factor's hundredths (models/width_switch.h)."""
    return (c * percent) // 100


def width_percent(s: float) -> int:
    """Hundredths of a width factor: a multiple of 0.01 in (0, 1]."""
    p = round(float(s) * 100)
    if not (0 < s <= 1) or abs(float(s) * 100 - p) > 1e-3:
        raise PiError(f"width factor {s} must be a multiple of 0.01 in (0, 1]")
    return int(p)


def width_factors(cfg: Mapping[str, Any]) -> list[float]:
    """The model's width factors (model.width_factors; [1.0] for a plain model)."""
    wf = [float(v) for v in (cfg.get("model", {}).get("width_factors") or [])]
    return wf or [1.0]


def _round_width(base: int, w: float) -> int:
    """max(1, lround(base·w)) as the engine computes a layer's width from model.width."""
    return max(1, int(np.floor(base * w + 0.5)))


def model_layout(cfg: Mapping[str, Any], percent: int = 100) -> ModelLayout:
    """Sites, blocks and MACs of the config's model at width factor percent/100."""
    m = cfg.get("model", {})
    arch = m.get("arch", "resnet18")
    S, cin_img = int(m.get("image_size", 32)), int(m.get("in_channels", 3))
    K, w = int(m.get("num_classes", 10)), float(m.get("width", 1.0))
    pcts = [width_percent(s) for s in width_factors(cfg)]
    if percent not in pcts:
        raise PiError(f"width factor {percent / 100:.2f} is not one of the model's factors "
                      f"{[p / 100 for p in pcts]} (model.width_factors)")
    if arch == "wrn":
        return _wrn_layout(m, S, cin_img, K, w)
    if arch not in ("resnet18", "resnet34"):
        raise PiError(f"model.arch '{arch}' is not supported (resnet18, resnet34, wrn)")
    depth = [3, 4, 6, 3] if arch == "resnet34" else [2, 2, 2, 2]

    def at(c: int) -> int:
        return width_channels(c, percent)
    c0 = _round_width(64, w)
    sites = [SiteLayout("relu0", c0, S, bool(m.get("stem_site", True)), at(c0))]
    macs = at(c0) * cin_img * 9 * S * S
    blocks: list[Block] = []
    cin, H = c0, S
    for layer in range(4):
        cout = _round_width(64 << layer, w)
        for b in range(depth[layer]):
            stride = 2 if (layer > 0 and b == 0) else 1
            P = (H + 2 - 3) // stride + 1
            name = f"layer{layer + 1}.{b}"
            blk = Block(name, at(cin), at(cout), stride, H, P, cin, cout)
            blocks.append(blk)
            macs += blk.cout * blk.cin * 9 * P * P + blk.cout * blk.cout * 9 * P * P
            if blk.projection:
                macs += blk.cout * blk.cin * P * P
            sites += [SiteLayout(name + ".relu1", cout, P, True, at(cout)),
                      SiteLayout(name + ".relu2", cout, P, True, at(cout))]
            cin, H = cout, P
    macs += at(cin) * K
    return ModelLayout("resnet", percent, cin_img, S, K, at(c0), c0, tuple(sites), tuple(blocks),
                       at(cin), cin, macs)


def _wrn_layout(m: Mapping[str, Any], S: int, cin_img: int, K: int, w: float) -> ModelLayout:
    d, k = int(m.get("wrn_depth", 22)), int(m.get("wrn_k", 8))
    if d < 10 or (d - 4) % 6:
        raise PiError(f"model.wrn_depth must be 6n+4 (≥ 10), got {d}")
    n = (d - 4) // 6
    c0 = _round_width(16, w)
    macs = c0 * cin_img * 9 * S * S
    sites: list[SiteLayout] = []
    blocks: list[Block] = []
    cin, H = c0, S
    for g in range(3):
        cout = _round_width((16 * k) << g, w)
        for b in range(n):
            stride = 2 if (g > 0 and b == 0) else 1
            P = (H + 2 - 3) // stride + 1
            name = f"group{g + 1}.{b}"
            blk = Block(name, cin, cout, stride, H, P, cin, cout)
            blocks.append(blk)
            macs += cout * cin * 9 * P * P + cout * cout * 9 * P * P
            if blk.projection:
                macs += cout * cin * P * P
            sites += [SiteLayout(name + ".relu1", cin, H, True, cin),
                      SiteLayout(name + ".relu2", cout, P, True, cout)]
            cin, H = cout, P
    sites.append(SiteLayout("relu", cin, H, bool(m.get("final_site", True)), cin))
    macs += cin * K
    return ModelLayout("wrn", 100, cin_img, S, K, c0, c0, tuple(sites), tuple(blocks), cin, cin, macs)


# ---------------------------------------------------------------------------------------------
# Sites and their evaluation.

@dataclass(frozen=True, eq=False)
class Site:
    name: str
    shape: tuple[int, int, int]       # (C, H, W) in use (at the width factor)
    counted: bool                     # in the ReLU budget (else a full ReLU, as in the engine)
    mask: np.ndarray                  # the checkpoint's mask buffer, sliced to the width
    kind: SiteKind = "dense"          # none | compact | channel: partial (the student's `where`
                                      # and `element` are variants)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # kept, ascending
    channels: np.ndarray | None = None  # a per-channel mask: its kept channels, ascending

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def kept(self) -> int:
        return self.size if self.kind == "dense" else int(self.indices.size)

    @property
    def partial(self) -> bool:
        return self.kind in ("none", "compact", "channel")


@dataclass(frozen=True, eq=False)
class Step:
    name: str
    kind: Literal["linear", "relu"]
    inputs: tuple[str, ...]     # activation names (secret)
    params: tuple[str, ...]     # parameter names (weights secret or public; masks public)
    output: str
    fn: StepFn
    site: Site | None = None
    relus: int = 0              # ReLUs this step evaluates (comparisons)
    how: str = "linear"         # linear | affine, or the site's evaluation: dense | none |
                                # compact | channel | where
    macs: int = 0               # multiply-adds of a linear step (affine: one per element)


@dataclass(frozen=True, eq=False)
class SiteFn:
    """A ReLU site's function (z [1,C,H,W] → same) and the names of its public parameters."""
    fn: StepFn
    params: tuple[str, ...] = ()


def channel_runs(kept: np.ndarray, C: int) -> list[tuple[int, int, bool]]:
    """[start, end) runs of consecutive channels covering 0..C, each kept or not, in order."""
    flags = np.zeros(C, bool)
    flags[np.asarray(kept, np.int64)] = True
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for c in range(1, C + 1):
        if c == C or flags[c] != flags[start]:
            runs.append((start, c, bool(flags[start])))
            start = c
    return runs


def site_fn(s: Site, how: str) -> SiteFn:
    """The evaluation `how` (dense | none | compact | channel | where) of site s."""
    import jax.numpy as jnp
    if how == "dense":
        return SiteFn(lambda z: jnp.maximum(z, 0.0))
    if how == "none":
        return SiteFn(lambda z: z)
    if how == "where":
        return SiteFn(lambda z, m: jnp.where(m[None], jnp.maximum(z, 0.0), z), (s.name + ".keep",))
    if how == "channel":
        if s.channels is None:
            raise PiError(f"site '{s.name}': the channel layout needs a per-channel mask")
        runs = channel_runs(s.channels, s.shape[0])

        def channel(z: Array) -> Array:
            kept = [z[:, a:b] for a, b, k in runs if k]
            r = jnp.maximum(kept[0] if len(kept) == 1 else jnp.concatenate(kept, axis=1), 0.0)
            parts, off = [], 0
            for a, b, k in runs:
                if k:
                    parts.append(r[:, off:off + b - a])
                    off += b - a
                else:
                    parts.append(z[:, a:b])
            return parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=1)
        return SiteFn(channel)
    if how != "compact":
        raise PiError(f"unknown site evaluation '{how}'")
    idx = np.asarray(s.indices, np.int64)
    cidx = np.setdiff1d(np.arange(s.size, dtype=np.int64), idx, assume_unique=True)
    inv = np.argsort(np.concatenate([idx, cidx]), kind="stable")

    def compact(z: Array) -> Array:
        h = z.reshape(-1)
        return jnp.concatenate([jnp.maximum(h[idx], 0.0), h[cidx]])[inv].reshape(z.shape)
    return SiteFn(compact)


def site_how(s: Site, variant: str) -> str:
    """How variant (compact | element | where) evaluates site s. Under `where` every partial site
    is the naive select over all its positions, one that keeps nothing included."""
    if not s.partial:
        return s.kind
    if variant == "where":
        return "where"
    if variant == "element" and s.kind == "channel":
        return "compact"
    return s.kind


def bn_set_name(bn: str, percent: int) -> str:
    """The checkpoint name of BN `bn`'s parameter set at width factor percent/100."""
    return bn if percent == 100 else f"{bn}.w{percent:03d}"


# ---------------------------------------------------------------------------------------------
# The network of one checkpoint at one width.

class Network:
    """Folded weights (name → float32 array), the sites and the steps of one checkpoint at one
    width factor."""

    def __init__(self, ckpt: Checkpoint, masks_path: str | os.PathLike[str] | None = None,
                 width: float = 1.0) -> None:
        """masks_path: the per-site index lists (masks.json); None: the checkpoint's own masks.
        width: the width factor (one of model.width_factors; 1 for a plain model)."""
        self.ckpt = ckpt
        cfg = ckpt.config()
        self.width = width
        try:
            self.layout = model_layout(cfg, width_percent(width))
        except PiError as e:
            raise PiError(f"checkpoint '{ckpt.path}': {e}")
        L = self.layout
        self.in_shape = (L.in_channels, L.image_size, L.image_size)
        self.num_classes = L.num_classes
        full = [Site(s.name, s.full_shape, s.counted, self._mask(s)) for s in L.sites]
        counted = [s for s in full if s.counted]
        lists = (read_index_lists(masks_path, counted, ckpt.path) if masks_path else
                 {s.name: checkpoint_mask_indices(s.mask, s.shape) for s in counted})
        self.sites = [self._evaluation(s, sl, lists) for s, sl in zip(full, L.sites)]
        self.weights: dict[str, np.ndarray] = {}
        if L.arch == "resnet":
            self._resnet_weights()
        else:
            self._wrn_weights()
        self.weights["fc.w"] = self._tensor("fc.weight", (L.num_classes, L.final_full))[:, :L.final_channels]
        self.weights["fc.b"] = self._tensor("fc.bias", (L.num_classes,))

    @property
    def blocks(self) -> tuple[Block, ...]:
        return self.layout.blocks

    @property
    def macs(self) -> int:
        return self.layout.macs

    def _tensor(self, name: str, shape: Sequence[int]) -> np.ndarray:
        return self.ckpt.tensor(name, shape, np.float32)

    def _mask(self, s: SiteLayout) -> np.ndarray:
        C, H = s.channels, s.size
        mk = self.ckpt.tensor(s.name + ".mask", dtype=np.uint8)
        if tuple(mk.shape) not in ((C, H, H), (C,)):
            raise PiError(f"checkpoint '{self.ckpt.path}': tensor '{s.name}.mask' has shape "
                          f"{list(mk.shape)}, the model expects [{C}, {H}, {H}] or [{C}]")
        if not np.isin(mk, (0, 1)).all():
            raise PiError(f"checkpoint '{self.ckpt.path}': tensor '{s.name}.mask' has values other "
                          f"than 0 and 1")
        return mk

    @staticmethod
    def _evaluation(s: Site, sl: SiteLayout, lists: Mapping[str, np.ndarray]) -> Site:
        """The site at the layout's width: its mask and kept indices sliced to the active channels."""
        Ca, H = sl.active, sl.size
        mask = s.mask[:Ca]
        shape = (Ca, H, H)
        s = replace(s, shape=shape, mask=mask)
        if not s.counted:
            return s
        idx = lists[s.name]
        idx = idx[idx < Ca * H * H]
        if idx.size == s.size:
            return s            # dense: the engine keeps an all-ones site a ReLU
        if idx.size == 0:
            return replace(s, kind="none", indices=idx)
        if mask.shape == (Ca,):
            return replace(s, kind="channel", indices=idx,
                           channels=np.flatnonzero(mask).astype(np.int64))
        return replace(s, kind="compact", indices=idx)

    # -- weights ---------------------------------------------------------------------------

    def _bn(self, bn: str, K: int) -> tuple[np.ndarray, np.ndarray]:
        """(s, t) of BN `bn` at the width (its own parameter set), float64."""
        name = bn_set_name(bn, self.layout.percent)
        g, b, mu, var = (self.ckpt.tensor(f"{name}.{n}", (K,), np.float32).astype(np.float64)
                         for n in ("weight", "bias", "running_mean", "running_var"))
        if (var < 0).any():
            raise PiError(f"checkpoint '{self.ckpt.path}': tensor '{name}.running_var' has negative "
                          f"entries (not BN statistics)")
        s = g / np.sqrt(var + BN_EPS)
        return s, b - mu * s

    def _conv(self, conv: str, K_full: int, C_full: int, r: int, K: int, C: int) -> np.ndarray:
        """W[:K, :C] of conv `conv` (checked against its full shape), float64."""
        w = self.ckpt.tensor(conv + ".weight", (K_full, C_full, r, r), np.float32)
        return w[:K, :C].astype(np.float64)

    def _set(self, name: str, w: np.ndarray, b: np.ndarray) -> None:
        self.weights[name + ".w"] = w.astype(np.float32)
        self.weights[name + ".b"] = b.astype(np.float32)

    def _fold(self, name: str, conv: str, bn: str, K_full: int, C_full: int, r: int, K: int,
              C: int) -> None:
        """W' = W·s, b' = t (per output channel; float64, then float32) under step-param `name`."""
        w = self._conv(conv, K_full, C_full, r, K, C)
        s, t = self._bn(bn, K)
        self._set(name, w * s[:, None, None, None], t)

    def _resnet_weights(self) -> None:
        L = self.layout
        self._fold("conv1", "conv1", "bn1", L.stem_full, L.in_channels, 3, L.stem, L.in_channels)
        for b in L.blocks:
            n = b.name
            self._fold(n + ".conv1", n + ".conv1", n + ".bn1", b.cout_full, b.cin_full, 3, b.cout, b.cin)
            self._fold(n + ".conv2", n + ".conv2", n + ".bn2", b.cout_full, b.cout_full, 3, b.cout, b.cout)
            if b.projection:
                self._fold(n + ".shortcut.0", n + ".shortcut.0", n + ".shortcut.1", b.cout_full,
                           b.cin_full, 1, b.cout, b.cin)

    def _wrn_folds(self) -> list[bool]:
        """For each pre-activation BN in order (each block's bn1, then the final bn): folds into
        the step before it?"""
        L = self.layout
        out = []
        for i, b in enumerate(L.blocks):
            producer_pure = i == 0 or L.blocks[i - 1].projection  # stem, or convs only
            out.append(producer_pure and b.projection)            # its input feeds nothing else
        out.append(len(L.blocks) > 0 and L.blocks[-1].projection)
        return out

    def _wrn_weights(self) -> None:
        L = self.layout
        folds = self._wrn_folds()
        C0 = L.stem
        w0 = self._conv("conv1", C0, L.in_channels, 3, C0, L.in_channels)
        b0 = np.zeros(C0)
        if folds[0]:
            s, t = self._bn(L.blocks[0].name + ".bn1", C0)
            w0, b0 = w0 * s[:, None, None, None], t
        self._set("conv1", w0, b0)
        for i, b in enumerate(L.blocks):
            n = b.name
            if not folds[i]:
                s, t = self._bn(n + ".bn1", b.cin)
                self.weights[n + ".bn1.s"] = s.astype(np.float32)
                self.weights[n + ".bn1.t"] = t.astype(np.float32)
            self._fold(n + ".conv1", n + ".conv1", n + ".bn2", b.cout, b.cin, 3, b.cout, b.cin)
            w2 = self._conv(n + ".conv2", b.cout, b.cout, 3, b.cout, b.cout)
            ws = self._conv(n + ".shortcut", b.cout, b.cin, 1, b.cout, b.cin) if b.projection else None
            b2 = np.zeros(b.cout)
            nxt = L.blocks[i + 1].name + ".bn1" if i + 1 < len(L.blocks) else "bn"
            if folds[i + 1]:     # the next BN folds into this block's conv2 and shortcut
                s, t = self._bn(nxt, b.cout)
                w2 = w2 * s[:, None, None, None]
                ws = ws * s[:, None, None, None] if ws is not None else None
                b2 = t
            self._set(n + ".conv2", w2, b2)
            if ws is not None:
                self.weights[n + ".shortcut.w"] = ws.astype(np.float32)
        if not folds[-1]:
            s, t = self._bn("bn", L.final_channels)
            self.weights["bn.s"] = s.astype(np.float32)
            self.weights["bn.t"] = t.astype(np.float32)

    # -- counts ----------------------------------------------------------------------------

    def relu_count(self, variant: str) -> int:
        return sum(self._site_relus(s, variant) for s in self.sites)

    @staticmethod
    def _site_relus(s: Site, variant: str) -> int:
        if s.partial and variant == "where":
            return s.size
        return s.size if s.kind == "dense" else s.kept

    def has_channel_sites(self) -> bool:
        return any(s.kind == "channel" for s in self.sites)

    def public_params(self, variant: str) -> dict[str, np.ndarray]:
        """Public inputs: the masks of the `where` variant (bool [C,H,W])."""
        if variant != "where":
            return {}
        out = {}
        for s in self.sites:
            if s.partial:
                m = np.zeros(s.size, np.bool_)
                m[s.indices] = True
                out[s.name + ".keep"] = m.reshape(s.shape)
        return out

    # -- steps -----------------------------------------------------------------------------

    def steps(self, variant: str = "compact") -> list[Step]:
        """variant: compact (kept positions only; channel sites by slices), element (kept
        positions by per-element gathers everywhere) or where (naive public-mask select)."""
        if variant not in VARIANTS:
            raise PiError(f"unknown variant '{variant}' ({', '.join(VARIANTS)})")
        b = _StepBuilder(self, variant)
        if self.layout.arch == "resnet":
            b.resnet()
        else:
            b.wrn()
        return b.steps


class _StepBuilder:
    """Builds a Network's steps for one variant (JAX functions over named arrays)."""

    def __init__(self, net: Network, variant: str) -> None:
        import jax.numpy as jnp
        from jax import lax
        self.jnp, self.lax = jnp, lax
        self.net, self.variant = net, variant
        self.sites = {s.name: s for s in net.sites}
        self.steps: list[Step] = []

    # functions of the steps
    def conv(self, x: Array, w: Array, stride: int, pad: int) -> Array:
        return self.lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)),
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"))

    @staticmethod
    def bias(b: Array) -> Array:
        return b[None, :, None, None]

    def conv_bias(self, stride: int) -> StepFn:              # z = conv(x, W', stride, pad 1) + b'
        def f(x: Array, w: Array, b: Array) -> Array:
            return self.conv(x, w, stride, 1) + self.bias(b)
        return f

    def residual_projection(self, stride: int) -> StepFn:    # conv2(h) + b + conv1×1(a, stride) (+ bs)
        def f(y: Array, x: Array, w: Array, b: Array, ws: Array, *bs: Array) -> Array:
            z = self.conv(y, w, 1, 1) + self.bias(b) + self.conv(x, ws, stride, 0)
            return z + self.bias(bs[0]) if bs else z
        return f

    def residual_identity(self, y: Array, x: Array, w: Array, b: Array) -> Array:
        return self.conv(y, w, 1, 1) + self.bias(b) + x

    def affine(self, x: Array, s: Array, t: Array) -> Array:  # per-channel x·s + t (BN kept)
        return x * self.bias(s) + self.bias(t)

    def fc(self, x: Array, w: Array, b: Array) -> Array:
        return self.jnp.mean(x, axis=(2, 3)) @ w.T + b[None]

    # step list
    def site(self, name: str, inp: str) -> str:
        s = self.sites[name]
        out = "a:" + s.name
        how = site_how(s, self.variant)
        sf = site_fn(s, how)
        self.steps.append(Step(s.name, "relu", (inp,), sf.params, out, sf.fn, s,
                               Network._site_relus(s, self.variant), how))
        return out

    def linear(self, name: str, inputs: tuple[str, ...], params: tuple[str, ...], fn: StepFn,
               macs: int, how: str = "linear") -> str:
        out = "z:" + name
        self.steps.append(Step(name, "linear", inputs, params, out, fn, how=how, macs=macs))
        return out

    def resnet(self) -> None:
        L = self.net.layout
        S = L.image_size
        z = self.linear("conv1", ("x",), ("conv1.w", "conv1.b"), self.conv_bias(1),
                        L.stem * L.in_channels * 9 * S * S)
        a = self.site("relu0", z)
        for b in L.blocks:
            n, P = b.name, b.out_size
            z1 = self.linear(n + ".conv1", (a,), (n + ".conv1.w", n + ".conv1.b"),
                             self.conv_bias(b.stride), b.cout * b.cin * 9 * P * P)
            a1 = self.site(n + ".relu1", z1)
            macs = b.cout * b.cout * 9 * P * P
            if b.projection:
                z2 = self.linear(n + ".conv2+shortcut", (a1, a),
                                 (n + ".conv2.w", n + ".conv2.b", n + ".shortcut.0.w", n + ".shortcut.0.b"),
                                 self.residual_projection(b.stride), macs + b.cout * b.cin * P * P)
            else:
                z2 = self.linear(n + ".conv2+shortcut", (a1, a), (n + ".conv2.w", n + ".conv2.b"),
                                 self.residual_identity, macs)
            a = self.site(n + ".relu2", z2)
        self.linear("fc", (a,), ("fc.w", "fc.b"), self.fc, L.final_channels * L.num_classes)

    def wrn(self) -> None:
        L, w = self.net.layout, self.net.weights
        S = L.image_size
        x = self.linear("conv1", ("x",), ("conv1.w", "conv1.b"), self.conv_bias(1),
                        L.stem * L.in_channels * 9 * S * S)

        def pre_activation(bn: str, x: str, C: int, H: int) -> str:
            """The BN before a site: an affine step, or nothing where it folded."""
            if bn + ".s" not in w:
                return x
            return self.linear(bn, (x,), (bn + ".s", bn + ".t"), self.affine, C * H * H, "affine")

        for b in L.blocks:
            n, P = b.name, b.out_size
            u = pre_activation(n + ".bn1", x, b.cin, b.in_size)
            a = self.site(n + ".relu1", u)
            z1 = self.linear(n + ".conv1", (a,), (n + ".conv1.w", n + ".conv1.b"),
                             self.conv_bias(b.stride), b.cout * b.cin * 9 * P * P)
            h = self.site(n + ".relu2", z1)
            macs = b.cout * b.cout * 9 * P * P
            if b.projection:
                x = self.linear(n + ".conv2+shortcut", (h, a),
                                (n + ".conv2.w", n + ".conv2.b", n + ".shortcut.w"),
                                self.residual_projection(b.stride), macs + b.cout * b.cin * P * P)
            else:
                x = self.linear(n + ".conv2+shortcut", (h, x), (n + ".conv2.w", n + ".conv2.b"),
                                self.residual_identity, macs)
        H = L.blocks[-1].out_size if L.blocks else S
        u = pre_activation("bn", x, L.final_channels, H)
        a = self.site("relu", u)
        self.linear("fc", (a,), ("fc.w", "fc.b"), self.fc, L.final_channels * L.num_classes)


def plain_forward(steps: Sequence[Step],
                  params: Mapping[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The steps in plaintext (JAX on CPU, float32, one jit): f(x [1,C,H,W]) → logits [1,K]."""
    import jax
    import jax.numpy as jnp
    names = sorted({p for st in steps for p in st.params})

    def full(x: Array, *pv: Array) -> Array:
        env = {"x": x, **dict(zip(names, pv))}
        for st in steps:
            env[st.output] = st.fn(*[env[n] for n in st.inputs], *[env[p] for p in st.params])
        return env[steps[-1].output]

    f = jax.jit(full)
    pv = [jnp.asarray(params[n]) for n in names]

    def forward(x: np.ndarray) -> np.ndarray:
        return np.asarray(f(jnp.asarray(x, jnp.float32), *pv))
    return forward
