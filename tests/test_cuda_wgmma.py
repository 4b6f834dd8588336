"""The opt-in Hopper wgmma GEMM path (cuda/gemm_wgmma.cuh) against the CPU core.

gemm on 16-bit CUDA arrays takes the wgmma kernel only when GRIMOIRE_CUDA_WGMMA=1, the device is
sm_90 and both operands are K-major (a row-major (m, k), b row-major (n, k) with trans_b=True,
the 16-byte rule of the tensor-core path). Without a GPU: that rule through
``_cuda.gemm_path`` on fake device arrays. On an H100/H200 (``needs_gpu`` and sm_90): the kernel
over shapes that are not multiples of its 128 x 256 x 64 tiles, alpha/beta, batches with
broadcast, padded leading dimensions, k = 0 and NaN, within the bound of tests/test_cuda_gemm.py
(twice the float32 product's own error against float64, plus 8 ulps of |A| @ |B|), as the CPU
core's product of the same values is.
"""

import numpy as np
import pytest
from cuda_support import DEVICES, FakeDeviceArray, _cuda, needs_build, needs_gpu
from grimoire.kernels import gemm
from grimoire.kernels.quant import to_bf16
from test_cuda_gemm import _half_inputs, assert_product_close, cp

ENV = "GRIMOIRE_CUDA_WGMMA"
SM90 = bool(DEVICES) and cp is not None and cp.cuda.Device().compute_capability == "90"
needs_sm90 = pytest.mark.skipif(not SM90, reason="the wgmma kernel exists only for sm_90 (H100/H200) devices")


@pytest.fixture
def wgmma_on(monkeypatch):
    monkeypatch.setenv(ENV, "1")


# ---------------------------------------------------------------------------------------------
# Without a GPU: the eligibility rule
# ---------------------------------------------------------------------------------------------

@needs_build
@pytest.mark.parametrize("flag", [None, "0", "true", "1"])
@pytest.mark.parametrize("dtype", ["uint16", "float16"])
def test_wgmma_needs_the_opt_in_and_an_sm90_device(monkeypatch, flag, dtype):
    if flag is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, flag)
    a = FakeDeviceArray((200, 72), dtype)                 # (m, k) row-major: K-major
    b_nk = FakeDeviceArray((136, 72), dtype, ptr=1 << 33)  # (n, k) row-major, trans_b: K-major
    b_kn = FakeDeviceArray((72, 136), dtype, ptr=1 << 33)  # (k, n) row-major: N-major
    want = "wgmma" if flag == "1" and SM90 else "tc_k_k"
    assert _cuda.gemm_path(a, b_nk, False, True) == want
    # Any other layout keeps the mma.sync kernel, opted in or not.
    assert _cuda.gemm_path(a, b_kn, False, False) == "tc_k_mn"
    assert _cuda.gemm_path(FakeDeviceArray((72, 200), dtype), b_nk, True, True) == "tc_mn_k"
    # k not a multiple of 8 (the 16-byte rule): SIMT.
    a_odd = FakeDeviceArray((200, 70), dtype)
    assert _cuda.gemm_path(a_odd, FakeDeviceArray((136, 70), dtype, ptr=1 << 33), False, True) == "simt"


