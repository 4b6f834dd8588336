"""``grimoire bench conv``: convolution forward and backward against PyTorch CPU.

ResNet-like layers at batch 32 (NCHW, float32), timed interleaved with torch in one process on
the same number of threads; prints median ms, GFLOP/s and the ratio torch_time / grimoire_time
(above 1: grimoire is faster). Backward computes grad_x, grad_w and grad_b (the stem, a first
layer, skips grad_x) on both sides, torch through ``aten.convolution_backward`` with the same
output mask.
"""

from __future__ import annotations

import argparse

import numpy as np

import grimoire
from grimoire.bench import compare, table
from grimoire.kernels import conv2d, conv2d_backward

# name, C_in, H, C_out, k, stride, padding, first layer (no grad_x)
LAYERS = [
    ("conv 64ch 56x56 3x3", 64, 56, 64, 3, 1, 1, False),
    ("conv 128ch 28x28 3x3", 128, 28, 128, 3, 1, 1, False),
    ("conv 256ch 14x14 3x3", 256, 14, 256, 3, 1, 1, False),
    ("stem 3->64 224x224 7x7/2", 3, 224, 64, 7, 2, 3, True),
    ("conv 256->64 56x56 1x1", 256, 56, 64, 1, 1, 0, False),
]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench conv", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--stem-batch", type=int, default=None,
                        help="batch for the 224x224 stem only (default: --batch), if it is too slow")
    parser.add_argument("--threads", type=int, default=None, help="threads for both (default: grimoire's)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timings per contender")
    parser.add_argument("--only", default="", help="run the layers whose name contains this text")
    parser.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    args = parser.parse_args(argv)

    import torch

    threads = args.threads or grimoire.get_num_threads()
    grimoire.set_num_threads(threads)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for name, c_in, hw, c_out, k, stride, pad, first in LAYERS:
        if args.only in name:
            n = args.stem_batch if (first and args.stem_batch) else args.batch
            rows += _layer(torch, rng, f"{name} (N={n})", n, c_in, hw, c_out, k, stride, pad, first, args)
    print(f"conv2d, float32 NCHW, {threads} threads, isa {grimoire._core.active_isa()}; "
          "ratio = torch time / grimoire time")
    print(table(["layer", "grimoire ms", "torch ms", "grimoire GFLOP/s", "torch GFLOP/s", "ratio"], rows))


def _layer(torch, rng, label, n, c_in, hw, c_out, k, stride, pad, first, args) -> list[list[object]]:
    """Forward and backward rows of one layer: [label, ms, torch ms, GFLOP/s, torch GFLOP/s, ratio]."""
    x = rng.standard_normal((n, c_in, hw, hw), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) * np.float32(1 / np.sqrt(c_in * k * k))
    b = rng.standard_normal(c_out, dtype=np.float32)
    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    y = conv2d(x, w, b, stride=stride, padding=pad)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dyt = torch.from_numpy(dy)
    flops = 2.0 * n * c_out * y.shape[2] * y.shape[3] * c_in * k * k
    rows = []

    def row(what: str, t: dict[str, float], f: float) -> None:
        rows.append([f"{label} {what}", t["grimoire"] * 1e3, t["torch"] * 1e3, f / t["grimoire"] / 1e9,
                     f / t["torch"] / 1e9, t["torch"] / t["grimoire"]])

    with torch.no_grad():
        t = compare({
            "grimoire": lambda: conv2d(x, w, b, stride=stride, padding=pad),
            "torch": lambda: torch.nn.functional.conv2d(xt, wt, bt, stride, pad),
        }, repeats=args.repeats)
        row("fwd", t, flops)
        if args.no_backward:
            return rows
        mask = [not first, True, True]  # a first layer needs no grad_x
        t = compare({
            "grimoire": lambda: conv2d_backward(dy, x, w, stride=stride, padding=pad,
                                                needs_input_grad=tuple(mask)),
            "torch": lambda: torch.ops.aten.convolution_backward(
                dyt, xt, wt, [c_out], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask),
        }, repeats=args.repeats)
        row("bwd", t, flops * (1 if first else 2))
    return rows
