"""``grimoire bench``: grimoire beside its peers, in one process.

Each family's module here has ``main(argv)``; ``grimoire bench <family>`` runs it and
``grimoire bench`` lists them. :func:`compare` is the one timing loop they all use: the
contenders run interleaved (a, b, a, b, ...) so a slow moment of a shared machine hits them
alike, and medians are reported.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import statistics
import time
from collections.abc import Callable


def families() -> list[str]:
    # gpu_<family> modules are run together by `grimoire bench gpu` (gpu.py), not one by one.
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if not m.name.startswith("_") and not m.name.startswith("gpu_"))


def run(family: str, argv: list[str]) -> None:
    if family not in families():
        raise SystemExit(f"grimoire bench: no benchmark '{family}' (have: {', '.join(families())})")
    importlib.import_module(f"{__name__}.{family}").main(argv)


def compare(contenders: dict[str, Callable[[], object]], repeats: int = 7,
            min_time: float = 0.05, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each contender, timed interleaved.

    Each measurement calls a contender enough times to last ``min_time`` (found in the warm-up),
    so fast calls are not lost in the timer's resolution.
    """
    loops = {}
    for name, fn in contenders.items():
        for _ in range(warmup):
            fn()
        start, n = time.perf_counter(), 0
        while True:
            fn()
            n += 1
            if time.perf_counter() - start >= min_time or n >= 1000:
                break
        loops[name] = n
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in contenders.items():
                n = loops[name]
                start = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - start) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


def table(header: list[str], rows: list[list[object]]) -> str:
    """A plain aligned text table."""
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
