"""One contender of :func:`grimoire.bench.compare_in_processes`, in a process of its own.

``python -m grimoire.bench._worker SPEC``: SPEC is JSON {module, function, kwargs, threads, warmup,
min_time}. Builds the work with ``module.function(**kwargs)``, pins every thread pool it can see
to ``threads``, times the callable and prints one line: the result mark, then JSON
{"seconds": per call, "calls": n, "extra": report() or null}.
"""

from __future__ import annotations

import importlib
import json
import sys

from grimoire.bench import _RESULT_MARK, calibrate, gc_paused, time_calls


def _pin_threads(threads: int):
    """torch, grimoire and (threadpoolctl) the BLAS / OpenMP pools to ``threads``; returns the
    threadpoolctl limit to hold while timing (None without threadpoolctl)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "grimoire._core" in sys.modules:
        sys.modules["grimoire._core"].set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads)


def main(spec: dict) -> None:
    made = getattr(importlib.import_module(spec["module"]), spec["function"])(**spec["kwargs"])
    fn, report = made if isinstance(made, tuple) else (made, None)
    limits = _pin_threads(int(spec["threads"]))
    try:
        n = calibrate(fn, int(spec["warmup"]), float(spec["min_time"]))
        with gc_paused():
            seconds = time_calls(fn, n)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    out = {"seconds": seconds, "calls": n, "extra": report() if report is not None else None}
    print(_RESULT_MARK + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
