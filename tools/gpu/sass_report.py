#!/usr/bin/env python3
"""tools/gpu/sass_report.py — what the compiled CUDA kernels look like, without a GPU.

Reads the sm_90 machine code (SASS) that nvcc put in the kernel library and reports, per kernel:
registers, shared memory, local memory (spills), and the instruction mix of its main loop — the
numbers that decide how close a GEMM-like kernel can come to the FP32 (FFMA) or tensor-core (HMMA)
roof before any GPU runs it.

  tools/gpu/sass_report.py build/kernels/libsenet_kernels_cuda.a [--arch sm_90] [--filter conv]
                           [--markdown] [--cuobjdump PATH]

cuobjdump comes with the CUDA toolkit or the PyPI wheel nvidia-cuda-cuobjdump (this script finds it
on PATH, under /usr/local/cuda/bin, or in such a wheel of the running Python).

How the main loop is found: SASS prints each branch with its target address, so a loop is a
backward branch (`BRA target` with target ≤ its own address) and its body is [target, branch].
The main loop is the loop whose body holds the most FFMA + HMMA instructions (of equals, the
shortest) — for an implicit-GEMM kernel, the k-loop over the shared-memory tiles, with the tile
loads in it. Its mix is that of one iteration's longest path: from the body's first instruction to
its back branch, following the forward branches — an if/else in the body (nvcc's two versions of a
load when a launch-uniform pointer may be null, say) counts its longer arm, not both, and a skip
taken only on the last iteration (`if (more) load`) counts as not taken. Static otherwise: a nested
loop (a tile-load loop inside the k-loop) counts once although it runs several times, so the FFMA
share is an upper bound on what the loop issues where it has one. Its mix:
  ffma%    FFMA (and FFMA2) / all instructions in the body: the share of issue slots doing math
  hmma     tensor-core MMA instructions in the body (HMMA/ HGMMA)
  lds      shared-memory loads in the body, and how many are 128-bit (LDS.128)
  ldg cover  a/b: b is the loop's math instructions (FFMA + HMMA), a the fewest of them issued
           between one of its global loads and the first instruction that reads the loaded value
           (load_cover): b/b when every load flies during a whole slice's math (register
           prefetch), 0/b when a load's value is used at once and the warp waits for memory
  ldg128 / ldgsts   vectorised global loads / cp.async copies anywhere in the kernel
Targets (issue 16): ffma% ≥ 60 in the SIMT conv kernels, HMMA in the TF32 ones, no spills.
--expect-hmma NAME makes the last two a check (the CTest sass.report uses it on the TF32 kernels),
--expect-cover REGEX a cover of at least --min-cover (default half) of the loop's math (the CTest:
every kernel over a plain hoisting gather).
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field

_FUNC = re.compile(r"^\s*Function\s*:\s*(\S+)")
_RES_FUNC = re.compile(r"^\s*Function\s+(\S+):")
_RES = re.compile(r"REG:(\d+)\s+STACK:(\d+)\s+SHARED:(\d+)\s+LOCAL:(\d+)")
_INSN = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?);")


@dataclass
class Kernel:
    mangled: str
    name: str = ""
    regs: int = 0
    shared: int = 0
    local: int = 0
    stack: int = 0
    insns: list[tuple[int, str, str]] = field(default_factory=list)  # (address, opcode, text)


@dataclass
class LoopMix:
    length: int
    ffma: int
    hmma: int
    lds: int
    lds128: int
    ldg_cover: int | None = None  # see load_cover()

    @property
    def ffma_share(self) -> float:
        return self.ffma / self.length if self.length else 0.0


def find_cuobjdump(given: str | None) -> str:
    if given:
        return given
    candidates = [shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump"]
    for site in sys.path:
        candidates += glob.glob(os.path.join(site, "nvidia", "*", "bin", "cuobjdump"))
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("sass_report: cuobjdump not found: install the CUDA toolkit's, or "
             "`pip install nvidia-cuda-cuobjdump` and run this script with that Python")


def opcode(text: str) -> str:
    """'@!P0 LDS.128 R4, [R2+0x10]' -> 'LDS.128'."""
    words = text.split()
    if words and words[0].startswith("@"):
        words = words[1:]
    return words[0] if words else ""


def parse_sass(text: str, kernels: dict[str, Kernel]) -> None:
    """`cuobjdump -sass` output: each `Function : name` and its instructions."""
    current: Kernel | None = None
    for line in text.splitlines():
        if m := _FUNC.match(line):
            current = kernels.setdefault(m.group(1), Kernel(m.group(1)))
            current.insns = []
        elif current is not None and (m := _INSN.match(line)):
            body = m.group(2).strip()
            current.insns.append((int(m.group(1), 16), opcode(body), body))


def parse_res_usage(text: str, kernels: dict[str, Kernel]) -> None:
    """`cuobjdump -res-usage` output: `Function name:` then `REG:.. STACK:.. SHARED:.. LOCAL:..`."""
    name = None
    for line in text.splitlines():
        if m := _RES_FUNC.match(line):
            name = m.group(1)
        elif name and (m := _RES.search(line)):
            k = kernels.setdefault(name, Kernel(name))
            k.regs, k.stack, k.shared, k.local = map(int, m.groups())
            name = None


def read_kernels(cuobjdump: str, files: list[str], arch: str) -> dict[str, Kernel]:
    kernels: dict[str, Kernel] = {}
    for f in files:
        for flag, parse in (("-sass", parse_sass), ("-res-usage", parse_res_usage)):
            out = subprocess.run([cuobjdump, flag, "-arch", arch, f], capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"sass_report: {cuobjdump} {flag} {f} failed: {out.stderr.strip()}")
            parse(out.stdout, kernels)
    names = subprocess.run(["c++filt"], input="\n".join(kernels), capture_output=True, text=True)
    readable = names.stdout.splitlines()
    for i, k in enumerate(kernels.values()):
        k.name = readable[i] if i < len(readable) else k.mangled
    return kernels


def loops(k: Kernel) -> list[tuple[int, int]]:
    """[(start, end)] of every backward branch's body, by address."""
    out = []
    for addr, op, text in k.insns:
        target = branch_target(op, text)
        if target is not None and target <= addr:
            out.append((target, addr))
    return out


