"""GPU max / avg pooling (forward and backward) against torch.nn.functional.max_pool2d /
avg_pool2d on CUDA: the ResNet stem's 3x3 stride-2 max pool (padding 1) and a 2x2 stride-2
average pool on (32, 64, 112, 112) float32. The note gives grimoire's GB/s (forward: read x,
write y and, for max, the int64 indices; backward: read grad_y (+ indices), write grad_x)."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def run(args: argparse.Namespace) -> list[list[object]]:
    import torch

    from grimoire.kernels import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

    n, c, hw = (4, 16, 56) if args.small else (32, 64, 112)
    x = torch.randn(n, c, hw, hw, device="cuda")
    shape = f"{n}x{c}x{hw}x{hw}"
    rows: list[list[object]] = []

    def gbs(nbytes: float, ms: float) -> str:
        return f"{nbytes / (ms * 1e-3) / 1e9:.0f} GB/s"

    y, idx = max_pool2d(x, 3, 2, 1)
    out = y.size
    g = time_ms(lambda: max_pool2d(x, 3, 2, 1))
    t = time_ms(lambda: torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True))
    rows.append(["pool", f"max 3x3/2 forward {shape}", g, t, t / g, gbs(4 * x.numel() + 12 * out, g)])
    gy = torch.randn(tuple(y.shape), device="cuda")
    g = time_ms(lambda: max_pool2d_backward(gy, idx, tuple(x.shape)))
    xr = x.clone().requires_grad_(True)
    yr = torch.nn.functional.max_pool2d(xr, 3, 2, 1)
    t = time_ms(lambda: torch.autograd.grad(yr, xr, gy, retain_graph=True))
    rows.append(["pool", f"max 3x3/2 backward {shape}", g, t, t / g, gbs(12 * out + 4 * x.numel(), g)])

    ya = avg_pool2d(x, 2)
    g = time_ms(lambda: avg_pool2d(x, 2))
    t = time_ms(lambda: torch.nn.functional.avg_pool2d(x, 2))
    rows.append(["pool", f"avg 2x2/2 forward {shape}", g, t, t / g, gbs(4 * x.numel() + 4 * ya.size, g)])
    gya = torch.randn(tuple(ya.shape), device="cuda")
    g = time_ms(lambda: avg_pool2d_backward(gya, tuple(x.shape), 2))
    ya_r = torch.nn.functional.avg_pool2d(xr, 2)
    t = time_ms(lambda: torch.autograd.grad(ya_r, xr, gya, retain_graph=True))
    rows.append(["pool", f"avg 2x2/2 backward {shape}", g, t, t / g, gbs(4 * ya.size + 4 * x.numel(), g)])
    return rows
