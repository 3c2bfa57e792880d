"""tests/sass/test_gpu_figures.py — tools/gpu/gpu_figures.py, the GPU day's tables, on a
hand-written results folder (no GPU needed): each conv row against cuDNN's same pass and math, the
geometric means, the training step against PyTorch's same model, stage and math, a cut-short run,
and what the figures decide (the training-step options on against off, the split-K and stride-phase
versions against the versions they replace, layer by layer)."""
from __future__ import annotations

import json
from pathlib import Path

import gpu_figures as gf

HEAD = ("layer,N,family,kernel,version,check,max_err,detail,flops,bytes,median_us,min_us,max_us,"
        "noise,gflops,gbs,flop_per_byte,pct_roofline,device,peak_gflops,peak_gbs\n")


def row(layer: str, kernel: str, version: str, us: float, detail: str = "") -> str:
    return (f"{layer},128,conv,{kernel},{version},PASS,0,{detail},1e9,1e8,{us},{us},{us},0.01,"
            f"{1e9 / us / 1e3:.1f},100.0,10.0,50.0,gpu,67000,4300\n")


def results(tmp: Path) -> Path:
    (tmp / "bench.csv").write_text(
        HEAD + row("l1", "conv2d_fprop", "v5_simt_128x128", 200.0)
        + row("l1", "conv2d_fprop", "v4_tf32_mma", 50.0)
        + row("l1", "cudnn_fprop", "fma", 100.0) + row("l1", "cudnn_fprop", "tf32", 40.0)
        + row("l2", "conv2d_fprop", "v5_simt_128x128", 100.0)
        + row("l2", "cudnn_fprop", "fma", 200.0)
        + row("l1", "conv_bn_mrelu_fwd_train", "3_launches", 300.0)
        + row("l1", "cudnn", "conv+bn_train+relu fma", 150.0)
        + row("l1", "bn_stats", "v1", 10.0))
    steps = [{"impl": "senet-cuda-fp32", "stage": "train", "images_per_second": 5000.0,
              "median_step_ms": 25.6},
             {"impl": "senet-cuda-tf32", "stage": "train", "images_per_second": 9000.0,
              "median_step_ms": 14.2},
             {"impl": "torch-channels_last-cuda-fp32", "stage": "train",
              "images_per_second": 10000.0, "median_step_ms": 12.8},
             {"impl": "torch-channels_last-cuda-tf32", "stage": "train",
              "images_per_second": 12000.0, "median_step_ms": 10.7},
             {"impl": "senet-cuda-fp32", "arch": "wrn", "stage": "train",
              "images_per_second": 600.0, "median_step_ms": 213.3},
             {"impl": "torch-channels_last-cuda-fp32", "arch": "wrn", "stage": "train",
              "images_per_second": 800.0, "median_step_ms": 160.0}]
    (tmp / "step.log").write_text("noise\n" + "\n".join(json.dumps(s) for s in steps) + "\n")
    (tmp / "roof.log").write_text('device: X\n{"roof": "ffma", "tflops": 60.0, "peak_tflops": 67.0}\n')
    (tmp / "summary.txt").write_text("== gpu_day\ngpu: NVIDIA H200, 570.1, 143771 MiB, 1980 MHz\n")
    return tmp


def test_each_row_against_the_same_pass_and_math(tmp_path: Path) -> None:
    pairs = {(r["layer"], r["kernel"], r["version"]): b
             for r, b in gf.conv_rows(gf.read_rows(str(results(tmp_path) / "bench.csv")))}
    assert pairs[("l1", "conv2d_fprop", "v5_simt_128x128")] == 100.0  # FMA with FMA
    assert pairs[("l1", "conv2d_fprop", "v4_tf32_mma")] == 40.0       # TF32 with TF32
    assert pairs[("l1", "conv_bn_mrelu_fwd_train", "3_launches")] == 150.0
    assert pairs[("l1", "bn_stats", "v1")] is None


