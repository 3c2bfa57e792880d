"""tests/sass/test_gpu_figures.py — tools/gpu/gpu_figures.py, the GPU day's tables, on a
hand-written results folder (no GPU needed): each conv row against cuDNN's same pass and math, the
geometric means, the training step against PyTorch's same model, stage and math, and a cut-short
run."""
from __future__ import annotations

import json
from pathlib import Path

import gpu_figures as gf

HEAD = ("layer,N,family,kernel,version,check,max_err,detail,flops,bytes,median_us,min_us,max_us,"
        "noise,gflops,gbs,flop_per_byte,pct_roofline,device,peak_gflops,peak_gbs\n")


def row(layer: str, kernel: str, version: str, us: float) -> str:
    return (f"{layer},128,conv,{kernel},{version},PASS,0,,1e9,1e8,{us},{us},{us},0.01,"
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
    assert "(0.75× PyTorch)" in t.splitlines()[-2] and "wrn" in t.splitlines()[-2]  # its own model
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
