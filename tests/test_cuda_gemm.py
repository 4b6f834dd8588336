"""The GEMM family on the GPU (cuda/gemm.cu, cuda/gemm_lowp.cu) against the CPU core.

Without a GPU (CI): the CUDA bindings' argument checks on fake device arrays, with the CPU
binding's messages, and the Python dispatch of gemm / gemm_bf16 / gemm_int8 / linear_int8 /
gemm_fp8. With a GPU (``needs_gpu``): every kernel path against the CPU core and a float64
oracle, over random shapes (sizes 0 and 1 included), transposes, strided views, batches with
broadcast, alpha/beta, NaN; against PyTorch CUDA where it is importable.

Tolerances come from the reference's own error: the float64 product of the same (rounded)
inputs is the truth, and the GPU may be off by at most twice what a float32 product of those
inputs is off (plus a few ulps of the magnitude sum |A| @ |B|, so that an exact float32 result
does not demand an exact GPU one).
"""

import numpy as np
import pytest
from cuda_support import DEVICES, FakeDeviceArray, _cuda, needs_build, needs_gpu
from grimoire.kernels import gemm
from grimoire.kernels.quant import (
    from_bf16,
    from_fp8,
    gemm_bf16,
    gemm_fp8,
    gemm_int8,
    linear_int8,
    to_bf16,
    to_fp8,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:
    import cupy as cp
except ImportError:  # the cuda extra is not installed: only the no-GPU half runs
    cp = None

EPS32 = np.finfo(np.float32).eps


def assert_product_close(got, a64, b64, extra=None):
    """|got - A@B| <= 2 max|float32(A)@float32(B) - A@B| + 8 eps32 (|A|@|B|) (+ extra)."""
    truth = np.matmul(a64, b64)
    f32 = np.matmul(a64.astype(np.float32), b64.astype(np.float32)).astype(np.float64)
    scale = np.matmul(np.abs(a64), np.abs(b64))
    bound = 2 * np.max(np.abs(f32 - truth), initial=0.0) + 8 * EPS32 * scale
    if extra is not None:
        bound = bound + extra
    err = np.abs(np.asarray(got, np.float64) - truth)
    assert np.all(err <= bound), f"max error {err.max()} vs bound {bound[np.argmax(err - bound)]}"


# ---------------------------------------------------------------------------------------------
# Without a GPU: argument checks and dispatch
# ---------------------------------------------------------------------------------------------

@needs_build
@pytest.mark.parametrize("dtype", ["uint16", "float16"])
def test_gemm_accepts_16_bit_operands_as_far_as_the_device(dtype):
    a, b = FakeDeviceArray((8, 16), dtype), FakeDeviceArray((16, 8), dtype, ptr=1 << 33)
    if DEVICES:
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        _cuda.gemm(a, b)


@needs_build
def test_gemm_refuses_mixed_and_unsupported_dtypes():
    with pytest.raises(TypeError, match="float32, both bfloat16 .* got uint16 and float16"):
        _cuda.gemm(FakeDeviceArray((4, 4), "uint16"), FakeDeviceArray((4, 4), "float16"))
    with pytest.raises(TypeError, match="got float64 and float64"):
        _cuda.gemm(FakeDeviceArray((4, 4), "float64"), FakeDeviceArray((4, 4), "float64"))
    with pytest.raises(TypeError, match="c must have dtype float32, got uint16"):
        _cuda.gemm(FakeDeviceArray((4, 4), "uint16"), FakeDeviceArray((4, 4), "uint16", ptr=1 << 33),
                   FakeDeviceArray((4, 4), "uint16", ptr=1 << 34))


@needs_build
@pytest.mark.parametrize(
    ("a", "b", "trans_b", "match"),
    [((3, 4), (5, 6), False, "inner dimensions differ"),
     ((3, 4), (6, 5), True, "inner dimensions differ"),
     ((3, 4, 1), (4, 5), False, "must have 2 dimensions")],
)
def test_gemm_int8_checks_like_the_cpu_core(a, b, trans_b, match):
    from grimoire import _core

    with pytest.raises(ValueError, match=match) as cpu_err:
        _core.gemm_int8(np.ones(a, np.int8), np.ones(b, np.int8), trans_b)
    with pytest.raises(ValueError, match=match) as gpu_err:
        _cuda.gemm_int8(FakeDeviceArray(a, "int8"), FakeDeviceArray(b, "int8", ptr=1 << 33), trans_b)
    assert str(cpu_err.value) == str(gpu_err.value)


@needs_build
def test_lowp_bindings_check_like_the_cpu_core():
    from grimoire import _core

    cases = [
        (lambda m, mk: m.gemm_fp8(mk((3, 4), "uint8"), mk((5, 6), "uint8"), 1.0, 1.0, "e4m3", "e4m3"),
         ValueError, "inner dimensions differ"),
        (lambda m, mk: m.gemm_fp8(mk((3, 4), "uint8"), mk((4, 6), "uint8"), 1.0, 1.0, "e4m3", "e3m4"),
         ValueError, "fmt_b must be 'e4m3' or 'e5m2'"),
        (lambda m, mk: m.gemm_bf16(mk((3, 4), "uint16"), mk((5, 6), "uint16")), ValueError,
         "inner dimensions differ"),
        (lambda m, mk: m.gemm_bf16(mk((3, 4), "float32"), mk((4, 6), "uint16")), TypeError,
         "a must have dtype uint16, got float32"),
        (lambda m, mk: m.linear_int8(mk((3, 4), "float32"), mk((5, 3), "int8"), mk((5,), "float32"), None),
         ValueError, r"w_q must be \(out_features, in_features\)"),
        (lambda m, mk: m.linear_int8(mk((3, 4), "float32"), mk((5, 4), "int8"), mk((4,), "float32"), None),
         ValueError, "w_scale must have the shape of w_q's rows"),
    ]
    ptr = iter(range(1 << 32, 1 << 40, 1 << 32))
    for call, error, match in cases:
        with pytest.raises(error, match=match) as cpu_err:
            call(_core, lambda shape, dtype: np.ones(shape, dtype))
        with pytest.raises(error, match=match) as gpu_err:
            call(_cuda, lambda shape, dtype: FakeDeviceArray(shape, dtype, ptr=next(ptr)))
        assert str(cpu_err.value) == str(gpu_err.value)


@needs_build
@pytest.mark.parametrize("fn", [
    lambda d: gemm_int8(d((4, 4), "int8"), d((4, 4), "int8")),
    lambda d: linear_int8(d((4, 4), "float32"), d((4, 4), "int8"), d((4,), "float32")),
    lambda d: gemm_fp8(d((4, 4), "uint8"), d((4, 4), "uint8")),
    lambda d: gemm_bf16(d((4, 4), "uint16"), d((4, 4), "uint16")),
])
def test_lowp_gemms_dispatch_to_the_gpu(fn):
    if DEVICES:
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        fn(lambda shape, dtype: FakeDeviceArray(shape, dtype))
    with pytest.raises(ValueError, match="is on cuda but .* is on cpu|is on cpu but .* is on cuda"):
        gemm_int8(FakeDeviceArray((4, 4), "int8"), np.ones((4, 4), np.int8))


# ---------------------------------------------------------------------------------------------
# On a GPU
# ---------------------------------------------------------------------------------------------

def _device_view(host, transposed, step):
    """A CuPy view of `host`'s values with the requested layout (transposed storage, a step)."""
    if transposed:
        dev = cp.asarray(np.ascontiguousarray(np.swapaxes(host, -1, -2)))
        dev = cp.swapaxes(dev, -1, -2)
    else:
        dev = cp.asarray(host)
    if step > 1:  # the same values at every step-th column of a wider array
        wide = cp.zeros(host.shape[:-1] + (host.shape[-1] * step,), host.dtype)
        wide[..., ::step] = dev
        dev = wide[..., ::step]
    return dev


shapes = st.tuples(st.integers(0, 70), st.integers(0, 70), st.integers(0, 70))


@needs_gpu
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, ta=st.booleans(), tb=st.booleans(), step=st.sampled_from([1, 1, 2]),
       batch=st.sampled_from([None, 1, 3]), broadcast_b=st.booleans(), alpha=st.sampled_from([1.0, -0.5]),
       beta=st.sampled_from([0.0, 2.0]), seed=st.integers(0, 2**31))