def test_geomean_worst_and_best(tmp_path: Path) -> None:
    g = {(k, v): (n, m, lo, hi) for k, v, n, m, lo, hi in
         gf.geomeans(gf.conv_rows(gf.read_rows(str(results(tmp_path) / "bench.csv"))))}
    n, m, lo, hi = g[("conv2d_fprop", "v5_simt_128x128")]
    assert n == 2 and abs(m - 1.0) < 1e-12 and lo == 0.5 and hi == 2.0  # √(0.5·2)
    assert abs(g[("conv2d_fprop", "v4_tf32_mma")][1] - 0.8) < 1e-12


def test_text_and_markdown(tmp_path: Path) -> None:
    out = str(results(tmp_path))
    t = gf.text(out)
    assert "senet-cuda-fp32" in t and "(0.50× PyTorch)" in t and "(0.75× PyTorch)" in t
    steps = [line for line in t.splitlines() if line.startswith("step ")]
    assert "(0.75× PyTorch)" in steps[-2] and "wrn" in steps[-2]  # its own model
    md = gf.markdown(out)
    assert md.startswith("Device: NVIDIA H200, 570.1, 143771 MiB, 1980 MHz")
    assert "| ffma | 60.0 | 67.0 | 89.6 |" in md
    assert "| l1 | conv2d_fprop | v4_tf32_mma | 50.0 |" in md and "| 40.0 | 0.80 |" in md
    assert "| senet-cuda-tf32 | resnet18 | train | 9000.0 | 14.2 | 0.75 |" in md
    assert "| senet-cuda-fp32 | wrn | train | 600.0 | 213.3 | 0.75 |" in md


def test_a_run_cut_short_still_tabulates(tmp_path: Path) -> None:
    assert "no timings in bench.csv" in gf.text(str(tmp_path))
    assert gf.markdown(str(tmp_path)).startswith("Device: —")
    assert gf.main([str(tmp_path)]) == 0 and gf.main([]) == 2


# Layer names as bench_kernels writes them: the stride last.
S1_HELPS = "resnet18 layer3.conv 256→256 8x8 3x3 s1"
S1_HURTS = "resnet18 layer4.conv 512→512 4x4 3x3 s1"
S1_TIE = "resnet18 layer1.conv 64→64 32x32 3x3 s1"
S2 = "resnet18 layer2.0.conv1 64→128 32x32 3x3 s2"


def decide_results(tmp: Path) -> Path:
    """A results folder for the decisions, hand-written round numbers: fprop v8 against v4 helps
    on one stride-1 layer, hurts on one, ties on one and is 2× faster on a stride-2 layer (fprop
    splits at any stride); dgrad v8 against v3 ties on a stride-1 layer and is 2.4× faster on the
    stride-2 one (which its pair leaves out: strided dgrad takes the phases); dgrad v10's phases
    against v3 on the stride-2 layer; step runs for every verdict kind."""
    rows = [(S1_HELPS, "conv2d_fprop", "v8_tf32_split_k", 80.0),
            (S1_HELPS, "conv2d_fprop", "v4_tf32_mma", 100.0),
            (S1_HURTS, "conv2d_fprop", "v8_tf32_split_k", 125.0),
            (S1_HURTS, "conv2d_fprop", "v4_tf32_mma", 100.0),
            (S1_TIE, "conv2d_fprop", "v8_tf32_split_k", 101.0),
            (S1_TIE, "conv2d_fprop", "v4_tf32_mma", 100.0),
            (S2, "conv2d_fprop", "v8_tf32_split_k", 50.0),
            (S2, "conv2d_fprop", "v4_tf32_mma", 100.0),
            (S2, "conv2d_dgrad", "v10_tf32_phases", 60.0),
            (S2, "conv2d_dgrad", "v3_tf32_mma", 120.0),
            (S1_TIE, "conv2d_dgrad", "v10_tf32_phases", 50.0),  # v3 itself when not strided
            (S1_TIE, "conv2d_dgrad", "v3_tf32_mma", 100.0),
            (S1_TIE, "conv2d_dgrad", "v8_tf32_split_k", 100.0),
            (S2, "conv2d_dgrad", "v8_tf32_split_k", 50.0),
            (S1_HELPS, "conv2d_dgrad", "v8_tf32_split_k", 70.0, "splits=1"),  # ran as v3: apart
            (S1_HELPS, "conv2d_dgrad", "v3_tf32_mma", 100.0)]
    (tmp / "bench.csv").write_text(HEAD + "".join(row(f'"{r[0]}"', *r[1:]) for r in rows))
    steps = [{"impl": "senet-cuda-tf32-wgmma", "stage": "train", "images_per_second": 1100.0},
             {"impl": "senet-cuda-tf32", "stage": "train", "images_per_second": 1000.0},
             {"impl": "senet-cuda-fp32-foldbn", "stage": "train", "images_per_second": 900.0},
             {"impl": "senet-cuda-tf32-foldbn", "stage": "train", "images_per_second": 1200.0},
             {"impl": "senet-cuda-fp32", "stage": "train", "images_per_second": 1000.0},
             {"impl": "senet-cuda-fp32-graph", "stage": "train", "images_per_second": 1010.0},
             {"impl": "senet-cuda-fp32", "stage": "distill", "images_per_second": 500.0},
             {"impl": "senet-cuda-fp32-foldbn", "arch": "wrn", "stage": "train",  # not ResNet-18
              "images_per_second": 5000.0}]
    (tmp / "step.log").write_text("\n".join(json.dumps(s) for s in steps) + "\n")
    return tmp


