"""The inference network of a senet ResNet checkpoint, as a list of SPU-sized steps.

ResNet-18/34, CIFAR form (models/resnet.cpp). Eval-mode BatchNorm (γ, β, running mean/var,
eps = 1e-5) is folded into the convolution before it:  s = γ/√(var+eps),  W' = W·s (per output
channel),  b' = β − mean·s.  The forward is then a chain of steps:
  linear  conv1                         z = conv(x, W') + b'
  relu    relu0                         a = site(z)
  per block layerL.B:
  linear  layerL.B.conv1                z = conv(a_in, W1', stride) + b1'
  relu    layerL.B.relu1
  linear  layerL.B.conv2+shortcut       z = conv(a1, W2') + b2' + (conv1×1(a_in, Ws', stride) + bs' | a_in)
  relu    layerL.B.relu2                (the post-residual site, after the add)
  linear  fc                            logits = mean_hw(a) · Wfcᵀ + bfc
A ReLU site evaluates (how = the site's kind):
  dense    max(z, 0) on all C·H·W positions (all-ReLU site, or a site outside the budget)
  none     z (mask keeps nothing: identity, no ReLU)
  compact  the kept positions gathered, ONE batched ReLU over them, and put back with a single
           inverse-permutation gather: concat([relu(h[idx]), h[cidx]])[inv], h = z flattened,
           cidx the complement of idx, inv = argsort(concat([idx, cidx]))
  where    the naive masked model: where(m, max(z, 0), z) with the mask m a PUBLIC input, so the
           runtime evaluates every position (what a masked model costs if nobody compacts it).
Steps are pure functions of named arrays, so the same code runs in plaintext (JAX on CPU) and
under SPU (one executable per step, the activations staying secret-shared in between).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import PiError

BN_EPS = 1e-5


@dataclass
class Site:
    name: str
    shape: tuple          # (C, H, W)
    counted: bool         # in the ReLU budget (else a full ReLU, as in the engine)
    mask: np.ndarray      # the checkpoint's mask buffer
    kind: str = "dense"   # dense | none | compact (partial) — the student's `where` is a variant
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def size(self):
        return int(np.prod(self.shape))

    @property
    def kept(self):
        return self.size if self.kind == "dense" else int(self.indices.size)


@dataclass
class Step:
    name: str
    kind: str             # linear | relu
    inputs: list          # activation names (secret)
    params: list          # parameter names (weights secret or public; masks public)
    output: str
    fn: object            # fn(*inputs, *params) → output (jax.numpy)
    site: Site = None
    relus: int = 0        # ReLUs this step evaluates (comparisons)
    how: str = "linear"   # linear, or the site's evaluation: dense | none | compact | where


def site_fn(s, how):
    """The function of a ReLU site (z [1,C,H,W] → same) and its public parameter names."""
    import jax.numpy as jnp
    if how == "dense":
        return (lambda z: jnp.maximum(z, 0.0)), []
    if how == "none":
        return (lambda z: z), []
    if how == "where":
        return (lambda z, m: jnp.where(m[None], jnp.maximum(z, 0.0), z)), [s.name + ".keep"]
    if how != "compact":
        raise PiError(f"unknown site evaluation '{how}'")
    idx = np.asarray(s.indices, np.int64)
    cidx = np.setdiff1d(np.arange(s.size, dtype=np.int64), idx, assume_unique=True)
    inv = np.argsort(np.concatenate([idx, cidx]), kind="stable")

    def fn(z):
        h = z.reshape(-1)
        return jnp.concatenate([jnp.maximum(h[idx], 0.0), h[cidx]])[inv].reshape(z.shape)
    return fn, []


def _width(base, w):
    return max(1, int(math.floor(base * w + 0.5)))


def resnet_sites(cfg):
    m = cfg["model"]
    arch = m.get("arch", "resnet18")
    if arch not in ("resnet18", "resnet34"):
        raise PiError(f"pi-measure supports model.arch resnet18 and resnet34; '{arch}' (pre-activation "
                      f"WideResNet: BN between the add and the ReLU does not fold into a conv) is "
                      f"not supported")
    wf = [float(v) for v in m.get("width_factors", []) or []]
    if wf and wf != [1.0]:
        raise PiError(f"pi-measure does not support width-switchable models (model.width_factors = "
                      f"{wf}); export the model at one width first")
    depth = [3, 4, 6, 3] if arch == "resnet34" else [2, 2, 2, 2]
    S, w = int(m.get("image_size", 32)), float(m.get("width", 1.0))
    c0 = _width(64, w)
    layout = [("relu0", c0, S, bool(m.get("stem_site", True)))]
    blocks, cin, H = [], c0, S
    for layer in range(4):
        cout = _width(64 << layer, w)
        for b in range(depth[layer]):
            stride = 2 if (layer > 0 and b == 0) else 1
            P = (H + 2 - 3) // stride + 1
            name = f"layer{layer + 1}.{b}"
            blocks.append((name, cin, cout, stride, P))
            layout += [(name + ".relu1", cout, P, True), (name + ".relu2", cout, P, True)]
            cin, H = cout, P
    return layout, blocks, cin


class Network:
    """Folded weights (name → float32 array), the sites and the steps of one checkpoint."""

    def __init__(self, ckpt, masks_path=None):
        import jax.numpy as jnp  # noqa: F401  (fail early if the venv lacks JAX)
        self.ckpt = ckpt
        cfg = ckpt.config()
        m = cfg.get("model", {})
        self.in_shape = (int(m.get("in_channels", 1)), int(m.get("image_size", 32)),
                         int(m.get("image_size", 32)))
        self.num_classes = int(m.get("num_classes", 10))
        layout, blocks, cfinal = resnet_sites(cfg)
        self.sites = []
        for name, C, H, counted in layout:
            mk = ckpt.tensor(name + ".mask", dtype=np.uint8)
            if tuple(mk.shape) not in ((C, H, H), (C,)):
                raise PiError(f"checkpoint '{ckpt.path}': tensor '{name}.mask' has shape "
                              f"{list(mk.shape)}, the model expects [{C}, {H}, {H}] or [{C}]")
            if not np.isin(mk, (0, 1)).all():
                raise PiError(f"checkpoint '{ckpt.path}': tensor '{name}.mask' has values other "
                              f"than 0 and 1")
            self.sites.append(Site(name, (C, H, H), counted, mk))
        from .masks import checkpoint_mask_indices, read_index_lists
        counted = [s for s in self.sites if s.counted]
        lists = (read_index_lists(masks_path, counted, ckpt) if masks_path else
                 {s.name: checkpoint_mask_indices(s.mask, s.shape) for s in counted})
        for s in self.sites:
            if not s.counted or lists[s.name].size == s.size:
                s.kind = "dense"    # the engine keeps an all-ones (or outside-budget) site a ReLU
            elif lists[s.name].size == 0:
                s.kind, s.indices = "none", lists[s.name]
            else:
                s.kind, s.indices = "compact", lists[s.name]
        self.weights = {}
        self._fold("conv1", "bn1")
        for name, cin, cout, stride, _ in blocks:
            self._fold(name + ".conv1", name + ".bn1")
            self._fold(name + ".conv2", name + ".bn2")
            if stride != 1 or cin != cout:
                self._fold(name + ".shortcut.0", name + ".shortcut.1")
        self.weights["fc.w"] = ckpt.tensor("fc.weight", (self.num_classes, cfinal), np.float32)
        self.weights["fc.b"] = ckpt.tensor("fc.bias", (self.num_classes,), np.float32)
        self.blocks = blocks

    def _fold(self, conv, bn):
        w = self.ckpt.tensor(conv + ".weight", dtype=np.float32).astype(np.float64)
        K = w.shape[0]
        g, b, mu, var = (self.ckpt.tensor(f"{bn}.{n}", (K,), np.float32).astype(np.float64)
                         for n in ("weight", "bias", "running_mean", "running_var"))
        if (var < 0).any():
            raise PiError(f"checkpoint '{self.ckpt.path}': '{bn}.running_var' has negative entries")
        s = g / np.sqrt(var + BN_EPS)
        self.weights[conv + ".w"] = (w * s[:, None, None, None]).astype(np.float32)
        self.weights[conv + ".b"] = (b - mu * s).astype(np.float32)

    def relu_count(self, variant):
        return sum(self._site_relus(s, variant) for s in self.sites)

    @staticmethod
    def _site_relus(s, variant):
        if s.kind in ("none", "compact") and variant == "where":
            return s.size
        return s.size if s.kind == "dense" else s.kept

    def public_params(self, variant):
        """Public inputs: the masks of the `where` variant (bool [C,H,W])."""
        if variant != "where":
            return {}
        out = {}
        for s in self.sites:
            if s.kind in ("none", "compact"):
                m = np.zeros(s.size, np.bool_)
                m[s.indices] = True
                out[s.name + ".keep"] = m.reshape(s.shape)
        return out

    def steps(self, variant="compact"):
        """variant: compact (kept positions only) or where (naive public-mask select)."""
        if variant not in ("compact", "where"):
            raise PiError(f"unknown variant '{variant}' (compact or where)")
        import jax.numpy as jnp
        from jax import lax

        def conv(x, w, stride, pad):
            return lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)),
                                            dimension_numbers=("NCHW", "OIHW", "NCHW"))

        def bias(b):
            return b[None, :, None, None]

        steps = []

        def site_step(s, inp):
            out = "a:" + s.name
            how = s.kind if not (variant == "where" and s.kind in ("none", "compact")) else "where"
            fn, params = site_fn(s, how)
            steps.append(Step(s.name, "relu", [inp], params, out, fn, s, self._site_relus(s, variant), how))
            return out

        def linear(name, inputs, params, fn):
            out = "z:" + name
            steps.append(Step(name, "linear", inputs, params, out, fn))
            return out

        sites = {s.name: s for s in self.sites}
        z = linear("conv1", ["x"], ["conv1.w", "conv1.b"], lambda x, w, b: conv(x, w, 1, 1) + bias(b))
        a = site_step(sites["relu0"], z)
        for name, cin, cout, stride, _ in self.blocks:
            z1 = linear(name + ".conv1", [a], [name + ".conv1.w", name + ".conv1.b"],
                        lambda x, w, b, st=stride: conv(x, w, st, 1) + bias(b))
            a1 = site_step(sites[name + ".relu1"], z1)
            if stride != 1 or cin != cout:
                z2 = linear(name + ".conv2+shortcut", [a1, a],
                            [name + ".conv2.w", name + ".conv2.b", name + ".shortcut.0.w",
                             name + ".shortcut.0.b"],
                            lambda y, x, w, b, ws, bs, st=stride:
                            conv(y, w, 1, 1) + bias(b) + conv(x, ws, st, 0) + bias(bs))
            else:
                z2 = linear(name + ".conv2+shortcut", [a1, a], [name + ".conv2.w", name + ".conv2.b"],
                            lambda y, x, w, b: conv(y, w, 1, 1) + bias(b) + x)
            a = site_step(sites[name + ".relu2"], z2)
        linear("fc", [a], ["fc.w", "fc.b"], lambda x, w, b: jnp.mean(x, axis=(2, 3)) @ w.T + b[None])
        return steps


def plain_forward(steps, params):
    """The steps in plaintext (JAX on CPU, float32, one jit): f(x [1,C,H,W]) → logits [1,K]."""
    import jax
    import jax.numpy as jnp
    names = sorted({p for st in steps for p in st.params})

    def full(x, *pv):
        env = {"x": x, **dict(zip(names, pv))}
        for st in steps:
            env[st.output] = st.fn(*[env[n] for n in st.inputs], *[env[p] for p in st.params])
        return env[steps[-1].output]

    f = jax.jit(full)
    pv = [jnp.asarray(params[n]) for n in names]
    return lambda x: np.asarray(f(jnp.asarray(x, jnp.float32), *pv))