def test_sgemm_matches_the_cpu_core(shape, ta, tb, step, batch, broadcast_b, alpha, beta, seed):
    m, n, k = shape
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    a = rng.standard_normal(lead + ((k, m) if ta else (m, k))).astype(np.float32)
    b_lead = () if (batch is None or broadcast_b) else lead
    b = rng.standard_normal(b_lead + ((n, k) if tb else (k, n))).astype(np.float32)
    c0 = rng.standard_normal(lead + (m, n)).astype(np.float32)
    want = gemm(a, b, c0.copy(), alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
    c = cp.asarray(c0)
    got = gemm(_device_view(a, False, step), _device_view(b, True, 1), c, alpha=alpha, beta=beta,
               trans_a=ta, trans_b=tb)
    assert got is c
    a64 = np.swapaxes(a, -1, -2) if ta else a
    b64 = np.swapaxes(b, -1, -2) if tb else b
    truth = alpha * np.matmul(a64.astype(np.float64), b64.astype(np.float64)) + beta * c0
    scale = abs(alpha) * np.matmul(np.abs(a64), np.abs(b64)) + abs(beta * c0)
    err_cpu = np.abs(want - truth)
    bound = 2 * np.max(err_cpu, initial=0.0) + 8 * EPS32 * (k + 1) * scale
    assert np.all(np.abs(cp.asnumpy(got) - truth) <= bound)


@needs_gpu
def test_beta_zero_never_reads_c():
    a = cp.ones((33, 17), cp.float32)
    b = cp.ones((17, 9), cp.float32)
    c = cp.full((33, 9), cp.nan, cp.float32)
    np.testing.assert_array_equal(cp.asnumpy(gemm(a, b, c, beta=0.0)), np.full((33, 9), 17.0, np.float32))
    c16 = cp.full((33, 9), cp.nan, cp.float32)
    a16 = cp.asarray(to_bf16(np.ones((33, 16), np.float32)))
    b16 = cp.asarray(to_bf16(np.ones((16, 9), np.float32)))
    np.testing.assert_array_equal(cp.asnumpy(gemm(a16, b16, c16)), np.full((33, 9), 16.0, np.float32))


def _half_inputs(rng, shape, kind):
    x = rng.standard_normal(shape).astype(np.float32)
    if kind == "bf16":
        codes = to_bf16(x)
        return codes, from_bf16(codes).astype(np.float64)
    h = x.astype(np.float16)
    return h, h.astype(np.float64)


@needs_gpu
@pytest.mark.parametrize("kind", ["bf16", "fp16"])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("mnk", [(128, 128, 64), (200, 136, 72), (1, 8, 8), (64, 64, 1000), (37, 41, 19)])
def test_half_gemm_on_every_path(kind, ta, tb, mnk):
    m, n, k = mnk
    rng = np.random.default_rng(m * 7 + n * 3 + k)
    a, a64 = _half_inputs(rng, (k, m) if ta else (m, k), kind)
    b, b64 = _half_inputs(rng, (n, k) if tb else (k, n), kind)
    da, db = cp.asarray(a), cp.asarray(b)
    path = _cuda.gemm_path(da, db, ta, tb)
    aligned = (m if ta else k) % 8 == 0 and (k if tb else n) % 8 == 0
    assert (path != "simt") == aligned, path
    got = gemm(da, db, trans_a=ta, trans_b=tb)
    assert got.dtype == cp.float32
    assert_product_close(cp.asnumpy(got), a64.T if ta else a64, b64.T if tb else b64)


@needs_gpu
@settings(max_examples=25, deadline=None)
@given(shape=shapes, batch=st.sampled_from([1, 2, 5]), broadcast_a=st.booleans(), seed=st.integers(0, 2**31))
def test_half_gemm_batched_with_broadcast(shape, batch, broadcast_a, seed):
    m, n, k = shape
    rng = np.random.default_rng(seed)
    a, a64 = _half_inputs(rng, (m, k) if broadcast_a else (batch, m, k), "bf16")
    b, b64 = _half_inputs(rng, (batch, k, n), "bf16")
    got = cp.asnumpy(gemm(cp.asarray(a), cp.asarray(b)))
    assert got.shape == (batch, m, n)
    assert_product_close(got, np.broadcast_to(a64, (batch, m, k)), b64)


@needs_gpu
def test_half_gemm_propagates_nan_and_inf():
    a = np.ones((64, 32), np.float32)
    a[3, 5] = np.nan
    a[7, 1] = np.inf
    b = np.ones((32, 16), np.float32)
    got = cp.asnumpy(gemm(cp.asarray(to_bf16(a)), cp.asarray(to_bf16(b))))
    assert np.isnan(got[3]).all() and np.isposinf(got[7]).all()
    assert np.isfinite(np.delete(got, [3, 7], axis=0)).all()


@needs_gpu
def test_gemm_bf16_matches_the_cpu_core_and_torch():
    rng = np.random.default_rng(0)
    a, a64 = _half_inputs(rng, (96, 80), "bf16")
    b, b64 = _half_inputs(rng, (80, 72), "bf16")
    got = cp.asnumpy(gemm_bf16(cp.asarray(a), cp.asarray(b)))
    assert_product_close(got, a64, b64)
    assert_product_close(gemm_bf16(a, b), a64, b64)  # the CPU core within the same bound
    import torch

    if torch.cuda.is_available():
        ta = torch.from_numpy(a.view(np.int16)).cuda().view(torch.bfloat16)
        tb = torch.from_numpy(b.view(np.int16)).cuda().view(torch.bfloat16)
        ref = torch.matmul(ta.float(), tb.float()).cpu().numpy()
        assert_product_close(ref, a64, b64)
        # zero-copy: torch CUDA tensors (float32) go straight in
        tf, tg = torch.randn(40, 24, device="cuda"), torch.randn(24, 8, device="cuda")
        out = gemm(tf, tg)
        np.testing.assert_allclose(cp.asnumpy(out), (tf @ tg).cpu().numpy(), rtol=1e-5, atol=1e-5)


@needs_gpu
@settings(max_examples=30, deadline=None)
@given(shape=shapes, trans_b=st.booleans(), strided=st.booleans(), seed=st.integers(0, 2**31))
def test_gemm_int8_is_exact(shape, trans_b, strided, seed):
    m, n, k = shape
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (n, k) if trans_b else (k, n), dtype=np.int8)
    want = gemm_int8(a, b, trans_b=trans_b)
    np.testing.assert_array_equal(want, a.astype(np.int32) @ (b.T if trans_b else b).astype(np.int32))
    da = _device_view(a, False, 2 if strided else 1)
    got = gemm_int8(da, cp.asarray(b), trans_b=trans_b)
    assert got.dtype == cp.int32
    np.testing.assert_array_equal(cp.asnumpy(got), want)