def test_the_band() -> None:
    assert gf.BAND == 0.03
    assert gf.band_side(103 / 100) == "faster" and gf.band_side(1.02) == "tie"
    assert gf.band_side(0.98) == "tie" and gf.band_side(97 / 100) == "slower"


def test_step_decisions_each_verdict(tmp_path: Path) -> None:
    out = decide_results(tmp_path)
    d = {(s.option, s.stage, s.on_impl): s
         for s in gf.step_decisions(gf.json_lines(str(out / "step.log")))}
    wgmma = d[("set_cuda_tf32_wgmma", "train", "senet-cuda-tf32-wgmma")]
    assert (wgmma.on_ips, wgmma.off_ips) == (1100.0, 1000.0) and abs(wgmma.ratio() - 1.1) < 1e-12
    assert wgmma.verdict() == "on is faster"
    fold = d[("set_cuda_fold_bn_backward", "train", "senet-cuda-fp32-foldbn")]
    assert fold.on_ips == 900.0 and fold.verdict() == "off is faster"  # not WRN's 5000
    fold_tf32 = d[("set_cuda_fold_bn_backward", "train", "senet-cuda-tf32-foldbn")]
    assert fold_tf32.off_impl == "senet-cuda-tf32" and fold_tf32.verdict() == "on is faster"
    graph = d[("cuda_graph", "train", "senet-cuda-fp32-graph")]
    assert graph.verdict() == "within 3 %: a tie, keep the default (on)"
    graph_distill = d[("cuda_graph", "distill", "senet-cuda-fp32-graph")]
    assert graph_distill.on_ips is None and graph_distill.off_ips == 500.0
    assert graph_distill.ratio() is None and graph_distill.verdict() == "not measured"


def test_layer_stride() -> None:
    assert gf.layer_stride(S1_TIE) == 1 and gf.layer_stride(S2) == 2
    assert gf.layer_stride("l1") is None


