"""Running the steps of a Network under SecretFlow SPU with two parties, measuring each step.

Two parties in one process over SPU's in-memory link (libspu.link.create_mem; the brpc link over
127.0.0.1 sends the same bytes and messages). Each step is one SPU executable; the activations
stay secret-shared in the parties' runtimes between steps, so a step's traffic is exactly what
that linear layer or ReLU site costs. With enable_pphlo_profile on rank 0, SPU logs after each run
  "[Profiling] SPU execution <name> completed, ..."  and
  "Link details: total send bytes B, recv bytes R, send actions S, recv actions T"
(rank 0's view; rank 1 sends R and receives B). SPU's log goes to a file we parse.
Inputs: the image is secret (the client's), weights secret (the server's model; or public),
masks of the `where` variant public. Shares are made locally by spu.Io; handing them out is not
part of a run and is not counted. Each (model, protocol) gets fresh runtimes: the first image
carries any one-time setup (Cheetah's OT/HE keys); later images show the steady state.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import PiError
from .network import Step
from .records import StepCost, Traffic

PROTOCOLS = ("semi2k", "cheetah")
_RE_EXEC = re.compile(r"SPU execution (\S+) completed")
_RE_LINK = re.compile(r"Link details: total send bytes (\d+), recv bytes (\d+), "
                      r"send actions (\d+), recv actions (\d+)")


@dataclass(frozen=True)
class _Spu:
    """SPU's modules (imported when a measurement starts: the venv's, tools/pi/setup_pi.sh)."""
    libspu: Any
    api: Any
    frontend: Any


def _spu() -> _Spu:
    try:
        import spu.libspu as libspu
        from spu import api as spu_api
        from spu.utils import frontend as spu_fe
    except ImportError as e:
        raise PiError(f"SecretFlow SPU is not installed in this Python ({e}); run tools/pi/setup_pi.sh")
    return _Spu(libspu, spu_api, spu_fe)


@dataclass(frozen=True)
class LoggedRun:
    """One executable run as SPU's profile log reports it (rank 0's view of the link)."""
    name: str | None
    send_bytes: int
    recv_bytes: int
    send_actions: int
    recv_actions: int


@dataclass
class _SpuLog:
    """SPU's log file (set up once per process) and how far it has been read."""
    path: str | None = None
    offset: int = 0

    def setup(self, libspu: Any) -> str:
        if self.path is None:
            d = tempfile.mkdtemp(prefix="senet_pi_")
            self.path = os.path.join(d, "spu.log")
            opts = libspu.logging.LogOptions()
            opts.enable_console_logger = False
            opts.system_log_path = self.path
            libspu.logging.setup_logging(opts)
        return self.path

    def read_new_runs(self) -> list[LoggedRun]:
        """The runs logged since the last call (whole lines only; the rest is read next time)."""
        if self.path is None or not os.path.exists(self.path):
            return []
        with open(self.path, "r", errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        cut = text.rfind("\n") + 1
        self.offset += len(text[:cut].encode("utf-8", errors="replace"))
        return parse_runs(text[:cut])


_LOG = _SpuLog()


def parse_runs(text: str) -> list[LoggedRun]:
    """The (executable, link counters) pairs of SPU's profile log lines, in order."""
    runs, name = [], None
    for line in text.splitlines():
        m = _RE_EXEC.search(line)
        if m:
            name = m.group(1)
            continue
        m = _RE_LINK.search(line)
        if m:
            sb, rb, sa, ra = (int(v) for v in m.groups())
            runs.append(LoggedRun(name, sb, rb, sa, ra))
            name = None
    return runs


def _var(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass(frozen=True, eq=False)
class Measurement:
    costs: list[list[StepCost]]     # costs[i][j]: step j on image i
    logits: list[np.ndarray]        # logits[i]: [K], reconstructed from the shares


def measure(steps: Sequence[Step], params: Mapping[str, np.ndarray], images: Sequence[np.ndarray],
            protocol: str, *, public_names: Collection[str] = (),
            weights_public: bool = False) -> Measurement:
    """Runs every image ([C,H,W]) through the steps under SPU, fresh runtimes for this call."""
    spu = _spu()
    libspu, spu_api, spu_fe = spu.libspu, spu.api, spu.frontend
    _LOG.setup(libspu)
    _LOG.read_new_runs()  # skip whatever an earlier measurement left unread
    if protocol not in PROTOCOLS:
        raise PiError(f"unknown protocol '{protocol}' (one of {', '.join(PROTOCOLS)})")
    cfg = libspu.RuntimeConfig(protocol=getattr(libspu.ProtocolKind, protocol.upper()),
                               field=libspu.FieldType.FM64)
    cfg.enable_pphlo_profile = True
    io = spu_api.Io(2, cfg)
    SEC, PUB = libspu.Visibility.VIS_SECRET, libspu.Visibility.VIS_PUBLIC

    # Shapes of every activation from a plaintext pass (JAX's abstract evaluation).
    import jax
    import jax.numpy as jnp
    shapes = {"x": jax.ShapeDtypeStruct(images[0][None].shape, jnp.float32)}
    for st in steps:
        args = [shapes[n] for n in st.inputs] + [jax.ShapeDtypeStruct(params[p].shape, params[p].dtype)
                                                 for p in st.params]
        shapes[st.output] = jax.eval_shape(st.fn, *args)

    def vis(p: str) -> Any:
        return PUB if (p in public_names or weights_public) else SEC

    executables = []
    for j, st in enumerate(steps):
        def g(*a: Any, _f: Any = st.fn) -> Any:
            return _f(*a)
        g.__name__ = g.__qualname__ = f"step{j:03d}"
        ex_args = [np.zeros(shapes[n].shape, np.float32) for n in st.inputs] + [params[p] for p in st.params]
        in_names = [_var(n) for n in st.inputs] + [_var(p) for p in st.params]
        ex, _ = spu_fe.compile(spu_fe.Kind.JAX, g, tuple(ex_args), {}, in_names,
                               [SEC] * len(st.inputs) + [vis(p) for p in st.params],
                               lambda outs, o=_var(st.output): [o])
        executables.append(ex)

    pnames = sorted({p for st in steps for p in st.params})
    pshares = {p: io.make_shares(np.asarray(params[p]), vis(p)) for p in pnames}
    xshares = [io.make_shares(np.asarray(x[None], np.float32), SEC) for x in images]
    out_name = _var(steps[-1].output)

    desc = libspu.link.Desc()
    for r in range(2):
        desc.add_party(f"id_{r}", f"thread_{r}")
    seconds = [[0.0] * len(steps) for _ in images]
    outs: dict[int, list[Any]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def party(rank: int) -> None:
        try:
            link = libspu.link.create_mem(desc, rank)
            c = libspu.RuntimeConfig(cfg)
            if rank != 0:
                c.enable_pphlo_profile = False
            rt = spu_api.Runtime(link, c)
            for p in pnames:
                rt.set_var(_var(p), pshares[p][rank])
            for i in range(len(images)):
                rt.set_var("x", xshares[i][rank])
                for j, ex in enumerate(executables):
                    t0 = time.perf_counter()
                    rt.run(ex)
                    if rank == 0:
                        seconds[i][j] = time.perf_counter() - t0
                outs[rank].append(rt.get_var(out_name))
        except BaseException as e:  # noqa: BLE001  (reported by the caller's thread)
            errors.append(e)

    threads = [threading.Thread(target=party, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise PiError(f"SPU run ({protocol}) failed: {errors[0]}")
    runs: list[LoggedRun] = []
    for _ in range(50):  # the log file is written by SPU's logger; allow it to catch up
        runs += _LOG.read_new_runs()
        if len(runs) >= len(images) * len(steps):
            break
        time.sleep(0.1)
    if len(runs) != len(images) * len(steps):
        raise PiError(f"expected {len(images) * len(steps)} SPU runs in the log '{_LOG.path}', "
                      f"found {len(runs)}")
    costs = []
    for i in range(len(images)):
        rec = []
        for j, st in enumerate(steps):
            run = runs[i * len(steps) + j]
            if run.name != f"step{j:03d}":
                raise PiError(f"SPU log out of order: run {i * len(steps) + j} is '{run.name}', "
                              f"expected step{j:03d}")
            rec.append(StepCost(st.name, st.kind, st.how, st.relus,
                                Traffic.of_step(run.send_bytes, run.recv_bytes, run.send_actions,
                                                run.recv_actions, seconds[i][j]), st.macs))
        costs.append(rec)
    logits = [np.asarray(io.reconstruct([outs[0][i], outs[1][i]])).reshape(-1)
              for i in range(len(images))]
    return Measurement(costs, logits)
