"""``grimoire bench gemm``: float32 GEMM beside numpy.matmul (OpenBLAS) and torch.matmul.

Squares 64..2048 (4096 with ``--big``) and skinny products (m in 1, 8, 32 with k = n = 4096), with
one thread and with every core; each contender runs in its own process, alternating
(:func:`grimoire.bench.compare_in_processes`), with the same thread count for all.
Reported: GFLOP/s (2 m n k / median seconds), the ratio of grimoire's speed to NumPy's and to
torch's (> 1: grimoire is faster) and grimoire's fraction of the FP32 peak.

The peak is measured, not assumed: ``_core.fma_peak_flops`` runs a loop of independent FMAs as
wide as the gemm path in use (16 float32 lanes on the avx512 path, 8 on avx2) on each thread and
divides by that thread's CPU time, so the peak is what a core sustains now with the gemm's own
instructions (a shared machine's time slices do not count against it; they do count against the
wall-clock GEMM timings, which is why the paired ratios are the figures to trust on a busy
machine). 2 FMA pipes x lanes x 2 FLOP per cycle: 32 FLOP/cycle with AVX2 (Zen 3) and on Zen 4's
AVX-512 (two 256-bit halves), 64 with AVX-512 on a full-width core (Zen 5): there the AVX2 peak
would be half the real one.

NumPy's BLAS: some machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which slow a current
OpenBLAS; the header shows what threadpoolctl reports OpenBLAS runs, so a run can be repeated with
both unset (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE grimoire bench gemm``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable

import numpy as np

import grimoire
from grimoire import _core
from grimoire.bench import compare_in_processes, emit, isa_of


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = [f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture')} "
             f"threads={i.get('num_threads')}" for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def measure_peak(threads: int) -> float:
    """GFLOP/s of all `threads` cores together, from the FMA throughput loop of the gemm's width."""
    return sum(_core.fma_peak_flops(30_000_000, threads)) / 1e9


def shapes(big: bool, skinny: bool, sizes: list[int] | None) -> list[tuple[int, int, int]]:
    squares = sizes or [64, 128, 256, 512, 1024, 2048] + ([4096] if big else [])
    out = [(s, s, s) for s in squares]
    if skinny:
        out += [(m, 4096, 4096) for m in (1, 8, 32)]
    return out


def product(lib: str, m: int, n: int, k: int) -> Callable[[], object]:
    """A call of ``lib``'s float32 A (m, k) @ B (k, n), Gaussian operands (seed 0)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    if lib == "grimoire":
        return lambda: grimoire.matmul(a, b)
    if lib == "torch":
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        return lambda: torch.matmul(ta, tb)
    return lambda: np.matmul(a, b)


def run(threads: int, problem_shapes: Iterable[tuple[int, int, int]], repeats: int,
        min_time: float) -> list[list[object]]:
    """One row per shape: GFLOP/s of each library, paired ratios, grimoire's % of the peak."""
    peak = measure_peak(threads)
    libs = ["grimoire", "numpy"] + (["torch"] if _torch() is not None else [])
    rows = []
    for m, n, k in problem_shapes:
        work = {lib: (__name__, "product", {"lib": lib, "m": m, "n": n, "k": k}) for lib in libs}
        c = compare_in_processes(work, repeats=repeats, threads=threads, min_time=min_time)
        flop = 2.0 * m * n * k
        g = {name: flop / s / 1e9 for name, s in c.seconds.items()}
        row = [f"{m}x{k}x{n}", threads, g["grimoire"], g["numpy"], c.ratio["numpy"]]
        if "torch" in libs:
            row += [g["torch"], c.ratio["torch"]]
        row += [f"{100 * g['grimoire'] / peak:.0f}%"]
        rows.append(row)
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench gemm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="also 4096x4096 (slow on a small machine)")
    parser.add_argument("--no-skinny", action="store_true", help="skip m in 1, 8, 32 with k = n = 4096")
    parser.add_argument("--sizes", type=int, nargs="*", help="square sizes instead of 64..2048")
    parser.add_argument("--threads", type=int, nargs="*",
                        help="thread counts (default: 1 and every core)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per timed sample")
    args = parser.parse_args(argv)
    # numpy's BLAS must run the same threads as grimoire for a fair figure, and only threadpoolctl
    # can set them; without it `grimoire bench` says so (bench/__init__.run) instead of timing.
    import threadpoolctl  # noqa: F401

    cores = _core.available_cores()
    thread_counts = args.threads or sorted({1, cores})
    torch = _torch()
    peak1 = measure_peak(1)
    print("grimoire bench gemm: float32, C = A @ B, A (m, k), B (k, n), contiguous; each contender in its "
          f"own process, {args.repeats} alternating rounds, wall-clock medians, median of paired ratios")
    print(f"isa: {_core.active_isa()}; cores: {cores}; numpy {np.__version__}: {_blas_description()}")
    env = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ}
    if env:
        print(f"note: {env} is set and may slow NumPy's OpenBLAS (see this module's docstring)")
    print(f"torch {torch.__version__}" if torch is not None else "torch: not installed")
    print(f"FP32 peak per core: {peak1:.1f} GFLOP/s (sustained, a loop of {isa_of('gemm')} FMAs, "
          "per CPU-second)")
    problem_shapes = shapes(args.big, not args.no_skinny, args.sizes)
    for threads in thread_counts:
        print(f"\n{threads} thread(s): peak {measure_peak(threads):.1f} GFLOP/s")
        header = ["m x k x n", "threads", "grimoire GFLOP/s", "numpy GFLOP/s", "vs numpy"]
        if torch is not None:
            header += ["torch GFLOP/s", "vs torch"]
        header += ["% of peak"]
        emit(f"gemm, {threads} thread(s)", header, run(threads, problem_shapes, args.repeats, args.min_time),
             isa=isa_of("gemm"))
    print("\nvs numpy / vs torch: time of the peer / time of grimoire (> 1 means grimoire is faster)")
