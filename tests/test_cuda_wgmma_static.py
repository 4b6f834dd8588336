"""Static checks of the Hopper wgmma GEMM kernel (cuda/gemm_wgmma.cuh), run without a GPU.

The kernel was written on a machine with no GPU, so these checks and the opt-in dispatch are
all that is verified until tests/test_cuda_wgmma.py runs on an H100/H200. From the fatbinary of
grimoire._cuda (cuobjdump, found as tests/test_cuda_static.py finds it):
- the sm_90a SASS of both variants (bf16, fp16) has the warp-group MMA (HGMMA 64x256x16 with
  float32 accumulators) and the ordering instructions the design relies on: WARPGROUP.ARRIVE
  (wgmma.fence), WARPGROUP.DEPBAR (wgmma.wait_group) and FENCE.VIEW.ASYNC.S
  (fence.proxy.async between the cp.async writes and the async-proxy reads);
- the sm_80 build of the kernel is empty (no HGMMA: the instruction does not exist there and the
  host never launches it);
- no register spills, no static shared memory of its own (sm_90 reports the 1 KiB reserved per
  block). Its 193 KiB of dynamic shared memory is a constexpr that gemm_wgmma.cuh
  static_asserts within sm_90's 227 KiB opt-in limit (dynamic sizes are invisible to cuobjdump).
"""

from __future__ import annotations

import re

import pytest
from cuda_support import needs_build
from test_cuda_static import _cubins, _demangle, _run, _tool, resource_usage

pytestmark = needs_build

KERNEL = r"grimoire::cuda::wgmma::wgmma_gemm_kernel<(true|false)\b"
# wgmma_gemm_kernel<kF16, Out>: false = bf16 operands, true = fp16.
RESERVED_SHARED = {"sm_80": 0, "sm_90a": 1024}
HGMMA = {"false": r"\bHGMMA\.64x256x16\.F32\.BF16\b", "true": r"\bHGMMA\.64x256x16\.F32(?!\.BF16)\b"}


@pytest.fixture(scope="module")
def cubins(tmp_path_factory):
    return _cubins(str(tmp_path_factory.mktemp("cubins")))


def _kernels(path: str) -> dict[str, str]:
    """{demangled name: SASS body} of the wgmma kernels in one cubin."""
    sass = _run(_tool("cuobjdump"), "-sass", path)
    functions = re.split(r"\n\s*Function : ", sass)[1:]
    names = _demangle([f.split("\n", 1)[0].strip() for f in functions])
    return {name: body for name, body in zip(names, functions, strict=True) if re.search(KERNEL, name)}


def _arch_cubin(cubins: dict[str, str], arch: str) -> list[str]:
    return [path for name, path in cubins.items() if name.endswith(f".{arch}.cubin")]


def test_sm90a_sass_runs_on_warp_group_mma(cubins):
    kernels = {k: v for path in _arch_cubin(cubins, "sm_90a") for k, v in _kernels(path).items()}
    variants = {re.search(KERNEL, k).group(1) for k in kernels}
    assert variants == {"true", "false"}, f"wgmma kernels in the sm_90a cubin: {sorted(kernels)}"
    for name, body in kernels.items():
        variant = re.search(KERNEL, name).group(1)
        # One k-slice of 64 = four k16 steps, each one HGMMA; the last closes the group (gsb0).
        assert len(re.findall(HGMMA[variant], body)) >= 4, f"{name}: no {HGMMA[variant]}"
        assert not re.search(r"\bHMMA\b", body), f"{name} fell back to mma.sync"
        for op in (r"WARPGROUP\.ARRIVE", r"WARPGROUP\.DEPBAR\.LE gsb0, 0x1", r"FENCE\.VIEW\.ASYNC\.S",
                   r"LDGSTS\.E\.BYPASS\.128"):
            assert re.search(op, body), f"{name}: no {op}"


def test_the_kernel_is_empty_where_wgmma_does_not_exist(cubins):
    kernels = {k: v for path in _arch_cubin(cubins, "sm_80") for k, v in _kernels(path).items()}
    assert len(kernels) == 2, sorted(kernels)
    for name, body in kernels.items():
        assert not re.search(r"GMMA|LDGSTS", body), f"{name} has a body on sm_80"


def test_no_spills_and_no_static_shared_memory(cubins):
    usage = {(arch, k): u for (arch, k), u in resource_usage(cubins).items() if re.search(KERNEL, k)}
    assert {arch for arch, _ in usage} >= {"sm_80", "sm_90a"}
    for (arch, kernel), u in usage.items():
        assert u.get("STACK", 0) == 0 and u.get("LOCAL", 0) == 0, f"{kernel} on {arch} spills: {u}"
        # sm_90 counts the 1 KiB the system reserves in every block (tc_gemm_kernel shows the
        # same); the kernel itself declares none.
        assert u.get("SHARED", 0) == RESERVED_SHARED[arch], f"{kernel} on {arch}: static shared memory {u}"
        if arch == "sm_90a":
            # 128 accumulators per thread; at most 255 registers with 256 threads (one block/SM).
            assert 128 < u["REG"] <= 255, f"{kernel}: {u['REG']} registers"
