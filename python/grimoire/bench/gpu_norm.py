"""GPU layer_norm / rms_norm (forward and backward) against torch.nn.functional.layer_norm /
rms_norm on CUDA, GPT-2 shapes (B*T = 8192 rows of 768 and 4096 rows of 4096 columns); the note
gives grimoire's GB/s (read x + write y forward; read grad_y, x + write grad_x backward)."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def run(args: argparse.Namespace) -> list[list[object]]:
    import torch

    from grimoire.kernels import layer_norm, layer_norm_backward, rms_norm

    shapes = [(1024, 768)] if args.small else [(8192, 768), (4096, 4096)]
    rows: list[list[object]] = []
    for n, d in shapes:
        x = torch.randn(n, d, device="cuda")
        w, b = torch.randn(d, device="cuda"), torch.randn(d, device="cuda")
        gb = 2 * n * d * 4 / 1e9
        g = time_ms(lambda x=x, w=w, b=b: layer_norm(x, w, b, 1e-5))
        t = time_ms(lambda x=x, w=w, b=b, d=d: torch.nn.functional.layer_norm(x, (d,), w, b, 1e-5))
        rows.append(["norm", f"layer_norm {n}x{d}", g, t, t / g, f"{gb / (g * 1e-3):.0f} GB/s"])
        g = time_ms(lambda x=x, w=w: rms_norm(x, w, 1e-6))
        t = time_ms(lambda x=x, w=w, d=d: torch.nn.functional.rms_norm(x, (d,), w, 1e-6))
        rows.append(["norm", f"rms_norm {n}x{d}", g, t, t / g, f"{gb / (g * 1e-3):.0f} GB/s"])
        _, mean, rstd = layer_norm(x, w, b, 1e-5)
        gy = torch.randn_like(x)
        g = time_ms(lambda gy=gy, x=x, w=w, mean=mean, rstd=rstd: layer_norm_backward(gy, x, w, mean, rstd))
        xr = x.clone().requires_grad_(True)
        wr, br = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        y = torch.nn.functional.layer_norm(xr, (d,), wr, br, 1e-5)
        t = time_ms(
            lambda y=y, gy=gy, xr=xr, wr=wr, br=br: torch.autograd.grad(
                y, (xr, wr, br), gy, retain_graph=True
            )
        )
        rows.append(
            ["norm", f"layer_norm backward {n}x{d}", g, t, t / g, f"{1.5 * gb / (g * 1e-3):.0f} GB/s"]
        )
    return rows
