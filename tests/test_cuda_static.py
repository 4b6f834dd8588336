"""Static checks of the compiled CUDA kernels, run without a GPU (the second rung of the
verification ladder in DESIGN.md: compiled -> static -> tested on a GPU -> benchmarked).

From grimoire._cuda's own fatbinary (cuobjdump, from PyPI's nvidia-cuda-cuobjdump where the CUDA
install lacks it):
- every kernel of every architecture has no register spills (STACK/LOCAL 0), and its static
  shared memory fits the architecture (163 KiB on sm_80, 227 KiB on sm_90);
- the kernels that must run on tensor cores contain tensor-core instructions in their SASS;
- every kernel a family reports in ``_cuda.families`` is in the binary and in the resource
  report, for each architecture; every tensor-core pattern matches at least one kernel per
  architecture (a renamed kernel fails instead of passing with nothing checked).
Dynamic shared memory is not visible here: kernels that use it size it with constexprs and
static_assert the same limits in their .cu file.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess

import pytest
from cuda_support import _cuda, needs_build

pytestmark = needs_build

SHARED_LIMIT = {"sm_80": 163 * 1024, "sm_89": 99 * 1024, "sm_90a": 227 * 1024, "sm_90": 227 * 1024}
ARCHS = ("sm_80", "sm_90a")
# gemm_lowp.cu alone is also compiled for sm_89 (CMakeLists.txt: its own object library), where
# FP8 mma.sync is a QMMA; the other families would gain nothing there but build time.
LOWP_ARCH, LOWP_CUBIN = "sm_89", "gemm_lowp.sm_89.cubin"

# kernel-name pattern -> SASS opcode pattern it must contain, per architecture ("*": every one).
# HMMA: fp16/bf16 mma.sync; IMMA: int8 mma; HGMMA: Hopper wgmma; QMMA: FP8 mma (sm_89+).
TENSOR_CORE_KERNELS: dict[str, dict[str, str]] = {
    # gemm (bf16/fp16 operands) and conv (bf16): the tensor-core mainloop with HMMA.
    r"tc_gemm_kernel<grimoire::cuda::kernels::MmaBf16\b": {"*": r"\bHMMA\.16816\.F32\.BF16"},
    r"tc_gemm_kernel<grimoire::cuda::kernels::MmaF16\b": {"*": r"\bHMMA\.16816\.F32\b"},
    # gemm_int8 / linear_int8: IMMA (s8 x s8 -> s32).
    r"tc_gemm_kernel<grimoire::cuda::kernels::MmaS8\b": {"*": r"\bIMMA\.16832\.S8\.S8",
                                                          LOWP_ARCH: r"\bIMMA\.16832\.S8\.S8"},
    # gemm_fp8: on sm_80 the codes are widened to fp16 in registers for HMMA. On sm_90a ptxas
    # itself lowers mma.sync's e4m3/e5m2 forms to F2FP unpacks + HMMA (Hopper has QMMA only
    # behind wgmma; mma.sync QMMA exists on sm_89 and sm_120), which this checks is what ran.
    r"tc_gemm_kernel<grimoire::cuda::kernels::MmaFp8<": {
        "sm_90a": r"(?s)(?=.*F2FP\.F16\.E[45]M[23]\.UNPACK)(?=.*HMMA\.16816)",
        "sm_80": r"\bHMMA\.16816\.F32\b",
        # sm_89: the FP8 tensor-core instruction itself, and no widening to HMMA.
        LOWP_ARCH: r"(?s)\A(?=.*\bQMMA\.16832\.F32\.E[45]M[23]\.E[45]M[23])(?!.*\bHMMA\b)",
    },
    r"attention_(fwd|bwd_dq|bwd_dkdv)_mma<": {"*": r"\bHMMA\.16816\.F32"},
}

# Kernels allowed to touch local memory, each with the reason (none so far).
SPILL_ALLOWED: dict[str, str] = {}


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    import nvidia  # the nvidia-cuda-cuobjdump / -nvdisasm wheels

    for root in nvidia.__path__:
        hits = glob.glob(os.path.join(root, "*", "bin", name))
        if hits:
            return hits[0]
    raise FileNotFoundError(f"{name} not found: pip install nvidia-cuda-{name}")


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@functools.cache
def _cubins(tmp_root: str) -> dict[str, str]:
    """{arch: path of the cubin} for every architecture compiled into _cuda (one fatbin per .cu
    file: all of them land in one directory per arch)."""
    os.makedirs(tmp_root, exist_ok=True)
    subprocess.run([_tool("cuobjdump"), "-xelf", "all", _cuda.__file__], check=True, cwd=tmp_root,
                   capture_output=True)
    return {p: os.path.join(tmp_root, p) for p in os.listdir(tmp_root) if p.endswith(".cubin")}


@pytest.fixture(scope="module")
def cubins(tmp_path_factory):
    return _cubins(str(tmp_path_factory.mktemp("cubins")))


def _demangle(names: list[str]) -> list[str]:
    out = _run("c++filt", *names) if names else ""
    return out.splitlines()


@functools.cache
def _resource_usage(path: str) -> dict[str, dict[str, int]]:
    """{demangled kernel: {"REG": .., "STACK": .., "SHARED": .., "LOCAL": ..}} of one cubin."""
    text = _run(_tool("cuobjdump"), "-res-usage", path)
    entries = re.findall(r"Function (\S+):\s*\n\s*(.*)", text)
    demangled = _demangle([m for m, _ in entries])
    return {kernel: {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", fields)}
            for (_, fields), kernel in zip(entries, demangled, strict=True)}


def resource_usage(cubins: dict[str, str]) -> dict[tuple[str, str], dict[str, int]]:
    """{(arch, demangled kernel): {"REG": .., "STACK": .., "SHARED": .., "LOCAL": ..}}."""
    return {(_arch(name), kernel): u for name, path in cubins.items()
            for kernel, u in _resource_usage(path).items()}


def _arch(cubin_name: str) -> str:
    return re.search(r"\.(sm_\w+)\.cubin$", cubin_name).group(1)


@functools.cache
def _sass(path: str) -> dict[str, str]:
    """{demangled kernel: its SASS} of one cubin (disassembled and demangled once per session)."""
    functions = re.split(r"\n\s*Function : ", _run(_tool("cuobjdump"), "-sass", path))[1:]
    names = _demangle([f.split("\n", 1)[0].strip() for f in functions])
    return dict(zip(names, functions, strict=True))


def sass_by_arch(cubins: dict[str, str]) -> dict[str, dict[str, str]]:
    """{arch: {kernel: SASS}} over every cubin of _cuda."""
    out: dict[str, dict[str, str]] = {}
    for name, path in cubins.items():
        out.setdefault(_arch(name), {}).update(_sass(path))
    return out


def test_every_architecture_is_compiled(cubins):
    archs = {re.search(r"\.(sm_\w+)\.cubin$", n).group(1) for n in cubins}
    assert set(ARCHS) <= archs, f"compiled for {sorted(archs)}, expected {ARCHS}"
    assert "sm_80" in _run(_tool("cuobjdump"), "-lptx", _cuda.__file__), "no PTX for JIT on later GPUs"
    lowp = sorted(n for n in cubins if f".{LOWP_ARCH}." in n)
    assert lowp == [LOWP_CUBIN], f"{LOWP_ARCH} SASS expected for gemm_lowp.cu alone, found {lowp}"


def test_the_resource_report_covers_every_kernel(cubins):
    """Every kernel in the SASS has a resource line with all four fields: a kernel the report's
    parser missed (or a field it lacks) would pass the spill and shared-memory checks unseen."""
    usage = resource_usage(cubins)
    for arch, kernels in sass_by_arch(cubins).items():
        for kernel in kernels:
            assert (arch, kernel) in usage, f"{kernel} on {arch}: not in cuobjdump -res-usage"
            missing = {"REG", "STACK", "SHARED", "LOCAL"} - set(usage[(arch, kernel)])
            assert not missing, f"{kernel} on {arch}: no {sorted(missing)} in its resource line"
    assert len(usage) == sum(len(k) for k in sass_by_arch(cubins).values())
    for family, names in _cuda.families.items():  # the hot kernels are all in the report
        for name in names:
            for arch in ARCHS:
                assert any(a == arch and re.search(rf"\b{re.escape(name)}\b", k) for a, k in usage), \
                    f"{family}: {name} has no resource line for {arch}"


def test_no_register_spills(cubins):
    spilled = [(arch, k, u) for (arch, k), u in resource_usage(cubins).items()
               if (u["STACK"] or u["LOCAL"]) and not any(p in k for p in SPILL_ALLOWED)]
    assert not spilled, "kernels spilling registers to local memory:\n" + "\n".join(map(str, spilled))


def test_static_shared_memory_fits(cubins):
    for (arch, kernel), u in resource_usage(cubins).items():
        shared = u["SHARED"]
        assert shared <= SHARED_LIMIT[arch], f"{kernel} on {arch}: {shared} bytes of shared memory"


def test_reported_kernels_are_in_the_binary(cubins):
    kernels = {k for (_, k) in resource_usage(cubins)}
    for family, names in _cuda.families.items():
        for name in names:
            found = any(re.search(rf"\b{re.escape(name)}\b", k) for k in kernels)
            assert found, f"{family}: {name} not compiled"


@pytest.mark.parametrize("pattern", sorted(TENSOR_CORE_KERNELS))
def test_tensor_core_instructions_in_sass(cubins, pattern):
    """For each architecture the pattern names ("*": every one of ARCHS), at least one kernel
    matches the name (a renamed kernel fails here instead of passing with nothing checked) and
    every matching kernel contains the opcode."""
    sass = sass_by_arch(cubins)
    for arch_key, opcode in TENSOR_CORE_KERNELS[pattern].items():
        for arch in ARCHS if arch_key == "*" else (arch_key,):
            assert arch in sass, f"no {arch} cubin in _cuda (compiled: {sorted(sass)})"
            matching = {k: body for k, body in sass[arch].items() if re.search(pattern, k)}
            assert matching, f"no kernel matching {pattern!r} on {arch}: renamed or no longer compiled?"
            for kernel, body in matching.items():
                assert re.search(opcode, body), f"{kernel} ({arch}) has no {opcode} instruction"