def test_split_pairs_fprop_at_any_stride_dgrad_at_stride_1(tmp_path: Path) -> None:
    rows = gf.read_rows(str(decide_results(tmp_path) / "bench.csv"))
    p = {(d.kernel, d.new): d for d in gf.pair_decisions(rows)}
    v8 = p[("conv2d_fprop", "v8_tf32_split_k")]
    assert v8.old == "v4_tf32_mma" and v8.layers == "any" and not v8.phases
    assert v8.helps == [(S2, 50.0, 100.0), (S1_HELPS, 80.0, 100.0)]  # sorted by layer name
    assert v8.hurts == [(S1_HURTS, 125.0, 100.0)] and v8.ties == 1  # S1_TIE
    assert v8.summary() == "helps on 2, hurts on 1, tie on 1 layers"
    assert v8.layer_verdict(False) == "the split hurts: the plan should not split this layer"
    dgrad_v8 = p[("conv2d_dgrad", "v8_tf32_split_k")]
    assert dgrad_v8.old == "v3_tf32_mma" and dgrad_v8.layers == "stride-1"
    assert dgrad_v8.helps == [] and dgrad_v8.ties == 1  # S2 (2.4× faster) is left out
    assert dgrad_v8.unsplit == 1  # S1_HELPS: its row says splits=1, its 1.43× is noise, not split
    assert dgrad_v8.summary() == "helps on 0, hurts on 0, tie on 1 stride-1 layers (1 more not split)"
    v6 = p[("conv2d_fprop", "v6_simt_split_k")]
    assert v6.summary() == "not measured on any of the layers"


def test_phase_pair_on_strided_layers_only(tmp_path: Path) -> None:
    rows = gf.read_rows(str(decide_results(tmp_path) / "bench.csv"))
    p = {(d.kernel, d.new): d for d in gf.pair_decisions(rows)}
    v10 = p[("conv2d_dgrad", "v10_tf32_phases")]
    assert v10.old == "v3_tf32_mma" and v10.layers == "strided" and v10.phases
    assert v10.helps == [(S2, 60.0, 120.0)] and v10.hurts == [] and v10.ties == 0  # not S1_TIE
    assert v10.summary() == "helps on 1, hurts on 0, tie on 0 strided layers"


def test_text_and_markdown_decide(tmp_path: Path) -> None:
    out = str(decide_results(tmp_path))
    t = gf.text(out).splitlines()
    section = t[t.index("== What the figures decide (ratio > 1: on, split or phases faster; "
                        "within ±3 %: a tie)"):]
    assert ("set_cuda_tf32_wgmma (default off), resnet18 train: senet-cuda-tf32-wgmma 1100.0 "
            "img/s vs senet-cuda-tf32 1000.0 img/s = 1.10: on is faster") in section
    assert ("cuda_graph (default on), resnet18 distill: senet-cuda-fp32-graph — img/s vs "
            "senet-cuda-fp32 500.0 img/s = —: not measured") in section
    assert ("conv2d_fprop v8_tf32_split_k vs v4_tf32_mma: helps on 2, hurts on 1, tie on 1 "
            "layers") in section
    assert f"  {S1_HELPS}: 80.0 µs vs 100.0 µs = 1.25: the split helps" in section
    assert (f"  {S1_HURTS}: 125.0 µs vs 100.0 µs = 0.80: the split hurts: the plan should not "
            "split this layer") in section
    assert f"  {S2}: 50.0 µs vs 100.0 µs = 2.00: the split helps" in section
    assert f"  {S2}: 60.0 µs vs 120.0 µs = 2.00: the phases help" in section
    md = gf.markdown(out)
    assert "### What the figures decide" in md
    assert ("| set_cuda_fold_bn_backward | off | resnet18 | train | senet-cuda-fp32-foldbn | "
            "900.0 | senet-cuda-fp32 | 1000.0 | 0.90 | off is faster |") in md
    assert (f"| conv2d_fprop | v8_tf32_split_k | v4_tf32_mma | {S2}: 50.0 vs 100.0 µs (2.00)<br>"
            f"{S1_HELPS}: 80.0 vs 100.0 µs (1.25) | {S1_HURTS}: 125.0 vs 100.0 µs (0.80) | 1 | "
            "helps on 2, hurts on 1, tie on 1 layers |") in md


