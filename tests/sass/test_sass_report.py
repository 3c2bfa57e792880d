"""tests/sass/test_sass_report.py — tools/gpu/sass_report.py's reading of cuobjdump's output, on
hand-written SASS and resource lines (no CUDA needed): instructions and predicates, loops from
backward branches, the main loop (most FFMA, of equals the innermost) and its mix along one
iteration's longest path, names."""
from __future__ import annotations

import sass_report as sr

SASS = """
        Function : _ZN5senet4demoEv
        .headerflags    @"EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   MOV R1, c[0x0][0x28] ;            /* 0x00000a0000017a02 */
        /*0010*/                   LDG.E.128 R4, desc[UR4][R2.64] ;  /* 0x0000000402047981 */
        /*0020*/                   LDS.128 R8, [R0] ;                /* 0x0000000000087984 */
        /*0030*/                   FFMA R12, R8, R9, R12 ;           /* 0x0000000908 */
        /*0040*/                   IADD3 R0, R0, 0x4, RZ ;           /* 0x0000000400 */
        /*0050*/                   FFMA R13, R10, R11, R13 ;         /* 0x0000000b0a */
        /*0060*/               @P0 BRA 0x20 ;                        /* 0xfffffffc00 */
        /*0070*/                   LDS R8, [R0] ;                    /* 0x00000000 */
        /*0080*/                   FFMA R14, R8, R8, R14 ;           /* 0x00000008 */
        /*0090*/              @!P1 BRA 0x70 ;                        /* 0xfffffffc00 */
        /*00a0*/              @!P2 BRA 0x00 ;                        /* 0xfffffffc00 */
        /*00b0*/                   EXIT ;                            /* 0x000000000000794d */
        /*00c0*/                   BRA 0xc0;                         /* 0xfffffffc00 */
"""
RES = """
 Function _ZN5senet4demoEv:
  REG:40 STACK:0 SHARED:4096 LOCAL:16 CONSTANT[0]:600 TEXTURE:0 SURFACE:0 SAMPLER:0
"""


def demo() -> sr.Kernel:
    kernels: dict[str, sr.Kernel] = {}
    sr.parse_sass(SASS, kernels)
    sr.parse_res_usage(RES, kernels)
    return kernels["_ZN5senet4demoEv"]


def test_instructions_and_resources() -> None:
    k = demo()
    assert [op for _, op, _ in k.insns][:3] == ["MOV", "LDG.E.128", "LDS.128"]
    assert k.insns[6] == (0x60, "BRA", "@P0 BRA 0x20")
    assert (k.regs, k.shared, k.local, k.stack) == (40, 4096, 16, 0)
    assert sr.opcode("@!P0 LDS.128 R4, [R2+0x10]") == "LDS.128"


def test_loops_are_backward_branches() -> None:
    # 0x60 → 0x20 and 0x90 → 0x70 are loops, 0xa0 → 0x00 the loop around everything, 0xc0 → 0xc0
    # the end-of-kernel self branch (a loop with no math).
    assert sorted(sr.loops(demo())) == [(0x00, 0xa0), (0x20, 0x60), (0x70, 0x90), (0xc0, 0xc0)]


def test_main_loop_is_the_one_with_the_most_ffma() -> None:
    m = sr.main_loop(demo())
    assert m is not None
    # The outer loop [0x00, 0xa0] holds 3 FFMA of 11 instructions; the inner ones fewer FFMA.
    assert (m.length, m.ffma, m.hmma, m.lds, m.lds128) == (11, 3, 0, 2, 1)
    assert round(100 * m.ffma_share) == 27
    inner = sr.loop_mix(demo(), 0x20, 0x60)
    assert (inner.length, inner.ffma, inner.lds128) == (5, 2, 1)


def test_equal_ffma_prefers_the_innermost() -> None:
    k = demo()
    k.insns = [i for i in k.insns if i[0] not in (0x80,)]  # only the first inner loop has FFMA now
    k.insns = [i for i in k.insns if i[0] != 0x70]
    m = sr.main_loop(k)
    assert m is not None and (m.length, m.ffma) == (5, 2)


# A k-loop whose loads are skipped on the last iteration (0x10) and compiled twice behind a
# launch-uniform branch (0x20: with a mask byte, 0x30–0x50, or without, 0x60).
BRANCHY = """
        Function : _ZN5senet7branchyEv
        /*0000*/                   FFMA R0, R1, R2, R0 ;
        /*0010*/               @P0 BRA 0x80 ;
        /*0020*/              @!P1 BRA 0x60 ;
        /*0030*/                   LDG.E.U8 R3, desc[UR4][R4.64] ;
        /*0040*/                   LDG.E R5, desc[UR4][R6.64] ;
        /*0050*/                   BRA 0x70 ;
        /*0060*/                   LDG.E R5, desc[UR4][R6.64] ;
        /*0070*/                   STS [R8], R5 ;
        /*0080*/                   FFMA R0, R5, R2, R0 ;
        /*0090*/              @!P2 BRA 0x00 ;
        /*00a0*/                   EXIT ;
"""