@needs_gpu
def test_gemm_int8_wraps_like_the_cpu_core():
    k = 1 << 17  # 128 * 128 * 2^17 = 2^31: one past int32
    a = cp.full((16, k), -128, cp.int8)
    b = cp.full((k, 16), -128, cp.int8)
    want = gemm_int8(cp.asnumpy(a), cp.asnumpy(b))
    np.testing.assert_array_equal(cp.asnumpy(gemm_int8(a, b)), want)


@needs_gpu
@pytest.mark.parametrize(("m", "n", "k", "bias"), [(33, 50, 70, True), (128, 256, 64, False), (1, 1, 1, True),
                                                    (5, 0, 3, True), (4, 8, 0, True)])
def test_linear_int8_is_bitwise_the_cpu_core(m, n, k, bias):
    rng = np.random.default_rng(m + n + k)
    x = rng.standard_normal((m, k)).astype(np.float32)
    if m > 1:
        x[1] = 0.0  # an all-zero row gets scale 1
    w = rng.integers(-127, 128, (n, k), dtype=np.int8)
    ws = rng.uniform(0.001, 0.1, n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32) if bias else None
    want = linear_int8(x, w, ws, b)
    got = linear_int8(cp.asarray(x), cp.asarray(w), cp.asarray(ws), None if b is None else cp.asarray(b))
    np.testing.assert_array_equal(cp.asnumpy(got), want)


