"""``grimoire bench gpu``: every GPU family against PyTorch CUDA, in one process.

Discovers the ``gpu_<family>.py`` modules beside this one; each has ``run(args) -> list of
rows`` (``[family, case, grimoire, torch, ratio, note]``, times in milliseconds, measured with
CUDA events after a warm-up). Without a GPU (or without CuPy / PyTorch CUDA) it says so in one
line and exits 0. ``grimoire bench gpu [--small] [family ...]``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable

from . import __path__ as _bench_path
from . import table


def gpu_families() -> list[str]:
    return sorted(m.name[4:] for m in pkgutil.iter_modules(_bench_path) if m.name.startswith("gpu_"))


def unavailable() -> str | None:
    """Why the GPU benchmarks cannot run here, or None when they can."""
    from grimoire._info import cuda_unavailable

    reason = cuda_unavailable()
    if reason:
        return reason
    try:
        import torch
    except ImportError:
        return "the GPU benchmarks compare with PyTorch CUDA, and PyTorch is not installed"
    if not torch.cuda.is_available():
        return "PyTorch here has no CUDA support"
    return None


def time_ms(fn: Callable[[], object], repeats: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of fn() on the current CuPy stream, by CUDA events around each call."""
    import statistics

    import cupy as cp

    for _ in range(warmup):
        fn()
    cp.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(repeats):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench gpu")
    parser.add_argument("families", nargs="*", help=f"subset of {gpu_families()}")
    parser.add_argument("--small", action="store_true", help="small sizes (a quick check)")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason:
        print(f"grimoire bench gpu: skipped ({reason})")
        return
    rows = []
    for family in args.families or gpu_families():
        if family not in gpu_families():
            have = ", ".join(gpu_families())
            raise SystemExit(f"grimoire bench gpu: no GPU benchmark '{family}' (have: {have})")
        rows += importlib.import_module(f"{__package__}.gpu_{family}").run(args)
    import torch

    print(f"device: {torch.cuda.get_device_name()}; times are medians of CUDA-event timings")
    print(table(["family", "case", "grimoire ms", "torch ms", "torch/grimoire", "note"], rows))