def test_mix_follows_the_longest_path() -> None:
    kernels: dict[str, sr.Kernel] = {}
    sr.parse_sass(BRANCHY, kernels)
    k = kernels["_ZN5senet7branchyEv"]
    m = sr.main_loop(k)
    # 10 instructions in the body; one iteration issues at most 9: the loads not skipped, the
    # longer arm (0x30, 0x40, 0x50), not the other (0x60).
    assert m is not None and (m.length, m.ffma) == (9, 2)
    assert sr.longest_path([i for i in k.insns if i[0] <= 0x90]) == [
        "FFMA", "BRA", "BRA", "LDG.E.U8", "LDG.E", "BRA", "STS", "FFMA", "BRA"]


def test_short_names() -> None:
    assert sr.short("void senet::conv2d_fprop_implicit_gemm_kernel<senet::detail::gemm_tile<64, 64, "
                    "8, 4, 4> >(senet::Conv2dGeom, float const*)") == \
        "conv2d_fprop_implicit_gemm_kernel<64,64,8,4,4>"
    assert sr.short("senet::(anonymous namespace)::relu_kernel(float*)") == "relu_kernel"


# Two k-loops with one global load each. In PREFETCH the load's value is first read by the store
# after both FFMAs (around the back branch: the next iteration's STS at 0x00); in STALL a select
# reads it at once, before any math.
PREFETCH = """
        Function : _ZN5senet8prefetchEv
        /*0000*/                   STS [R8], R5 ;
        /*0010*/               @P0 LDG.E R5, desc[UR4][R6.64] ;
        /*0020*/                   LDS.64 R2, [R9] ;
        /*0030*/                   FFMA R0, R2, R3, R0 ;
        /*0040*/                   FFMA R1, R2, R3, R1 ;
        /*0050*/              @!P2 BRA 0x00 ;
        /*0060*/                   EXIT ;
"""
STALL = """
        Function : _ZN5senet5stallEv
        /*0000*/                   LDG.E R5, desc[UR4][R6.64] ;
        /*0010*/                   FSEL R5, R5, RZ, !P1 ;
        /*0020*/                   STS [R8], R5 ;
        /*0030*/                   LDS.64 R2, [R9] ;
        /*0040*/                   FFMA R0, R2, R3, R0 ;
        /*0050*/                   FFMA R1, R2, R3, R1 ;
        /*0060*/              @!P2 BRA 0x00 ;
        /*0070*/                   EXIT ;
"""


def test_load_cover_counts_the_math_before_the_first_read() -> None:
    kernels: dict[str, sr.Kernel] = {}
    sr.parse_sass(PREFETCH + STALL, kernels)
    hidden = sr.main_loop(kernels["_ZN5senet8prefetchEv"])
    waits = sr.main_loop(kernels["_ZN5senet5stallEv"])
    assert hidden is not None and (hidden.ldg_cover, hidden.ffma) == (2, 2)
    assert waits is not None and (waits.ldg_cover, waits.ffma) == (0, 2)
    # What an instruction reads and a load writes: a store's data and address, an HMMA's fragments.
    assert sr.read("STS.128", "STS.128 [R8+0x10], R4") == {8, 4, 5, 6, 7}
    assert sr.read("HMMA.1688.F32.TF32", "HMMA.1688.F32.TF32 R4, R8, R12, R4") == \
        {8, 9, 10, 11, 12, 13, 4, 5, 6, 7}
    assert sr.read("FSEL", "FSEL R5, R5, RZ, !P1") == {5}
    assert sr.written("LDG.E.64", "@P0 LDG.E.64 R4, desc[UR4][R6.64]") == {4, 5}
    assert sr.written("LDS", "LDS R4, [R6]") == set()


def test_cover_check_wants_most_of_the_math() -> None:
    def mix(cover: int | None, ffma: int = 512, hmma: int = 0) -> sr.LoopMix:
        return sr.LoopMix(length=700, ffma=ffma, hmma=hmma, lds=32, lds128=32, ldg_cover=cover)
    assert sr.cover_problem("k", mix(512), 0.5) is None
    assert sr.cover_problem("k", mix(256), 0.5) is None
    assert sr.cover_problem("t", mix(16, ffma=0, hmma=16), 0.5) is None
    # A prefetch sunk to the end of the slice (what ptxas once did to fprop v5 tap-major: 8/512).
    sunk = sr.cover_problem("k", mix(8), 0.5)
    assert sunk is not None and "8/512" in sunk and "sunk" in sunk
    stall = sr.cover_problem("k", mix(0), 0.5)
    assert stall is not None and "ldg cover 0" in stall
    assert "no global load" in (sr.cover_problem("k", mix(None), 0.5) or "")
    assert "no main loop" in (sr.cover_problem("k", None, 0.5) or "")


def test_ffma_check_wants_the_simt_target_and_no_spills() -> None:
    def mix(ffma: int, length: int = 800) -> sr.LoopMix:
        return sr.LoopMix(length=length, ffma=ffma, hmma=0, lds=32, lds128=32, ldg_cover=512)
    assert sr.ffma_problem("k", mix(512), 0, 60) is None  # 64 %
    low = sr.ffma_problem("k", mix(400), 0, 60)  # 50 %
    assert low is not None and "50.0 %" in low and "under 60 %" in low
    spills = sr.ffma_problem("k", mix(512), 16, 60)
    assert spills is not None and "16 bytes of local memory" in spills
    assert "no main loop" in (sr.ffma_problem("k", None, 0, 60) or "")