def test_an_empty_folder_decides_nothing(tmp_path: Path) -> None:
    t = gf.text(str(tmp_path))
    assert t.count("not measured on any of the layers") == 3  # fprop's splits
    assert t.count("not measured on any of the stride-1 layers") == 3  # dgrad's
    assert t.count("not measured on any of the strided layers") == 3
    assert t.count(": not measured") == 4 + 5 + 9  # the layer steps, the options, the pairs
    md = gf.markdown(str(tmp_path))
    assert ("| cuda_graph | on | resnet18 | distill | senet-cuda-fp32-graph |  | senet-cuda-fp32 "
            "|  |  | not measured |") in md
    assert gf.main([str(tmp_path)]) == 0 and gf.main(["--markdown", str(tmp_path)]) == 0


def test_the_fused_layer_step_against_cudnns(tmp_path: Path) -> None:
    """Forward + backward, ours (each LAYER_STEPS pair) against cuDNN's chain and its backward on
    the same layer; the backward rows against cuDNN's backward chain alone; a layer without the
    cuDNN backward is left out."""
    rows = [("l1", "conv_bn_mrelu_fwd_train", "3_launches", 100.0),
            ("l1", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v7+wgrad_v4", 300.0),
            ("l1", "conv_bn_mrelu_bwd", "folded_dgrad_v4+wgrad_v4", 200.0),
            ("l1", "cudnn", "conv+bn_train+relu fma", 150.0),
            ("l1", "cudnn", "conv+bn_train+relu bwd fma", 450.0),
            ("l2", "conv_bn_mrelu_fwd_train", "3_launches", 100.0),
            ("l2", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v7+wgrad_v4", 100.0),
            ("l2", "cudnn", "conv+bn_train+relu fma", 100.0),  # no cuDNN backward: left out
            ("l1", "conv_bn_mrelu_fwd_train", "3_launches_tf32", 50.0),
            ("l1", "conv_bn_mrelu_bwd", "bn_bwd+dgrad_v8+wgrad_v3_tf32", 150.0),
            ("l1", "cudnn", "conv+bn_train+relu tf32", 40.0),
            ("l1", "cudnn", "conv+bn_train+relu bwd tf32", 120.0)]
    (tmp_path / "bench.csv").write_text(HEAD + "".join(row(*r) for r in rows))
    read = gf.read_rows(str(tmp_path / "bench.csv"))
    pairs = {(r["layer"], r["version"]): b for r, b in gf.conv_rows(read)}
    assert pairs[("l1", "bn_bwd+dgrad_v7+wgrad_v4")] == 450.0  # FP32 with cuDNN's FMA backward
    assert pairs[("l1", "bn_bwd+dgrad_v8+wgrad_v3_tf32")] == 120.0  # TF32 with cuDNN's TF32
    assert gf.layer_steps(read) == [
        ("l1", "3_launches", "bn_bwd+dgrad_v7+wgrad_v4", 400.0, 600.0),
        ("l1", "3_launches", "folded_dgrad_v4+wgrad_v4", 300.0, 600.0),
        ("l1", "3_launches_tf32", "bn_bwd+dgrad_v8+wgrad_v3_tf32", 200.0, 160.0)]  # same math
    t = gf.text(str(tmp_path))
    assert "3_launches + bn_bwd+dgrad_v7+wgrad_v4: geomean 1.50 over 1 layers" in t
    assert "3_launches + folded_dgrad_v4+wgrad_v4: geomean 2.00 over 1 layers" in t
    assert "3_launches_tf32 + bn_bwd+dgrad_v8+wgrad_v3_tf32: geomean 0.80 over 1 layers" in t
    assert "3_launches_tf32_wgmma + bn_bwd+dgrad_v9+wgrad_v5_tf32_wgmma: not measured" in t
    md = gf.markdown(str(tmp_path))
    assert "| l1 | 3_launches + folded_dgrad_v4+wgrad_v4 | 300.0 | 600.0 | 2.00 |" in md
    assert "not measured" not in gf.layer_step_lines([])[0]
    assert gf.layer_step_lines([])[1:] == [f"{f} + {b}: not measured" for f, b in gf.LAYER_STEPS]