def branch_target(op: str, text: str) -> int | None:
    """The address a BRA jumps to (None for any other instruction)."""
    if not op.startswith("BRA"):
        return None
    target = re.search(r"0x([0-9a-f]+)", text.split("BRA", 1)[1])
    return int(target.group(1), 16) if target else None


def longest_path(body: list[tuple[int, str, str]]) -> list[str]:
    """The opcodes on the longest path from body[0] to body[-1] (the back branch) over fall-through
    and forward branches inside the body; the whole body when no path reaches its end."""
    return [op for _, op, _ in longest_path_insns(body)]


def longest_path_insns(body: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """longest_path, as the instructions themselves."""
    index = {addr: i for i, (addr, _, _) in enumerate(body)}
    best: list[int | None] = [None] * len(body)  # instructions on the longest path to i
    prev: list[int] = [-1] * len(body)
    best[0] = 1
    for i, (addr, op, text) in enumerate(body):
        if best[i] is None:
            continue
        conditional = text.startswith("@") and not text.startswith("@PT ")
        succ = []
        target = branch_target(op, text)
        if target is not None and target > addr and target in index:
            succ.append(index[target])
        if (target is None and op != "EXIT") or conditional:
            succ.append(i + 1)
        for j in succ:
            if j < len(body) and (best[j] is None or best[i] + 1 > best[j]):
                best[j], prev[j] = best[i] + 1, i
    if best[-1] is None:
        return list(body)
    path, i = [], len(body) - 1
    while i >= 0:
        path.append(body[i])
        i = prev[i]
    return path[::-1]


def is_math(op: str) -> bool:
    return op.split(".")[0] in ("FFMA", "FFMA2", "HMMA", "HGMMA")


_REG = re.compile(r"\bR(\d+)(\.64)?\b")


def _width(op: str) -> int:
    return 4 if ".128" in op else 2 if ".64" in op else 1


def written(op: str, text: str) -> set[int]:
    """The registers a global load writes ('LDG.E.64 R4, …' → {4, 5}); empty for anything else."""
    if not op.startswith("LDG") or op.startswith("LDGSTS"):
        return set()
    m = _REG.search(text.split(None, 2)[-1] if text.startswith("@") else text.split(None, 1)[-1])
    return set(range(int(m.group(1)), int(m.group(1)) + _width(op))) if m else set()


def read(op: str, text: str) -> set[int]:
    """The registers an instruction reads: every register operand but the first, which it writes —
    a store's are all read (its data operand as wide as the store); a ".64" address reads a pair;
    HMMA.1688's operands A, B, C are 4, 2 and 4 registers."""
    body = text.split(None, 1)[1] if text.startswith("@") else text
    operands = [o.strip() for o in body.split(None, 1)[-1].split(",")] if " " in body else []
    base = op.split(".")[0]
    stores = base in ("STS", "STG", "ST", "STL", "RED", "ATOM", "ATOMS", "ATOMG")
    regs: set[int] = set()
    for i, o in enumerate(operands):
        if i == 0 and not stores:
            continue
        for m in _REG.finditer(o):
            n, span = int(m.group(1)), 2 if m.group(2) else 1
            if stores and not o.startswith("["):
                span = _width(op)
            if base == "HMMA" and op.startswith("HMMA.1688"):
                span = (4, 2, 4)[i - 1] if 1 <= i <= 3 else 1
            regs |= set(range(n, n + span))
    return regs


def load_cover(path: list[tuple[int, str, str]]) -> int | None:
    """How much math hides the latency of the loop's global loads: of each load (LDG) on one
    iteration's path, the math instructions (FFMA/HMMA) issued before the first instruction that
    reads its result — following the path around the back branch into the next iteration — and of
    those, the least. A register-prefetching loop issues slice s+1's loads before slice s's math
    and first reads them when it stores them to shared memory after it: its cover is the whole
    iteration's math. A load read at once (a select or a rounding on the loaded value in the load
    step) covers 0: the warp waits out the whole global latency there. None: no global load."""
    best = None
    n = len(path)
    for i, (_, op, text) in enumerate(path):
        regs = written(op, text)
        if not regs:
            continue
        math = 0
        for j in range(i + 1, i + 1 + n):
            _, op2, text2 = path[j % n]
            if read(op2, text2) & regs:
                break
            math += is_math(op2)
        best = math if best is None else min(best, math)
    return best


def loop_mix(k: Kernel, start: int, end: int) -> LoopMix:
    insns = longest_path_insns([insn for insn in k.insns if start <= insn[0] <= end])
    ops = Counter(op.split(".")[0] for _, op, _ in insns)
    return LoopMix(length=len(insns), ffma=ops["FFMA"] + ops["FFMA2"],
                   hmma=ops["HMMA"] + ops["HGMMA"], lds=ops["LDS"],
                   lds128=sum(1 for _, op, _ in insns if op.startswith("LDS.128")),
                   ldg_cover=load_cover(insns))


def main_loop(k: Kernel) -> LoopMix | None:
    """The loop whose body holds the most FFMA + HMMA; of equals, the shortest (innermost)."""
    mixes = [loop_mix(k, s, e) for s, e in loops(k)]
    mixes = [m for m in mixes if m.ffma + m.hmma > 0]
    return max(mixes, key=lambda m: (m.ffma + m.hmma, -m.length)) if mixes else None


def cover_problem(name: str, m: LoopMix | None, min_share: float) -> str | None:
    """--expect-cover's check of one kernel: None when every global load of its main loop flies
    during at least min_share of the loop's math (FFMA + HMMA), else what is wrong. A cover above 0
    but far below the math is a prefetch the compiler sank: ptxas may move a slice's loads down
    to just before their stores, and the warp then waits out the global latency every slice."""
    if m is None:
        return f"{name}: no main loop found"
    math = m.ffma + m.hmma
    if m.ldg_cover is None:
        return f"{name}: no global load in its main loop (not the prefetching loop expected)"
    if m.ldg_cover == 0:
        return (f"{name}: a main-loop global load is read before any math (ldg cover 0): the "
                "prefetch does not overlap the math")
    if m.ldg_cover < min_share * math:
        return (f"{name}: ldg cover {m.ldg_cover}/{math}, under {min_share:g} of the loop's math: "
                "its prefetch loads were issued late in the slice (sunk toward their stores)")
    return None


def ffma_problem(name: str, m: LoopMix | None, local: int, min_percent: float) -> str | None:
    """--expect-ffma's check of one SIMT kernel: None when its main loop issues at least
    min_percent % FFMA and it spills nothing, else what is wrong."""
    if m is None:
        return f"{name}: no main loop found"
    if 100 * m.ffma_share < min_percent:
        return f"{name}: main-loop FFMA {100 * m.ffma_share:.1f} %, under {min_percent:g} %"
    if local > 0:
        return f"{name}: {local} bytes of local memory (spills)"
    return None


def short(name: str) -> str:
    """senet::conv2d_fprop_implicit_gemm_kernel<senet::detail::gemm_tile<64, 64, 8, 4, 4> >(...)
    -> conv2d_fprop_implicit_gemm_kernel<64,64,8,4,4>"""
    name = name.replace("(anonymous namespace)::", "")
    if name.startswith("void "):  # a function template's demangled name starts with its return type
        name = name[len("void "):]
    base = name.split("(")[0].replace("senet::", "").replace("detail::", "")
    base = re.sub(r"gemm_tile<([^>]*)>", lambda m: m.group(1).replace(" ", ""), base)
    return base.replace(" ", "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1].strip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="object files or static libraries with sm_90 SASS")
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--filter", default="", help="only kernels whose name contains this")
    ap.add_argument("--markdown", action="store_true", help="a markdown table")
    ap.add_argument("--cuobjdump", help="path of cuobjdump")
    ap.add_argument("--expect", action="append", default=[], metavar="NAME",
                    help="fail (exit 1) unless some kernel's name contains NAME and every such "
                         "kernel has a main loop (repeatable; the test's check that SASS was read)")
    ap.add_argument("--expect-hmma", action="append", default=[], metavar="NAME",
                    help="fail unless some kernel's name contains NAME and every such kernel has "
                         "tensor-core MMAs in its main loop and no spills (repeatable)")
    ap.add_argument("--expect-ffma", action="append", default=[], metavar="NAME",
                    help="fail unless some kernel's name contains NAME and every such kernel's "
                         "main loop is at least --min-ffma %% FFMA and it has no spills (the "
                         "SIMT kernels' target, issue 16 item 5; repeatable)")
    ap.add_argument("--min-ffma", type=float, default=60, metavar="PERCENT",
                    help="the FFMA share of the main loop that --expect-ffma requires (default 60)")
    ap.add_argument("--expect-cover", action="append", default=[], metavar="REGEX",
                    help="fail unless some kernel's short name matches REGEX (re.search) and every "
                         "such kernel's main loop issues at least --min-cover of its math between "
                         "each global load and its first use (repeatable)")
    ap.add_argument("--skip", action="append", default=[], metavar="NAME",
                    help="leave out kernels whose name contains NAME, from the table and the "
                         "checks (repeatable): kernels with no code for this architecture, as "
                         "the wgmma ones on sm_80 (their body there is a __trap())")
    ap.add_argument("--min-cover", type=float, default=0.5, metavar="FRACTION",
                    help="the share of the main loop's math (FFMA + HMMA) that --expect-cover "
                         "requires before each load's first use (default 0.5)")
    a = ap.parse_args()
    kernels = read_kernels(find_cuobjdump(a.cuobjdump), a.files, a.arch)
    kernels = {n: k for n, k in kernels.items() if not any(s in k.name for s in a.skip)}
    rows = []
    for k in sorted(kernels.values(), key=lambda k: short(k.name)):
        if a.filter not in k.name or not k.insns:
            continue
        m = main_loop(k)
        ops = Counter(op for _, op, _ in k.insns)
        rows.append([short(k.name), str(k.regs), str(k.shared), str(k.local),
                     str(m.length) if m else "–", f"{100 * m.ffma_share:.0f}" if m else "–",
                     str(m.hmma) if m else "–", f"{m.lds} ({m.lds128})" if m else "–",
                     f"{m.ldg_cover}/{m.ffma + m.hmma}" if m and m.ldg_cover is not None else "–",
                     "yes" if any(op.startswith("LDG") and ".128" in op for op in ops) else "no",
                     "yes" if any(op.startswith("LDGSTS") for op in ops) else "no"])
    head = ["kernel", "regs", "smem B", "spill B", "loop insns", "ffma %", "hmma", "lds (128-bit)",
            "ldg cover", "ldg128", "ldgsts"]
    problems = []
    for want in a.expect:
        found = [k for k in kernels.values() if want in k.name and k.insns]
        if not found:
            problems.append(f"no kernel named like '{want}' in the SASS")
        problems += [f"{short(k.name)}: no main loop found" for k in found if main_loop(k) is None]
    for want in a.expect_hmma:
        found = [k for k in kernels.values() if want in k.name and k.insns]
        if not found:
            problems.append(f"no kernel named like '{want}' in the SASS")
        for k in found:
            m = main_loop(k)
            if m is None or m.hmma == 0:
                problems.append(f"{short(k.name)}: no HMMA in its main loop")
            if k.local > 0:
                problems.append(f"{short(k.name)}: {k.local} bytes of local memory (spills)")
    for want in a.expect_ffma:
        found = [k for k in kernels.values() if want in k.name and k.insns]
        if not found:
            problems.append(f"no kernel named like '{want}' in the SASS")
        problems += [p for k in found
                     if (p := ffma_problem(short(k.name), main_loop(k), k.local, a.min_ffma))]
    for want in a.expect_cover:
        found = [k for k in kernels.values() if k.insns and re.search(want, short(k.name))]
        if not found:
            problems.append(f"no kernel's short name matches '{want}'")
        problems += [p for k in found
                     if (p := cover_problem(short(k.name), main_loop(k), a.min_cover))]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for r in rows:
            print("| `" + r[0] + "` | " + " | ".join(r[1:]) + " |")
    else:
        width = [max(len(x) for x in col) for col in zip(head, *rows)]
        for r in [head] + rows:
            print("  ".join(x.ljust(w) for x, w in zip(r, width)))
    for p in problems:
        print(f"sass_report: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
