"""GPU fused multi-tensor AdamW against torch.optim.AdamW(fused=True) on CUDA, over a
GPT-2-small-like parameter list (124M parameters in 148 tensors); the note gives grimoire's GB/s
(28 bytes a parameter: read param, grad, m, v; write param, m, v). Also clip_grad_norm."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def _gpt2_shapes(small: bool) -> list[tuple[int, ...]]:
    d, layers = (256, 2) if small else (768, 12)
    shapes = [(50257, d), (1024, d)]
    for _ in range(layers):
        shapes += [
            (d,),
            (d,),
            (3 * d, d),
            (3 * d,),
            (d, d),
            (d,),
            (d,),
            (d,),
            (4 * d, d),
            (4 * d,),
            (d, 4 * d),
            (d,),
        ]
    return shapes + [(d,), (d,)]


def run(args: argparse.Namespace) -> list[list[object]]:
    import cupy as cp
    import torch

    from grimoire.kernels import clip_grad_norm, multi_tensor_adam_step

    shapes = _gpt2_shapes(args.small)
    params = [torch.nn.Parameter(torch.randn(s, device="cuda")) for s in shapes]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    n = sum(p.numel() for p in params)
    ours = [cp.asarray(p.detach().clone()) for p in params]
    grads = [cp.asarray(p.grad.clone()) for p in params]
    ms, vs = [cp.zeros_like(a) for a in ours], [cp.zeros_like(a) for a in ours]
    step = [0]

    def grimoire_step():
        step[0] += 1
        multi_tensor_adam_step(ours, grads, ms, vs, step=step[0], lr=1e-4, weight_decay=0.1)

    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)
    g, t = time_ms(grimoire_step), time_ms(opt.step)
    rows = [
        [
            "optim",
            f"AdamW {n / 1e6:.0f}M params, {len(shapes)} tensors",
            g,
            t,
            t / g,
            f"{28 * n / (g * 1e-3) / 1e9:.0f} GB/s",
        ]
    ]
    g = time_ms(lambda: clip_grad_norm(grads, 1e9))
    t = time_ms(lambda: torch.nn.utils.clip_grad_norm_(params, 1e9).item())
    rows.append(
        ["optim", "clip_grad_norm (no clipping)", g, t, t / g, f"{4 * n / (g * 1e-3) / 1e9:.0f} GB/s"]
    )
    return rows
