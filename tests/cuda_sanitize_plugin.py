"""pytest plugin for cuda/sanitize.sh (``-p cuda_sanitize_plugin``): CuPy's memory pools off, so
every device array is its own cudaMalloc of exactly the requested size and compute-sanitizer's
memcheck sees an overrun at the array's own end (a pooled block is larger than asked, which
hides overruns inside it). PyTorch's caching allocator is turned off by the script's
PYTORCH_NO_CUDA_MEMORY_CACHING=1 for the same reason. Leaks are not checked over pytest (the
process keeps library handles and fixture arrays to its end): tests/cuda_leak_check.py does that."""

from __future__ import annotations


def pytest_configure(config) -> None:
    try:
        import cupy
    except ImportError:
        return
    cupy.cuda.set_allocator(None)
    cupy.cuda.set_pinned_memory_allocator(None)
