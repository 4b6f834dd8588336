"""GPU quantisation against PyTorch CUDA on 64 Mi float32 values: FP8 E4M3 and bf16 conversions
(``tensor.to(torch.float8_e4m3fn / torch.bfloat16)`` and back) and int8 per-tensor quantisation
with the scale chosen from the data (max |x| / 127, then ``torch.quantize_per_tensor``) and
dequantisation. The note gives grimoire's GB/s (one read and one write per element; the int8
quantise also reads x once more for its scale)."""

from __future__ import annotations

import argparse
import warnings

from .gpu import time_ms


def run(args: argparse.Namespace) -> list[list[object]]:
    import torch

    from grimoire.kernels import dequantize_int8, from_bf16, from_fp8, quantize_int8, to_bf16, to_fp8

    n = (1 << 20) if args.small else (64 << 20)
    x = torch.randn(n, device="cuda") * 8
    rows: list[list[object]] = []

    def add(case: str, g: float, t: float, nbytes: float, note: str = "") -> None:
        rows.append(["quant", f"{case} {n}", g, t, t / g, note + f"{nbytes / (g * 1e-3) / 1e9:.0f} GB/s"])

    codes = to_fp8(x, "e4m3")
    tcodes = x.to(torch.float8_e4m3fn)
    add("to_fp8 e4m3", time_ms(lambda: to_fp8(x, "e4m3")), time_ms(lambda: x.to(torch.float8_e4m3fn)),
        5.0 * n)
    add("from_fp8 e4m3", time_ms(lambda: from_fp8(codes, "e4m3")), time_ms(lambda: tcodes.to(torch.float32)),
        5.0 * n)
    bits = to_bf16(x)
    tbits = x.to(torch.bfloat16)
    add("to_bf16", time_ms(lambda: to_bf16(x)), time_ms(lambda: x.to(torch.bfloat16)), 6.0 * n)
    add("from_bf16", time_ms(lambda: from_bf16(bits)), time_ms(lambda: tbits.to(torch.float32)), 6.0 * n)

    def torch_quantize():
        with warnings.catch_warnings():  # PyTorch deprecates its quantized dtypes, still the reference
            warnings.simplefilter("ignore", UserWarning)
            return torch.quantize_per_tensor(x, x.abs().amax() / 127, 0, torch.qint8)

    q, scale, zero_point = quantize_int8(x)
    g = time_ms(lambda: quantize_int8(x))
    try:
        tq = torch_quantize()
        t = time_ms(torch_quantize)
        note = ""
    except (RuntimeError, NotImplementedError) as e:  # a PyTorch build without CUDA quantized tensors
        tq, t, note = None, float("nan"), f"torch: {type(e).__name__}; "
    add("quantize_int8 (scale from x)", g, t, 9.0 * n, note)
    g = time_ms(lambda: dequantize_int8(q, scale, zero_point))
    t = time_ms(tq.dequantize) if tq is not None else float("nan")
    add("dequantize_int8", g, t, 5.0 * n, note)
    return rows