@needs_gpu
def test_linear_int8_refuses_non_finite_x():
    x = cp.ones((4, 8), cp.float32)
    x[2, 3] = cp.inf
    with pytest.raises(ValueError, match="x must be finite"):
        linear_int8(x, cp.ones((3, 8), cp.int8), cp.ones(3, cp.float32))


@needs_gpu
@pytest.mark.parametrize("fmt_a", ["e4m3", "e5m2"])
@pytest.mark.parametrize("fmt_b", ["e4m3", "e5m2"])
@pytest.mark.parametrize("mnk", [(128, 128, 128), (70, 33, 45), (1, 1, 1), (256, 64, 512)])
def test_gemm_fp8_matches_the_decoded_product(fmt_a, fmt_b, mnk):
    m, n, k = mnk
    rng = np.random.default_rng(m + 2 * n + 3 * k)
    a8 = to_fp8(rng.standard_normal((m, k)).astype(np.float32) * 4, fmt_a)
    b8 = to_fp8(rng.standard_normal((k, n)).astype(np.float32), fmt_b)
    a8[0, 0] = 0x01  # a subnormal code (in both formats)
    sa, sb = 0.5, 3.0
    got = cp.asnumpy(gemm_fp8(cp.asarray(a8), cp.asarray(b8), sa, sb, fmt_a, fmt_b))
    a64 = from_fp8(a8, fmt_a).astype(np.float64) * np.float32(sa * sb)
    b64 = from_fp8(b8, fmt_b).astype(np.float64)
    assert_product_close(got, a64, b64)
    assert_product_close(gemm_fp8(a8, b8, sa, sb, fmt_a, fmt_b), a64, b64)


@needs_gpu
def test_gemm_fp8_nan_codes_propagate():
    a8 = np.zeros((16, 32), np.uint8)
    a8[2, 4] = 0x7F  # E4M3 NaN
    b8 = np.full((32, 16), 0x38, np.uint8)  # 1.0 in E4M3
    got = cp.asnumpy(gemm_fp8(cp.asarray(a8), cp.asarray(b8)))
    assert np.isnan(got[2]).all() and (np.delete(got, 2, axis=0) == 0).all()


def test_bench_gpu_says_why_it_cannot_run(capsys):
    from grimoire import bench
    from grimoire.bench import gpu

    assert "gemm" in gpu.gpu_families()
    assert not any(f.startswith("gpu_") for f in bench.families())  # run through `bench gpu` only
    if gpu.unavailable() is None:
        pytest.skip("this machine can run the GPU benchmarks")
    gpu.main([])
    out = capsys.readouterr().out.strip()
    assert out.startswith("grimoire bench gpu: skipped (") and "\n" not in out
