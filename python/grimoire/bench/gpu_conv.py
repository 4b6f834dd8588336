"""GPU conv2d (forward and backward) against torch.nn.functional.conv2d on CUDA (cuDNN; TF32 off,
so float32 means float32 FMAs on both sides): a ResNet-50 3x3 layer (batch 32, 64 -> 64 channels
at 56x56, padding 1) in float32 and bf16. The note gives grimoire's TFLOP/s, forward
``2 N C_out OH OW C_in KH KW`` and backward twice that (grad_x and grad_w)."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def run(args: argparse.Namespace) -> list[list[object]]:
    import cupy as cp
    import torch

    from grimoire.kernels import conv2d, conv2d_backward

    torch.backends.cudnn.allow_tf32 = False
    n, c, hw, k = (4, 32, 28, 3) if args.small else (32, 64, 56, 3)
    flops = 2.0 * n * c * hw * hw * c * k * k  # stride 1, padding k // 2: OH = OW = hw
    rows: list[list[object]] = []
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(n, c, hw, hw, device="cuda", dtype=dtype)
        w = torch.randn(c, c, k, k, device="cuda", dtype=dtype) * 0.05
        b = torch.randn(c, device="cuda")
        gy = torch.randn(n, c, hw, hw, device="cuda", dtype=dtype)
        if dtype == torch.bfloat16:  # grimoire takes bf16 as its uint16 bits (CuPy has no bfloat16)
            gx, gw, ggy = (cp.asarray(t.view(torch.int16)).view(cp.uint16) for t in (x, w, gy))
            name = "bf16"
        else:
            gx, gw, ggy, name = x, w, gy, "f32"
        g = time_ms(lambda gx=gx, gw=gw, b=b: conv2d(gx, gw, b, padding=k // 2))
        t = time_ms(lambda x=x, w=w, b=b: torch.nn.functional.conv2d(x, w, b.to(x.dtype), padding=k // 2))
        shape = f"{n}x{c}x{hw}x{hw} k{k}"
        rows.append(["conv", f"{name} forward {shape}", g, t, t / g,
                     f"{flops / (g * 1e-3) / 1e12:.1f} TFLOP/s"])
        g = time_ms(lambda ggy=ggy, gx=gx, gw=gw: conv2d_backward(ggy, gx, gw, padding=k // 2))
        xr, wr = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        br = b.to(dtype).clone().requires_grad_(True)
        y = torch.nn.functional.conv2d(xr, wr, br, padding=k // 2)
        t = time_ms(lambda y=y, gy=gy, xr=xr, wr=wr, br=br: torch.autograd.grad(y, (xr, wr, br), gy,
                                                                                 retain_graph=True))
        rows.append(["conv", f"{name} backward {shape}", g, t, t / g,
                     f"{2 * flops / (g * 1e-3) / 1e12:.1f} TFLOP/s"])
    return rows
