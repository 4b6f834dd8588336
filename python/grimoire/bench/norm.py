"""``grimoire bench norm``: layer_norm / rms_norm (forward and backward) beside PyTorch CPU, same
thread count, each contender in its own process, alternating, on an (rows, dim) float32 array
(default 8192 x 4096).

GB/s counts the bytes a kernel must move: forward reads x and writes y (2 arrays), backward reads
grad_y and x and writes grad_x (3 arrays). The machine's copy bandwidth is measured the same way
with ``np.copyto(dst, x)`` into a preallocated dst (read + write, 2 arrays); "of copy" is the
kernel's GB/s over that. "alloc" rows allocate their outputs on every call (page faults on a fresh
128 MiB buffer included), as ``F.layer_norm`` does; "out=" rows write into a preallocated y.
Ratio = median over rounds of torch time / grimoire time (above 1: grimoire is faster).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from grimoire import get_num_threads
from grimoire.bench import compare_in_processes, emit, isa_of

CONTENDERS = ["copy (np.copyto)",
              "layer_norm grimoire alloc", "layer_norm grimoire out=", "layer_norm torch",
              "rms_norm grimoire alloc", "rms_norm grimoire out=", "rms_norm torch",
              "layer_norm_backward grimoire", "layer_norm_backward torch (aten)",
              "rms_norm_backward grimoire"]
PEERS = {"layer_norm grimoire alloc": "layer_norm torch", "layer_norm grimoire out=": "layer_norm torch",
         "rms_norm grimoire alloc": "rms_norm torch", "rms_norm grimoire out=": "rms_norm torch",
         "layer_norm_backward grimoire": "layer_norm_backward torch (aten)"}


def kernel(name: str, rows: int, dim: int) -> Callable[[], object]:
    """The call named ``name`` (one of CONTENDERS) on Gaussian (rows, dim) float32 data (seed 0)."""
    from grimoire.kernels import layer_norm, layer_norm_backward, rms_norm, rms_norm_backward

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    w = rng.standard_normal(dim, dtype=np.float32)
    b = rng.standard_normal(dim, dtype=np.float32)
    gy = rng.standard_normal((rows, dim), dtype=np.float32)
    y = np.empty_like(x)
    _, mean, rstd = layer_norm(x, w, b)
    _, rrstd = rms_norm(x, w)
    ours = {"copy (np.copyto)": lambda: np.copyto(y, x),
            "layer_norm grimoire alloc": lambda: layer_norm(x, w, b),
            "layer_norm grimoire out=": lambda: layer_norm(x, w, b, out=y),
            "rms_norm grimoire alloc": lambda: rms_norm(x, w),
            "rms_norm grimoire out=": lambda: rms_norm(x, w, out=y),
            "layer_norm_backward grimoire": lambda: layer_norm_backward(gy, x, w, mean, rstd),
            "rms_norm_backward grimoire": lambda: rms_norm_backward(gy, x, w, rrstd)}
    if name in ours:
        return ours[name]
    import torch
    import torch.nn.functional as F

    torch.set_grad_enabled(False)
    tx, tw, tb, tgy = (torch.from_numpy(a) for a in (x, w, b, gy))
    tmean, trstd = torch.from_numpy(mean).reshape(rows, 1), torch.from_numpy(rstd).reshape(rows, 1)
    theirs = {"layer_norm torch": lambda: F.layer_norm(tx, (dim,), tw, tb),
              "rms_norm torch": lambda: F.rms_norm(tx, (dim,), tw, 1e-6),
              "layer_norm_backward torch (aten)": lambda: torch.ops.aten.native_layer_norm_backward(
                  tgy, tx, [dim], tmean, trstd, tw, tb, [True, True, True])}
    return theirs[name]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench norm", description=__doc__)
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    args = ap.parse_args(argv)
    n, d = args.rows, args.dim
    work = {name: (__name__, "kernel", {"name": name, "rows": n, "dim": d}) for name in CONTENDERS}
    c = compare_in_processes(work, repeats=args.repeats)
    mb = n * d * 4 / 1e9
    copy_gbs = 2 * mb / c.seconds["copy (np.copyto)"]
    rows = []
    for name, sec in c.seconds.items():
        gbs = (3 if "backward" in name else 2) * mb / sec
        ratio = f"{c.paired(PEERS[name], name):.2f}x" if name in PEERS else ""
        rows.append([name, sec * 1e3, gbs, f"{100 * gbs / copy_gbs:.0f}%", ratio])
    emit(f"norm: ({n}, {d}) float32, {get_num_threads()} threads for both, {args.repeats} alternating rounds "
         f"in separate processes; copy bandwidth {copy_gbs:.1f} GB/s (np.copyto, read+write)",
         ["kernel", "median ms", "GB/s", "of copy", "vs torch"], rows, isa=isa_of("norm"))
