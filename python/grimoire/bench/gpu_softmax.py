"""GPU softmax and the fused cross-entropy (loss and gradient) against torch CUDA
(torch.softmax; cross_entropy forward + backward), on a GPT-2 vocabulary (50257 classes)."""

from __future__ import annotations

import argparse

from .gpu import time_ms


def run(args: argparse.Namespace) -> list[list[object]]:
    import torch

    from grimoire.kernels import cross_entropy, softmax

    n, c = (256, 50257) if args.small else (8192, 50257)
    logits = torch.randn(n, c, device="cuda")
    targets = torch.randint(0, c, (n,), device="cuda")
    gb = 2 * n * c * 4 / 1e9
    g = time_ms(lambda: softmax(logits))
    t = time_ms(lambda: torch.softmax(logits, -1))
    rows = [["softmax", f"softmax {n}x{c}", g, t, t / g, f"{gb / (g * 1e-3):.0f} GB/s"]]
    g = time_ms(lambda: cross_entropy(logits, targets, return_grad=True))
    lr = logits.clone().requires_grad_(True)

    def torch_ce():
        loss = torch.nn.functional.cross_entropy(lr, targets)
        (grad,) = torch.autograd.grad(loss, lr)
        return loss.item(), grad  # .item(): grimoire returns the loss as a Python float too

    t = time_ms(torch_ce)
    rows.append(
        [
            "softmax",
            f"cross_entropy+grad {n}x{c}",
            g,
            t,
            t / g,
            f"{gb * 1.5 / (g * 1e-3):.0f} GB/s (2 reads + 1 write)",
        ]
    )
    return rows
