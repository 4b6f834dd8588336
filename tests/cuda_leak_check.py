"""Device-memory leak check of grimoire._cuda, for ``compute-sanitizer --leak-check full``
(cuda/sanitize.sh runs it): every _cuda binding that tests/fuzz.py has an argument model for is
called on CuPy copies of the model's valid arguments at a few sizes, then every reference is
dropped and the device is reset, so the leak report at the reset holds only what grimoire itself
failed to free.

Why not over pytest: there CuPy's memory pool keeps freed blocks for reuse until the pool is
destroyed, PyTorch (the tests' oracle) keeps its caching allocator and cuBLAS/cuDNN handles to the
end of the process, and fixtures keep arrays alive: memcheck would report all of it as leaked and
--error-exitcode would fail a clean run. Here the pools are off (each array is one cudaMalloc,
freed when its last reference goes), PyTorch is never imported, and nothing is kept.

    python tests/cuda_leak_check.py [--dry]     # --dry: build and list the calls, no device
Exits 0 with a note where there is no device; 1 if a binding could not be called even once.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
SIZES = (1, 2, 3)


def calls():
    """(binding, size, kwargs with NumPy arrays) for every _cuda binding with a fuzz model."""
    from fuzz import MODELS
    from grimoire import _cuda

    queries = ("device_count", "device_names", "runtime_version", "gemm_path", "attention_forward_path")
    bound = [n for n in dir(_cuda)
             if not n.startswith("_") and callable(getattr(_cuda, n)) and n not in queries]
    for name in sorted(bound):
        m = MODELS.get(name)
        if m is None or m.exempt:
            yield name, None, None
            continue
        for s in SIZES:
            yield name, s, m.build(np.random.default_rng(s), s)


def to_device(value, cupy):
    if isinstance(value, np.ndarray):
        return cupy.asarray(value)
    if isinstance(value, list | tuple) and any(isinstance(v, np.ndarray) for v in value):
        return type(value)(to_device(v, cupy) for v in value)
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cuda_leak_check")
    parser.add_argument("--dry", action="store_true", help="list the calls without a device")
    args = parser.parse_args(argv)
    try:
        from grimoire import _cuda
    except ImportError:
        print("cuda_leak_check: grimoire._cuda is not built: nothing to check")
        return 0
    if args.dry:
        for name, s, kwargs in calls():
            print(name, "no fuzz model: not called" if kwargs is None else f"size {s}: {sorted(kwargs)}")
        return 0
    if _cuda.device_count() == 0:
        print("cuda_leak_check: no CUDA device: nothing to check")
        return 0
    import cupy

    cupy.cuda.set_allocator(None)  # each array its own cudaMalloc / cudaFree
    cupy.cuda.set_pinned_memory_allocator(None)
    ok, refused, missing = {}, {}, []
    for name, s, kwargs in calls():
        if kwargs is None:
            missing.append(name)
            continue
        try:
            result = getattr(_cuda, name)(**{k: to_device(v, cupy) for k, v in kwargs.items()})
            cupy.cuda.runtime.deviceSynchronize()
            ok[name] = ok.get(name, 0) + 1
            del result
        except (TypeError, ValueError) as e:  # the model's dtype or layout that _cuda refuses
            refused.setdefault(name, f"size {s}: {type(e).__name__}: {e}")
    gc.collect()
    never = sorted(set(refused) - set(ok))
    print(f"cuda_leak_check: {sum(ok.values())} calls over {len(ok)} bindings; no model: {missing or 'none'}")
    for name in never:
        print(f"  {name} was never called successfully ({refused[name]})")
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()
    cupy.cuda.runtime.deviceSynchronize()
    cupy.cuda.runtime.deviceReset()  # compute-sanitizer reports what is still allocated here
    return 1 if never else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
