"""GPU flash attention against PyTorch's ``scaled_dot_product_attention`` (its FlashAttention-2
backend on bf16): batch 4, 16 heads, head_dim 128, seq 4096, causal and not, forward and
forward+backward; plus a decode step (1 query over a 16k cache, split-K on grimoire's side).

Both sides get the same bf16 data (grimoire sees it as uint16 bits through CuPy, zero-copy).
grimoire's backward returns float32 gradients, torch's bf16 ones (each side's own contract).
Causal with q_len == k_len: torch's top-left ``is_causal`` and grimoire's bottom-right agree.
"""

from __future__ import annotations

import argparse


def _tflops(flops: float, ms: float) -> float:
    return flops / (ms * 1e-3) / 1e12


def run(args: argparse.Namespace) -> list[list[object]]:
    import cupy as cp
    import torch
    import torch.nn.functional as F

    from grimoire.kernels import attention, attention_backward

    from .gpu import time_ms

    b, h, d = 4, 16, 128
    s = 1024 if args.small else 4096
    rows: list[list[object]] = []

    def bits(t):  # a bf16 torch tensor as a CuPy uint16 array over the same memory
        return cp.asarray(t.view(torch.int16)).view(cp.uint16)

    for causal in (False, True):
        tq, tk, tv, tg = (torch.randn(b, h, s, d, device="cuda", dtype=torch.bfloat16) for _ in range(4))
        q, k, v, g = (bits(t) for t in (tq, tk, tv, tg))
        flops = 4.0 * b * h * s * s * d * (0.5 if causal else 1.0)
        name = f"b{b} h{h} s{s} d{d} {'causal' if causal else 'full'}"

        ours = time_ms(lambda q=q, k=k, v=v, causal=causal: attention(q, k, v, causal=causal))
        theirs = time_ms(lambda tq=tq, tk=tk, tv=tv, causal=causal: F.scaled_dot_product_attention(
            tq, tk, tv, is_causal=causal))
        rows.append(["attention", f"fwd {name}", ours, theirs, theirs / ours,
                     f"{_tflops(flops, ours):.0f} TFLOP/s"])

        def ours_fb(q=q, k=k, v=v, g=g, causal=causal):
            out, lse = attention(q, k, v, causal=causal)
            attention_backward(g, q, k, v, out, lse, causal=causal)

        rq, rk, rv = (t.detach().requires_grad_() for t in (tq, tk, tv))

        def theirs_fb(rq=rq, rk=rk, rv=rv, tg=tg, causal=causal):
            F.scaled_dot_product_attention(rq, rk, rv, is_causal=causal).backward(tg)

        ours = time_ms(ours_fb)
        theirs = time_ms(theirs_fb)
        rows.append(["attention", f"fwd+bwd {name}", ours, theirs, theirs / ours,
                     f"{_tflops(3.5 * flops, ours):.0f} TFLOP/s"])

    cache = 4096 if args.small else 16384
    tq = torch.randn(b, h, 1, d, device="cuda", dtype=torch.bfloat16)
    tk, tv = (torch.randn(b, h, cache, d, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    q, k, v = (bits(t) for t in (tq, tk, tv))
    ours = time_ms(lambda: attention(q, k, v, causal=True))
    theirs = time_ms(lambda: F.scaled_dot_product_attention(tq, tk, tv))  # one query sees every key
    gbytes = 2 * tk.numel() * 2 / 1e9
    rows.append(["attention", f"decode b{b} h{h} 1x{cache} d{d}", ours, theirs, theirs / ours,
                 f"{gbytes / (ours * 1e-3):.0f} GB/s of K/V"])
    return rows
