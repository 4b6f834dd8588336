"""GPU GEMMs against cuBLAS (torch.matmul): bf16 4096^3 and 8192^3, float32 (cuBLAS sgemm with
TF32 off), int8 (torch._int_mm) and FP8 (torch._scaled_mm where the GPU has it), plus the
throughput of grimoire's int8 and FP8 GEMMs relative to grimoire's own bf16 GEMM."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def _tflops(m: int, n: int, k: int, ms: float) -> float:
    return 2.0 * m * n * k / (ms * 1e-3) / 1e12


def run(args: argparse.Namespace) -> list[list[object]]:
    import cupy as cp
    import torch

    from grimoire.kernels import gemm
    from grimoire.kernels.quant import gemm_fp8, gemm_int8

    torch.backends.cuda.matmul.allow_tf32 = False  # sgemm means float32 FMAs on both sides
    sizes = [1024] if args.small else [4096, 8192]
    rows: list[list[object]] = []
    bf16_ms: dict[int, float] = {}
    for s in sizes:
        ta = torch.randn(s, s, device="cuda", dtype=torch.bfloat16)
        tb = torch.randn(s, s, device="cuda", dtype=torch.bfloat16)
        ga = cp.asarray(ta.view(torch.int16)).view(cp.uint16)
        gb = cp.asarray(tb.view(torch.int16)).view(cp.uint16)
        # torch's bf16 matmul returns bf16; grimoire's returns float32 (its documented contract)
        g = time_ms(lambda ga=ga, gb=gb: gemm(ga, gb))
        t = time_ms(lambda ta=ta, tb=tb: torch.matmul(ta, tb))
        bf16_ms[s] = g
        rows.append(["gemm", f"bf16 {s}^3", g, t, t / g, f"{_tflops(s, s, s, g):.0f} TFLOP/s"])
    s = sizes[0]  # float32, int8 and FP8 at the first size
    ta = torch.randn(s, s, device="cuda")
    tb = torch.randn(s, s, device="cuda")
    g = time_ms(lambda ta=ta, tb=tb: gemm(ta, tb))
    t = time_ms(lambda ta=ta, tb=tb: torch.matmul(ta, tb))
    rows.append(["gemm", f"f32 {s}^3 (SIMT)", g, t, t / g, f"{_tflops(s, s, s, g):.1f} TFLOP/s"])
    a8 = torch.randint(-128, 128, (s, s), device="cuda", dtype=torch.int8)
    w8 = torch.randint(-128, 128, (s, s), device="cuda", dtype=torch.int8)
    g = time_ms(lambda a8=a8, w8=w8: gemm_int8(a8, w8, trans_b=True))
    t = time_ms(lambda a8=a8, w8=w8: torch._int_mm(a8, w8.t()))
    rows.append(["gemm_int8", f"s8 {s}^3", g, t, t / g,
                 f"{_tflops(s, s, s, g):.0f} TOP/s, {bf16_ms[s] / g:.2f}x grimoire bf16"])
    f8a = cp.asarray(torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn).view(torch.uint8))
    f8b = cp.asarray(torch.randn(s, s, device="cuda").to(torch.float8_e4m3fn).view(torch.uint8))
    g = time_ms(lambda: gemm_fp8(f8a, f8b, 1.0, 1.0))
    t, note = float("nan"), ""
    if torch.cuda.get_device_capability() >= (8, 9):
        xa = torch.as_tensor(f8a, device="cuda").view(torch.float8_e4m3fn)
        xb = torch.as_tensor(f8b, device="cuda").view(torch.float8_e4m3fn).t().contiguous().t()
        one = torch.ones((), device="cuda")
        t = time_ms(lambda: torch._scaled_mm(xa, xb, one, one, out_dtype=torch.float32))
    else:
        note = "torch has no FP8 GEMM before sm_89; "
    rows.append(["gemm_fp8", f"e4m3 {s}^3", g, t, t / g,
                 note + f"{_tflops(s, s, s, g):.0f} TFLOP/s, {bf16_ms[s] / g:.2f}x grimoire bf16"])
    return rows
