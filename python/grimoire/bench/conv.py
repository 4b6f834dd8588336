"""``grimoire bench conv``: convolution forward and backward against PyTorch CPU.

ResNet-like layers at batch 32 (NCHW, float32), grimoire and torch each in its own process,
alternating, on the same number of threads; prints median ms, GFLOP/s and the median of the paired
ratios torch_time / grimoire_time (above 1: grimoire is faster). Backward computes grad_x, grad_w
and grad_b (the stem, a first layer, skips grad_x) on both sides, torch through
``aten.convolution_backward`` with the same output mask.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

import grimoire
from grimoire.bench import compare_in_processes, emit, isa_of
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
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    parser.add_argument("--only", default="", help="run the layers whose name contains this text")
    parser.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    args = parser.parse_args(argv)

    args.threads = args.threads or grimoire.get_num_threads()
    rows = []
    for name, c_in, hw, c_out, k, stride, pad, first in LAYERS:
        if args.only in name:
            n = args.stem_batch if (first and args.stem_batch) else args.batch
            rows += _layer(f"{name} (N={n})", n, c_in, hw, c_out, k, stride, pad, first, args)
    emit(f"conv2d, float32 NCHW, {args.threads} threads for both, {args.repeats} alternating rounds in "
         "separate processes; ratio = median of paired torch time / grimoire time",
         ["layer", "grimoire ms", "torch ms", "grimoire GFLOP/s", "torch GFLOP/s", "ratio"], rows,
         isa=isa_of("conv2d"))


def call(lib: str, n: int, c_in: int, hw: int, c_out: int, k: int, stride: int, pad: int, first: bool,
         backward: bool) -> Callable[[], object]:
    """One forward (or backward: grad_x unless ``first``, grad_w, grad_b) convolution of ``lib``
    on Gaussian NCHW float32 data (seed 0)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, hw, hw), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) * np.float32(1 / np.sqrt(c_in * k * k))
    b = rng.standard_normal(c_out, dtype=np.float32)
    out_hw = (hw + 2 * pad - k) // stride + 1
    dy = rng.standard_normal((n, c_out, out_hw, out_hw), dtype=np.float32)
    mask = (not first, True, True)  # a first layer needs no grad_x
    if lib == "grimoire":
        if backward:
            return lambda: conv2d_backward(dy, x, w, stride=stride, padding=pad, needs_input_grad=mask)
        return lambda: conv2d(x, w, b, stride=stride, padding=pad)
    import torch

    torch.set_grad_enabled(False)
    xt, wt, bt, dyt = (torch.from_numpy(a) for a in (x, w, b, dy))
    if backward:
        return lambda: torch.ops.aten.convolution_backward(
            dyt, xt, wt, [c_out], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, list(mask))
    return lambda: torch.nn.functional.conv2d(xt, wt, bt, stride, pad)


def _layer(label, n, c_in, hw, c_out, k, stride, pad, first, args) -> list[list[object]]:
    """Forward and backward rows of one layer: [label, ms, torch ms, GFLOP/s, torch GFLOP/s, ratio]."""
    out_hw = (hw + 2 * pad - k) // stride + 1
    flops = 2.0 * n * c_out * out_hw * out_hw * c_in * k * k
    rows = []
    for backward in (False,) if args.no_backward else (False, True):
        kw = {"n": n, "c_in": c_in, "hw": hw, "c_out": c_out, "k": k, "stride": stride, "pad": pad,
              "first": first, "backward": backward}
        work = {lib: (__name__, "call", {"lib": lib, **kw}) for lib in ("grimoire", "torch")}
        c = compare_in_processes(work, repeats=args.repeats, threads=args.threads)
        f = flops * (2 if backward and not first else 1)
        t = c.seconds
        rows.append([f"{label} {'bwd' if backward else 'fwd'}", t["grimoire"] * 1e3, t["torch"] * 1e3,
                     f / t["grimoire"] / 1e9, f / t["torch"] / 1e9, c.ratio["torch"]])
    return rows
