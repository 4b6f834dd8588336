"""``grimoire.info()``: what this build is and which paths its kernels take."""

from __future__ import annotations

import platform

from . import _core


def _cuda_status() -> dict:
    try:
        from . import _cuda
    except ImportError:
        return {"built": False, "devices": 0}
    return {"built": True, "devices": _cuda.device_count(), "device_names": _cuda.device_names(),
            "runtime": _cuda.runtime_version(),
            "families": {k: list(v) for k, v in sorted(_cuda.families.items())}}


def cuda_unavailable() -> str | None:
    """Why tensors cannot go to a GPU here (``Tensor.to("cuda")``, ``Module.to("cuda")``), in a
    phrase, or None when they can: ``grimoire._cuda`` built, a CUDA device found, CuPy installed
    (device arrays are CuPy arrays)."""
    status = _cuda_status()
    if not status["built"]:
        return "grimoire was built without CUDA (no nvcc at build time)"
    if status["devices"] == 0:
        return "no CUDA device on this machine"
    try:
        import cupy  # noqa: F401
    except ImportError:
        return "CuPy is not installed (pip install 'ml-grimoire[cuda]')"
    return None


def info(as_dict: bool = False) -> dict | str:
    """Report the version, compiler, CPU features, the path each kernel family uses, threads and
    CUDA. Returns a readable text, or the underlying dict with ``as_dict=True``."""
    from . import __version__

    d = {
        "version": __version__,
        "python": platform.python_version(),
        "compiler": _core.compiler,
        "cpu": platform.processor() or platform.machine(),
        "isa_detected": _core.detected_isa(),
        "isa_active": _core.active_isa(),
        "cpu_features": _core.cpu_features(),
        "kernels": {name: {"paths": paths, "in_use": used}
                    for name, (paths, used) in sorted(_core.kernel_families().items())},
        "threads": _core.get_num_threads(),
        "threads_pinned": _core.num_threads_pinned(),
        "cores": _core.available_cores(),
        "cuda": _cuda_status(),
    }
    if as_dict:
        return d
    features = ", ".join(k for k, v in d["cpu_features"].items() if v) or "none"
    lines = [
        f"grimoire {d['version']} (Python {d['python']}, {d['compiler']})",
        f"CPU features: {features}",
        f"instruction set: detected {d['isa_detected']}, in use {d['isa_active']}"
        " (GRIMOIRE_ISA=scalar|avx2|avx512 limits it)",
        f"threads: {d['threads']} of {d['cores']} cores ("
        + ("pinned by GRIMOIRE_NUM_THREADS or set_num_threads)" if d["threads_pinned"]
           else "following OpenMP: OMP_NUM_THREADS, threadpoolctl)"),
        "kernel families (compiled paths -> path in use):",
    ]
    for name, k in d["kernels"].items():
        lines.append(f"  {name:<18} {', '.join(k['paths']):<24} -> {k['in_use']}")
    cuda = d["cuda"]
    if cuda["built"]:
        runtime = f"{cuda['runtime'] // 1000}.{cuda['runtime'] % 1000 // 10}"
        lines.append(f"CUDA: built (grimoire._cuda, runtime {runtime}), {cuda['devices']} device(s) "
                     + ", ".join(cuda.get("device_names", [])))
        lines.append("CUDA kernel families (kernels built):")
        for name, kernels in cuda["families"].items():
            lines.append(f"  {name:<18} {', '.join(kernels)}")
    else:
        lines.append("CUDA: not built (no nvcc at build time); the CPU package is complete")
    return "\n".join(lines)
