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
import os
import re
import tempfile
import threading
import time

import numpy as np

from . import PiError

_LOG = {"path": None, "offset": 0}
_RE_EXEC = re.compile(r"SPU execution (\S+) completed")
_RE_LINK = re.compile(r"Link details: total send bytes (\d+), recv bytes (\d+), "
                      r"send actions (\d+), recv actions (\d+)")


def _libspu():
    try:
        import spu.libspu as libspu
        from spu import api as spu_api
        from spu.utils import frontend as spu_fe
    except ImportError as e:
        raise PiError(f"SecretFlow SPU is not installed in this Python ({e}); run tools/pi/setup_pi.sh")
    return libspu, spu_api, spu_fe


def _setup_logging():
    libspu, _, _ = _libspu()
    if _LOG["path"] is None:
        d = tempfile.mkdtemp(prefix="senet_pi_")
        _LOG["path"] = os.path.join(d, "spu.log")
        opts = libspu.logging.LogOptions()
        opts.enable_console_logger = False
        opts.system_log_path = _LOG["path"]
        libspu.logging.setup_logging(opts)
    return _LOG["path"]


def _read_new_runs():
    """(executable name, send, recv, send actions, recv actions) of the runs logged since last call."""
    path = _LOG["path"]
    if not os.path.exists(path):
        return []
    with open(path, "r", errors="replace") as f:
        f.seek(_LOG["offset"])
        text = f.read()
    cut = text.rfind("\n") + 1          # only whole lines; the rest is read next time
    _LOG["offset"] += len(text[:cut].encode("utf-8", errors="replace"))
    runs, name = [], None
    for line in text[:cut].splitlines():
        m = _RE_EXEC.search(line)
        if m:
            name = m.group(1)
            continue
        m = _RE_LINK.search(line)
        if m:
            runs.append((name,) + tuple(int(v) for v in m.groups()))
            name = None
    return runs


def _var(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


PROTOCOLS = ("semi2k", "cheetah")


def measure(steps, params, images, protocol, public_names=(), weights_public=False):
    """Runs every image through the steps under SPU. Returns (records, logits):
    records[i][j] = dict of step j on image i (bytes, messages, seconds); logits[i] = [K] array."""
    libspu, spu_api, spu_fe = _libspu()
    _setup_logging()
    _read_new_runs()  # skip whatever an earlier measurement left unread
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

    def vis(p):
        return PUB if (p in public_names or weights_public) else SEC

    executables = []
    for j, st in enumerate(steps):
        def g(*a, _f=st.fn):
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
    outs = {0: [], 1: []}
    errors = []

    def party(rank):
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
    runs = []
    for _ in range(50):  # the log file is written by SPU's logger; allow it to catch up
        runs += _read_new_runs()
        if len(runs) >= len(images) * len(steps):
            break
        time.sleep(0.1)
    if len(runs) != len(images) * len(steps):
        raise PiError(f"expected {len(images) * len(steps)} SPU runs in the log '{_LOG['path']}', "
                      f"found {len(runs)}")
    records = []
    for i in range(len(images)):
        rec = []
        for j, st in enumerate(steps):
            name, sb, rb, sa, ra = runs[i * len(steps) + j]
            if name != f"step{j:03d}":
                raise PiError(f"SPU log out of order: run {i * len(steps) + j} is '{name}', "
                              f"expected step{j:03d}")
            rec.append({"step": st.name, "kind": st.kind, "relus": st.relus,
                        "how": st.how,
                        "send_bytes": sb, "recv_bytes": rb, "send_msgs": sa, "recv_msgs": ra,
                        "seconds": seconds[i][j]})
        records.append(rec)
    logits = [np.asarray(io.reconstruct([outs[0][i], outs[1][i]])).reshape(-1)
              for i in range(len(images))]
    return records, logits