@needs_build
def test_float32_never_takes_wgmma(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    a, b = FakeDeviceArray((256, 64)), FakeDeviceArray((256, 64), ptr=1 << 33)
    assert _cuda.gemm_path(a, b, False, True) == "simt"


# ---------------------------------------------------------------------------------------------
# On an sm_90 GPU: against the CPU core
# ---------------------------------------------------------------------------------------------

# Not multiples of the 128 x 256 tile (and one that is), k from one k16 step to many slices.
SHAPES = [(1, 1, 8), (1, 300, 64), (127, 255, 8), (128, 256, 64), (129, 257, 72), (200, 520, 1000),
          (383, 130, 136), (64, 8, 4104), (517, 771, 200)]


@needs_gpu
@needs_sm90
@pytest.mark.parametrize("kind", ["bf16", "fp16"])
@pytest.mark.parametrize("mnk", SHAPES)
def test_wgmma_matches_the_cpu_core(wgmma_on, kind, mnk):
    m, n, k = mnk
    rng = np.random.default_rng(m * 31 + n * 7 + k)
    a, a64 = _half_inputs(rng, (m, k), kind)
    b, b64 = _half_inputs(rng, (n, k), kind)
    da, db = cp.asarray(a), cp.asarray(b)
    assert _cuda.gemm_path(da, db, False, True) == "wgmma"
    got = gemm(da, db, trans_b=True)
    assert got.dtype == cp.float32 and got.shape == (m, n)
    assert_product_close(cp.asnumpy(got), a64, b64.T)
    # The CPU core's product of the same (exactly decoded) values meets the same bound.
    cpu = gemm(a64.astype(np.float32), b64.astype(np.float32), trans_b=True)
    assert_product_close(cpu, a64, b64.T)


@needs_gpu
@needs_sm90
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (-0.5, 2.0), (0.0, 1.0)])
def test_wgmma_alpha_beta(wgmma_on, alpha, beta):
    m, n, k = 150, 300, 96
    rng = np.random.default_rng(1)
    a, a64 = _half_inputs(rng, (m, k), "bf16")
    b, b64 = _half_inputs(rng, (n, k), "bf16")
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    c = cp.asarray(c0)
    assert _cuda.gemm_path(cp.asarray(a), cp.asarray(b), False, True) == "wgmma"
    got = gemm(cp.asarray(a), cp.asarray(b), c, alpha=alpha, beta=beta, trans_b=True)
    assert got is c
    a32, b32 = a64.astype(np.float32), b64.astype(np.float32)
    cpu = gemm(a32, b32, c0.copy(), alpha=alpha, beta=beta, trans_b=True)
    truth = alpha * (a64 @ b64.T) + beta * c0.astype(np.float64)
    scale = abs(alpha) * (np.abs(a64) @ np.abs(b64.T)) + abs(beta * c0)
    bound = 2 * np.max(np.abs(cpu - truth), initial=0.0) + 8 * np.finfo(np.float32).eps * (k + 1) * scale
    assert np.all(np.abs(cp.asnumpy(got) - truth) <= bound)


@needs_gpu
@needs_sm90
@pytest.mark.parametrize("broadcast_b", [False, True])
def test_wgmma_batched_and_padded_rows(wgmma_on, broadcast_b):
    batch, m, n, k = 3, 130, 260, 136
    rng = np.random.default_rng(2)
    a, a64 = _half_inputs(rng, (batch, m, k), "bf16")
    b, b64 = _half_inputs(rng, (n, k) if broadcast_b else (batch, n, k), "bf16")
    # a with a leading dimension of k + 8 (a view of a wider array): still K-major.
    wide = cp.zeros((batch, m, k + 8), cp.uint16)
    wide[:, :, :k] = cp.asarray(a)
    da, db = wide[:, :, :k], cp.asarray(b)
    assert _cuda.gemm_path(da, db, False, True) == "wgmma"
    got = cp.asnumpy(gemm(da, db, trans_b=True))
    assert got.shape == (batch, m, n)
    assert_product_close(got, a64, np.swapaxes(np.broadcast_to(b64, (batch, n, k)), -1, -2))


@needs_gpu
@needs_sm90
def test_wgmma_k_zero_scales_c(wgmma_on):
    a = cp.zeros((70, 0), cp.uint16)
    b = cp.zeros((90, 0), cp.uint16)
    c0 = np.arange(70 * 90, dtype=np.float32).reshape(70, 90)
    got = gemm(a, b, cp.asarray(c0), alpha=3.0, beta=2.0, trans_b=True)
    np.testing.assert_array_equal(cp.asnumpy(got), 2 * c0)


@needs_gpu
@needs_sm90
def test_wgmma_propagates_nan_and_inf(wgmma_on):
    a = np.ones((200, 64), np.float32)
    a[3, 5] = np.nan
    a[150, 1] = np.inf
    b = np.ones((300, 64), np.float32)
    da, db = cp.asarray(to_bf16(a)), cp.asarray(to_bf16(b))
    assert _cuda.gemm_path(da, db, False, True) == "wgmma"
    got = cp.asnumpy(gemm(da, db, trans_b=True))
    assert np.isnan(got[3]).all() and np.isposinf(got[150]).all()
    rest = np.delete(got, [3, 150], axis=0)
    np.testing.assert_array_equal(rest, np.full_like(rest, 64.0))
