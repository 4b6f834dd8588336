"""``grimoire bench norm``: layer_norm / rms_norm (forward and backward) beside PyTorch CPU, same
thread count, timed interleaved, on an (rows, dim) float32 array (default 8192 x 4096).

GB/s counts the bytes a kernel must move: forward reads x and writes y (2 arrays), backward reads
grad_y and x and writes grad_x (3 arrays). The machine's copy bandwidth is measured the same way
with ``np.copyto(dst, x)`` into a preallocated dst (read + write, 2 arrays); "of copy" is the
kernel's GB/s over that. "alloc" rows allocate their outputs on every call (page faults on a fresh
128 MiB buffer included), as ``F.layer_norm`` does; "out=" rows write into a preallocated y.
Ratio = torch time / grimoire time (above 1: grimoire is faster).
"""

from __future__ import annotations

import argparse

import numpy as np

from grimoire import get_num_threads
from grimoire.bench import compare, table
from grimoire.kernels import layer_norm, layer_norm_backward, rms_norm, rms_norm_backward


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench norm", description=__doc__)
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(get_num_threads())
    rng = np.random.default_rng(0)
    n, d = args.rows, args.dim
    x = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal(d, dtype=np.float32)
    b = rng.standard_normal(d, dtype=np.float32)
    gy = rng.standard_normal((n, d), dtype=np.float32)
    y = np.empty_like(x)
    tx, tw, tb, tgy = (torch.from_numpy(a) for a in (x, w, b, gy))
    _, mean, rstd = layer_norm(x, w, b)
    _, rrstd = rms_norm(x, w)
    tmean, trstd = torch.from_numpy(mean).reshape(n, 1), torch.from_numpy(rstd).reshape(n, 1)

    def torch_ln_backward():
        torch.ops.aten.native_layer_norm_backward(tgy, tx, [d], tmean, trstd, tw, tb, [True, True, True])

    contenders = {
        "copy (np.copyto)": lambda: np.copyto(y, x),
        "layer_norm grimoire alloc": lambda: layer_norm(x, w, b),
        "layer_norm grimoire out=": lambda: layer_norm(x, w, b, out=y),
        "layer_norm torch": lambda: F.layer_norm(tx, (d,), tw, tb),
        "rms_norm grimoire alloc": lambda: rms_norm(x, w),
        "rms_norm grimoire out=": lambda: rms_norm(x, w, out=y),
        "rms_norm torch": lambda: F.rms_norm(tx, (d,), tw, 1e-6),
        "layer_norm_backward grimoire": lambda: layer_norm_backward(gy, x, w, mean, rstd),
        "layer_norm_backward torch (aten)": torch_ln_backward,
        "rms_norm_backward grimoire": lambda: rms_norm_backward(gy, x, w, rrstd),
    }
    with torch.no_grad():
        t = compare(contenders, repeats=args.repeats)
    mb = n * d * 4 / 1e9
    copy_gbs = 2 * mb / t["copy (np.copyto)"]
    peers = {"layer_norm grimoire alloc": "layer_norm torch", "layer_norm grimoire out=": "layer_norm torch",
             "rms_norm grimoire alloc": "rms_norm torch", "rms_norm grimoire out=": "rms_norm torch",
             "layer_norm_backward grimoire": "layer_norm_backward torch (aten)"}
    rows = []
    for name, sec in t.items():
        arrays = 3 if "backward" in name else 2
        gbs = arrays * mb / sec
        ratio = f"{t[peers[name]] / sec:.2f}x" if name in peers else ""
        rows.append([name, sec * 1e3, gbs, f"{100 * gbs / copy_gbs:.0f}%", ratio])
    print(f"norm: ({n}, {d}) float32, {get_num_threads()} threads (torch {torch.get_num_threads()}); "
          f"copy bandwidth {copy_gbs:.1f} GB/s (np.copyto, read+write)")
    print(table(["kernel", "median ms", "GB/s", "of copy", "vs torch"], rows))
