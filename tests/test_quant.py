"""Quantisation and low-precision formats (grimoire.kernels.quant) against ml_dtypes, PyTorch and NumPy."""

import warnings

import ml_dtypes
import numpy as np
import pytest
import torch
from conftest import available_isas
from grimoire import _core
from grimoire.kernels import (
    conv2d_int8,
    dequantize_int8,
    from_bf16,
    from_fp8,
    gemm_bf16,
    gemm_fp8,
    gemm_int8,
    linear_bf16,
    linear_bf16_packed,
    linear_int8,
    linear_int8_packed,
    pack_bf16_weight,
    pack_int8_weight,
    quantize_int8,
    to_bf16,
    to_fp8,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ML = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}
FP8_MAX_CODE = {"e4m3": 0x7E, "e5m2": 0x7B}

# torch's quantized-tensor constructors warn that they are deprecated; the semantics are what we
# compare with, so the warning is expected here.
torch_quant_warning = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
torch_ao_warning = pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated:DeprecationWarning")


def ml_cast(x: np.ndarray, dtype) -> np.ndarray:
    """x.astype(ml_dtypes type) as raw bits (the cast of NaN warns in NumPy: expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = x.astype(dtype)
    return out.view(np.uint16 if dtype is ml_dtypes.bfloat16 else np.uint8)


def fp8_saturating_oracle(x: np.ndarray, fmt: str) -> np.ndarray:
    """The saturate=True rule built from ml_dtypes: equal inside the range; a finite overflow
    becomes +-max; +-inf becomes +-448 in E4M3 and stays +-inf in E5M2."""
    ml = ml_cast(x, ML[fmt])
    sign = (np.signbit(x).astype(np.uint8) << 7).astype(np.uint8)
    overflow_code = 0x7F if fmt == "e4m3" else 0x7C  # what ml_dtypes gives on overflow
    finite_overflow = np.isfinite(x) & ((ml & 0x7F) == overflow_code)
    out = np.where(finite_overflow, sign | FP8_MAX_CODE[fmt], ml)
    if fmt == "e4m3":
        out = np.where(np.isinf(x), sign | 0x7E, out)
    return out.astype(np.uint8)


def random_bits(rng, n: int) -> np.ndarray:
    return rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)


def fp8_sweep(fmt: str) -> np.ndarray:
    """Every representable value of the format, every midpoint between neighbours, each +-4 ulps
    of float32 around them, the overflow thresholds, both signs: where rounding can go wrong."""
    codes = np.arange(0x80, dtype=np.uint8).view(ML[fmt]).astype(np.float32)
    values = np.sort(codes[np.isfinite(codes)])
    top = values[-1]
    step = values[-1] - values[-2]
    mids = (values[:-1] + values[1:]) / np.float32(2)
    extra = np.array([top + step / 2, top + step, 2 * top, 1e30, np.finfo(np.float32).max,
                      np.finfo(np.float32).tiny, values[1] / 2, values[1] / 4], dtype=np.float32)
    centres = np.concatenate([values, mids, extra]).view(np.int32)
    bits = (centres[:, None] + np.arange(-4, 5, dtype=np.int32)[None, :]).ravel()
    bits = bits[(bits >= 0)].astype(np.uint32)
    pos = bits.view(np.float32)
    specials = np.array([np.inf, np.nan, 0.0], dtype=np.float32)
    both = np.concatenate([pos, specials])
    return np.concatenate([both, -both])


# ---- FP8 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_random_bit_patterns_match_ml_dtypes(isa, fmt, rng):
    x = random_bits(rng, 100_003)
    np.testing.assert_array_equal(to_fp8(x, fmt, saturate=False), ml_cast(x, ML[fmt]))
    np.testing.assert_array_equal(to_fp8(x, fmt), fp8_saturating_oracle(x, fmt))


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_dense_sweep_around_every_value_and_boundary(isa, fmt):
    x = fp8_sweep(fmt)
    np.testing.assert_array_equal(to_fp8(x, fmt, saturate=False), ml_cast(x, ML[fmt]))
    np.testing.assert_array_equal(to_fp8(x, fmt, saturate=True), fp8_saturating_oracle(x, fmt))


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_float32_through_the_subnormal_range(isa, fmt):
    # the 150,001 float32 just below twice the smallest subnormal of the format (the ties at
    # the smallest subnormal and 1.5x it among them), and a stride through the whole subnormal
    # range (all of it, ~10^9 values, is in tests/exhaustive_quant.py)
    smallest = np.float32(2.0**-9 if fmt == "e4m3" else 2.0**-16)
    hi = int((2 * smallest).view(np.uint32))
    low_end = np.arange(hi - 150_000, hi + 1, dtype=np.uint32).view(np.float32)
    top = int(np.float32(2.0**-6 if fmt == "e4m3" else 2.0**-14).view(np.uint32))
    strided = np.arange(0, top + 1000, 1999, dtype=np.uint32).view(np.float32)
    x = np.concatenate([low_end, strided, -low_end, -strided])
    np.testing.assert_array_equal(to_fp8(x, fmt, saturate=False), ml_cast(x, ML[fmt]))
    np.testing.assert_array_equal(to_fp8(x, fmt), ml_cast(x, ML[fmt]))


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_special_values(fmt):
    inf, nan = np.float32(np.inf), np.float32(np.nan)
    x = np.array([inf, -inf, nan, -nan, 0.0, -0.0, 1e30, -1e30], dtype=np.float32)
    sat, nosat = to_fp8(x, fmt), to_fp8(x, fmt, saturate=False)
    if fmt == "e4m3":
        assert list(sat[:2]) == [0x7E, 0xFE]  # +-448: E4M3 has no infinity
        assert list(nosat[:2]) == [0x7F, 0xFF]
        assert list(sat[6:]) == [0x7E, 0xFE]
        assert list(nosat[6:]) == [0x7F, 0xFF]
        assert list(from_fp8(sat[6:], fmt)) == [448.0, -448.0]
    else:
        assert list(sat[:2]) == [0x7C, 0xFC]  # infinities stay infinite in E5M2
        assert list(sat[6:]) == [0x7B, 0xFB]  # but a finite overflow saturates to 57344
        assert list(nosat[6:]) == [0x7C, 0xFC]
        assert list(from_fp8(sat[6:], fmt)) == [57344.0, -57344.0]
    assert np.isnan(from_fp8(sat[2:4], fmt)).all()
    assert list(sat[4:6]) == [0x00, 0x80]


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_from_fp8_all_256_codes_bit_exact(fmt):
    codes = np.arange(256, dtype=np.uint8)
    expect = codes.view(ML[fmt]).astype(np.float32).view(np.uint32)
    np.testing.assert_array_equal(from_fp8(codes, fmt).view(np.uint32), expect)
    # and the round trip of every non-NaN code is the identity
    finite = ~np.isnan(from_fp8(codes, fmt))
    np.testing.assert_array_equal(to_fp8(from_fp8(codes, fmt), fmt, saturate=False)[finite], codes[finite])


@settings(max_examples=40, deadline=None)
@given(bits=hnp.arrays(np.uint32, st.integers(0, 200)), fmt=st.sampled_from(["e4m3", "e5m2"]),
       saturate=st.booleans())
def test_fp8_hypothesis_bit_patterns(bits, fmt, saturate):
    x = bits.view(np.float32)
    expect = fp8_saturating_oracle(x, fmt) if saturate else ml_cast(x, ML[fmt])
    np.testing.assert_array_equal(to_fp8(x, fmt, saturate=saturate), expect)


def test_fp8_keeps_shape_and_handles_empty():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert to_fp8(x).shape == (2, 3, 4)
    assert from_fp8(to_fp8(x)).shape == (2, 3, 4)
    assert to_fp8(np.zeros((0, 5), np.float32)).shape == (0, 5)


# ---- bf16 -------------------------------------------------------------------------------------


def test_bf16_random_bit_patterns_match_ml_dtypes(isa, rng):
    x = random_bits(rng, 100_003)
    np.testing.assert_array_equal(to_bf16(x), ml_cast(x, ml_dtypes.bfloat16))


def test_bf16_ties_specials_and_every_code_back(isa):
    # ties at every exponent: 0x....8000 patterns round to even
    hi = np.arange(0, 0x10000, dtype=np.uint32) << 16
    x = np.concatenate([hi | 0x8000, hi | 0x7FFF, hi | 0x8001, hi]).view(np.float32)
    np.testing.assert_array_equal(to_bf16(x), ml_cast(x, ml_dtypes.bfloat16))
    codes = np.arange(0x10000, dtype=np.uint32).astype(np.uint16)
    np.testing.assert_array_equal(from_bf16(codes).view(np.uint32),
                                  codes.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32))
    nan = to_bf16(np.array([np.nan, -np.nan], dtype=np.float32))
    assert list(nan) == [0x7FC0, 0xFFC0]


@settings(max_examples=30, deadline=None)
@given(bits=hnp.arrays(np.uint32, st.integers(0, 200)))
def test_bf16_hypothesis_bit_patterns(bits):
    x = bits.view(np.float32)
    np.testing.assert_array_equal(to_bf16(x), ml_cast(x, ml_dtypes.bfloat16))


# ---- int8 quantisation -------------------------------------------------------------------------


def numpy_quantize(x, scale, zp, qmin, qmax):
    """round_half_even(fma(x, 1/scale, zp)): the float64 product of two float32 is exact, so
    this rounds once to float32 like a fused multiply-add."""
    inv = (np.float32(1) / np.asarray(scale, np.float32)).astype(np.float64)
    v = (x.astype(np.float64) * inv + zp).astype(np.float32)
    return np.clip(np.rint(v).astype(np.int64), qmin, qmax).astype(np.int8)


@torch_quant_warning
@pytest.mark.parametrize("symmetric", [True, False])
def test_quantize_per_tensor_matches_torch(isa, rng, symmetric):
    x = (rng.standard_normal((37, 129)) * 3 + (0 if symmetric else 1.5)).astype(np.float32)
    q, s, z = quantize_int8(x, symmetric=symmetric)
    assert q.dtype == np.int8 and isinstance(s, np.float32) and isinstance(z, np.int32)
    if symmetric:
        assert s == np.float32(np.abs(x).max()) / np.float32(127) and z == 0
        assert q.min() >= -127
    else:
        lo, hi = min(x.min(), 0), max(x.max(), 0)
        assert s == np.float32(hi - lo) / np.float32(255)
        assert z == np.clip(-128 - np.rint(lo / s), -128, 127)
    tq = torch.quantize_per_tensor(torch.from_numpy(x), float(s), int(z), torch.qint8)
    np.testing.assert_array_equal(q, tq.int_repr().numpy())
    np.testing.assert_array_equal(dequantize_int8(q, s, z), tq.dequantize().numpy())
    np.testing.assert_array_equal(q, numpy_quantize(x, s, z, -127 if symmetric else -128, 127))
    # the round trip is within half a step
    assert np.abs(dequantize_int8(q, s, z) - x).max() <= s / 2 * (1 + 1e-5)


@torch_quant_warning
@pytest.mark.parametrize("symmetric", [True, False])
def test_quantize_per_channel_matches_torch(isa, rng, symmetric):
    w = (rng.standard_normal((19, 70)) * rng.uniform(0.1, 5, (19, 1))).astype(np.float32)
    w[3] = 0.0  # an all-zero channel gets scale 1
    q, s, z = quantize_int8(w, symmetric=symmetric, axis=0)
    assert s.shape == (19,) and s.dtype == np.float32 and z.dtype == np.int32 and s[3] == 1.0
    tq = torch.quantize_per_channel(torch.from_numpy(w), torch.from_numpy(s.astype(np.float64)),
                                    torch.from_numpy(z.astype(np.int64)), 0, torch.qint8)
    np.testing.assert_array_equal(q, tq.int_repr().numpy())
    np.testing.assert_array_equal(dequantize_int8(q, s, z, axis=0), tq.dequantize().numpy())
    # another axis of a 3-D tensor, against the NumPy formula
    x = rng.standard_normal((3, 5, 7)).astype(np.float32)
    q, s, z = quantize_int8(x, symmetric=symmetric, axis=1)
    expect = numpy_quantize(x, s[None, :, None], z[None, :, None], -127 if symmetric else -128, 127)
    np.testing.assert_array_equal(q, expect)
    np.testing.assert_array_equal(quantize_int8(x, symmetric=symmetric, axis=-2)[0], q)
    np.testing.assert_allclose(dequantize_int8(q, s, z, axis=1),
                               (q.astype(np.int32) - z[None, :, None]).astype(np.float32) * s[None, :, None],
                               rtol=0, atol=0)


@torch_quant_warning
def test_quantize_given_params_rounds_half_to_even_and_clamps(isa):
    x = (np.arange(-600, 600, dtype=np.float32) * np.float32(0.25))
    q, s, z = quantize_int8(x, scale=0.5, zero_point=3, symmetric=False)
    tq = torch.quantize_per_tensor(torch.from_numpy(x), 0.5, 3, torch.qint8)
    np.testing.assert_array_equal(q, tq.int_repr().numpy())
    assert q.min() == -128 and q.max() == 127
    np.testing.assert_array_equal(quantize_int8(np.array([0.25, 0.75, -0.25], np.float32), scale=0.5,
                                                zero_point=0)[0], [0, 2, 0])
    qs, _, _ = quantize_int8(np.array([-1e9, 1e9], np.float32), scale=1.0, zero_point=0)
    assert list(qs) == [-127, 127]  # symmetric clamps to +-127


@settings(max_examples=40, deadline=None)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9),
                    elements=st.floats(-1e6, 1e6, width=32)),
       symmetric=st.booleans(), per_channel=st.booleans())
def test_quantize_hypothesis_shapes(x, symmetric, per_channel):
    axis = 0 if per_channel else None
    q, s, z = quantize_int8(x, symmetric=symmetric, axis=axis)
    assert q.shape == x.shape
    sb = s if axis is None else s.reshape((-1,) + (1,) * (x.ndim - 1))
    zb = z if axis is None else z.reshape((-1,) + (1,) * (x.ndim - 1))
    np.testing.assert_array_equal(q, numpy_quantize(x, sb, zb, -127 if symmetric else -128, 127))
    if x.size:
        assert np.all(np.abs(dequantize_int8(q, s, z, axis=axis) - x) <= sb / 2 * (1 + 1e-4) + 1e-30)


def test_quantize_bad_inputs():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(TypeError, match="float32"):
        quantize_int8(x.astype(np.float64))
    with pytest.raises(TypeError, match="ndarray"):
        quantize_int8([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        quantize_int8(np.array([1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="finite"):
        quantize_int8(np.array([[1.0], [np.inf]], np.float32), axis=0)
    with pytest.raises(ValueError, match="axis"):
        quantize_int8(x, axis=2)
    with pytest.raises(ValueError, match="contiguous"):
        quantize_int8(x.T)
    with pytest.raises(ValueError, match="scale"):
        quantize_int8(x, scale=0.0, zero_point=0)
    with pytest.raises(ValueError, match="zero_point"):
        quantize_int8(x, scale=1.0, zero_point=-128)  # symmetric: [-127, 127]
    with pytest.raises(ValueError, match="together"):
        quantize_int8(x, scale=1.0)
    q = np.zeros((4, 3), np.int8)
    with pytest.raises(ValueError, match="scale"):
        dequantize_int8(q, np.ones(3, np.float32), np.zeros(4, np.int32), axis=0)
    with pytest.raises(TypeError, match="int32"):
        dequantize_int8(q, np.ones(4, np.float32), np.zeros(4, np.int64), axis=0)
    with pytest.raises(TypeError, match="int8"):
        dequantize_int8(q.astype(np.uint8), 1.0, 0)


# ---- gemm_int8 -------------------------------------------------------------------------------


def int_matmul(a, b):
    """NumPy's int32 matmul (exact here: the results fit in int32)."""
    return a.astype(np.int32) @ b.astype(np.int32)


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 5, 3), (6, 16, 2), (33, 65, 17), (200, 300, 100),
                                   (13, 0, 9), (0, 4, 5), (5, 4, 0), (97, 1031, 61)])
def test_gemm_int8_matches_numpy(isa, rng, shape):
    m, k, n = shape
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    expect = int_matmul(a, b)
    np.testing.assert_array_equal(gemm_int8(a, b), expect)
    np.testing.assert_array_equal(gemm_int8(a, np.ascontiguousarray(b.T), trans_b=True), expect)


def test_gemm_int8_extremes_and_long_k(isa):
    k = 4096
    a = np.full((9, k), -128, np.int8)
    b = np.full((k, 19), -128, np.int8)
    b[:, 1] = 127
    b[::2, 2] = -128
    b[1::2, 2] = 127
    c = gemm_int8(a, b)
    np.testing.assert_array_equal(c, int_matmul(a, b))
    assert c[0, 0] == 128 * 128 * k
    # |result| close to 2^31: k = 2^17 - 8 products of -128 * -128
    k = 2**17 - 8
    a = np.full((1, k), -128, np.int8)
    b = np.full((k, 3), -128, np.int8)
    assert gemm_int8(a, b)[0, 0] == 16384 * k


def test_gemm_int8_strided_views(isa, rng):
    a = rng.integers(-128, 128, (40, 90), dtype=np.int8)
    b = rng.integers(-128, 128, (70, 60), dtype=np.int8)
    av = a[::2, 1::2]  # (20, 45), both strides > 1
    bv = b[:45, ::3]  # (45, 20), column step 3
    np.testing.assert_array_equal(gemm_int8(av, bv), int_matmul(av, bv))
    np.testing.assert_array_equal(gemm_int8(av, bv[:, ::-1]), int_matmul(av, bv[:, ::-1]))
    w = a[::-1, :45][:30]  # (n, k) = (30, 45), negative row stride
    np.testing.assert_array_equal(gemm_int8(av, w, trans_b=True), int_matmul(av, w.T))
    np.testing.assert_array_equal(gemm_int8(av, bv.T, trans_b=True), int_matmul(av, bv))


def test_gemm_int8_fast_paths_match_reference(isa, rng):
    a = rng.integers(-128, 128, (61, 523), dtype=np.int8)
    b = rng.integers(-128, 128, (523, 77), dtype=np.int8)
    np.testing.assert_array_equal(gemm_int8(a, b), _core.gemm_int8_reference(a, b))


@pytest.mark.parametrize("shape", [(1, 1, 1), (9, 7, 33), (17, 1030, 65), (8, 4096, 32)])
def test_gemm_int8_vnni_driver_emulated(rng, shape):
    # The VNNI path cannot run on every CPU: its packing (a + 128 as u8, k in quads) and the
    # -128 * colsum(B) correction run here with a scalar stand-in for vpdpbusd.
    m, k, n = shape
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    b[:, 0] = -128
    a[0] = -128
    np.testing.assert_array_equal(_core.gemm_int8_reference(a, b, emulate_vnni=True), int_matmul(a, b))
    np.testing.assert_array_equal(_core.gemm_int8_reference(a, b[:, ::-1], emulate_vnni=True),
                                  int_matmul(a, b[:, ::-1]))


def test_gemm_int8_lists_its_vnni_path_only_with_vnni():
    paths, in_use = _core.kernel_families()["gemm_int8"]
    vnni = _core.cpu_features()["avx512vnni"]
    assert ("avx512" in paths) == vnni
    assert in_use == ("avx512" if vnni and _core.active_isa() == "avx512" else
                      "avx2" if _core.active_isa() != "scalar" else "scalar")
    for family in ("quant_int8", "fp8", "bf16"):
        assert family in _core.kernel_families()


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 40), k=st.integers(0, 70), n=st.integers(0, 40), seed=st.integers(0, 2**31))
def test_gemm_int8_hypothesis_shapes(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    np.testing.assert_array_equal(gemm_int8(a, b), int_matmul(a, b))


def test_gemm_int8_bad_inputs():
    a = np.zeros((3, 4), np.int8)
    with pytest.raises(TypeError, match="int8"):
        gemm_int8(a.astype(np.uint8), np.zeros((4, 2), np.int8))
    with pytest.raises(TypeError, match="int8"):
        gemm_int8(a, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm_int8(a, np.zeros((5, 2), np.int8))
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm_int8(a, np.zeros((2, 5), np.int8), trans_b=True)
    with pytest.raises(ValueError, match="dimensions"):
        gemm_int8(a[0], np.zeros((4, 2), np.int8))


# ---- linear_int8 ------------------------------------------------------------------------------


def linear_bound(x, w, w_scale, x_scale):
    """|y_int8 - y_exact| <= sum_k |x||dw| + |w||dx| + |dx||dw| with |dx| <= s_x/2, |dw| <= s_w/2,
    plus float32 rounding of the epilogue."""
    dx = x_scale[:, None] / 2
    dw = w_scale[:, None] / 2
    bound = (np.abs(x) @ np.broadcast_to(dw, w.shape).T + dx * np.abs(w).sum(1)[None, :]
             + dx * dw.T * x.shape[1])
    return bound * (1 + 1e-4) + 1e-6


@torch_quant_warning
@torch_ao_warning
def test_linear_int8_error_bound_and_torch(isa, rng):
    m, k, n = 64, 300, 48
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    w_q, w_s, _ = quantize_int8(w, axis=0)
    y = linear_int8(x, w_q, w_s, bias)
    exact = x.astype(np.float64) @ w.T.astype(np.float64) + bias
    x_scale = np.abs(x).max(1).astype(np.float32) / np.float32(127)
    assert np.all(np.abs(y - exact) <= linear_bound(x, w, w_s, x_scale))
    # exactly the int32 product, rescaled
    xq, xs, _ = quantize_int8(x, axis=0)
    expect = gemm_int8(xq, w_q, trans_b=True).astype(np.float64) * xs[:, None] * w_s[None, :] + bias
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(linear_int8(x, w_q, w_s), y - bias, rtol=1e-5, atol=1e-5)
    # PyTorch's dynamically quantised Linear (per-tensor activations): ours is no worse
    lin = torch.nn.Linear(k, n)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        lin.bias.copy_(torch.from_numpy(bias))
    qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear},
                                                  dtype=torch.qint8)
    with torch.no_grad():
        yt = qlin(torch.from_numpy(x)).numpy()
    rms = lambda e: np.sqrt(np.mean(e**2))  # noqa: E731
    assert rms(y - exact) <= rms(yt - exact)


def test_linear_int8_shapes_and_bad_inputs(rng):
    w_q = rng.integers(-127, 128, (5, 3), dtype=np.int8)
    w_s = np.full(5, 0.01, np.float32)
    assert linear_int8(np.zeros((0, 3), np.float32), w_q, w_s).shape == (0, 5)
    y = linear_int8(np.zeros((2, 3), np.float32), w_q, w_s, np.arange(5, dtype=np.float32))
    np.testing.assert_array_equal(y, np.tile(np.arange(5, dtype=np.float32), (2, 1)))
    with pytest.raises(ValueError, match="w_q"):
        linear_int8(np.zeros((2, 4), np.float32), w_q, w_s)
    with pytest.raises(ValueError, match="w_scale"):
        linear_int8(np.zeros((2, 3), np.float32), w_q, w_s[:4])
    with pytest.raises(ValueError, match="bias"):
        linear_int8(np.zeros((2, 3), np.float32), w_q, w_s, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="float32"):
        linear_int8(np.zeros((2, 3)), w_q, w_s)
    with pytest.raises(ValueError, match="finite"):
        linear_int8(np.array([[1, np.nan, 0]], np.float32), w_q, w_s)


# ---- linear_int8_packed ------------------------------------------------------------------------

# Edges of the packed driver: one row, k not a multiple of 4 / of a 512 slice, several slices, n
# not a multiple of a 32-column panel / 256-column task, more than 256 rows (row chunks).
PACKED_SHAPES = [(1, 5, 3), (7, 513, 33), (64, 300, 48), (300, 1030, 260), (9, 2048, 517)]


@pytest.mark.parametrize(("m", "k", "n"), PACKED_SHAPES)
def test_linear_int8_packed_is_the_integer_product_bit_for_bit(isa, rng, m, k, n):
    x = (rng.standard_normal((m, k)) * rng.uniform(0.1, 10, (m, 1))).astype(np.float32)
    x[0, : min(k, 3)] = 0.0
    w_q = rng.integers(-127, 128, (n, k), dtype=np.int8)
    w_s = rng.uniform(1e-3, 1e-1, n).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    packed = pack_int8_weight(w_q)
    assert packed.isa == _core.kernel_families()["gemm_int8"][1] and packed.shape == (n, k)
    assert not packed.stale
    y = linear_int8_packed(x, packed, w_s, bias)
    # The oracle: NumPy's int64 product of the codes, rescaled in float32 as documented
    # (s_x * s_w first, then the product, then the bias: IEEE float32, no fused multiply-add).
    xq, xs, _ = quantize_int8(x, axis=0)
    acc = (xq.astype(np.int64) @ w_q.T.astype(np.int64)).astype(np.float32)
    want = acc * (xs[:, None] * w_s[None, :]) + bias
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(y, linear_int8(x, w_q, w_s, bias))
    np.testing.assert_array_equal(linear_int8_packed(x, packed, w_s), acc * (xs[:, None] * w_s[None, :]))


def test_linear_int8_packed_for_another_path_still_gives_linear_int8(rng):
    paths = _core.kernel_families()["gemm_int8"][0]
    x = rng.standard_normal((20, 600)).astype(np.float32)
    w_q = rng.integers(-127, 128, (70, 600), dtype=np.int8)
    w_s = np.full(70, 0.01, np.float32)
    previous = _core.active_isa()
    try:
        for packed_on in paths:
            _core.set_isa(packed_on)
            packed = pack_int8_weight(w_q)
            for run_on in paths:
                _core.set_isa(run_on)
                assert packed.stale == (run_on != packed.isa)
                np.testing.assert_array_equal(linear_int8_packed(x, packed, w_s), linear_int8(x, w_q, w_s))
    finally:
        _core.set_isa(previous)


def test_linear_int8_packed_bad_inputs(rng):
    w_q = rng.integers(-127, 128, (5, 3), dtype=np.int8)
    w_s = np.full(5, 0.01, np.float32)
    packed = pack_int8_weight(w_q)
    assert linear_int8_packed(np.zeros((0, 3), np.float32), packed, w_s).shape == (0, 5)
    with pytest.raises(ValueError, match="x must be"):
        linear_int8_packed(np.zeros((2, 4), np.float32), packed, w_s)
    with pytest.raises(ValueError, match="w_scale"):
        linear_int8_packed(np.zeros((2, 3), np.float32), packed, w_s[:4])
    with pytest.raises(ValueError, match="w_scale"):
        linear_int8_packed(np.zeros((2, 3), np.float32), packed, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="bias"):
        linear_int8_packed(np.zeros((2, 3), np.float32), packed, w_s, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="float32"):
        linear_int8_packed(np.zeros((2, 3)), packed, w_s)
    with pytest.raises(TypeError, match="packed"):
        linear_int8_packed(np.zeros((2, 3), np.float32), w_q, w_s)
    with pytest.raises(ValueError, match="finite"):
        linear_int8_packed(np.array([[1, np.inf, 0]], np.float32), packed, w_s)
    with pytest.raises(TypeError, match="int8"):
        pack_int8_weight(np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match="w_q"):
        pack_int8_weight(np.zeros(3, np.int8))


# ---- conv2d_int8 --------------------------------------------------------------------------------


def conv_int8_oracle(x, w_q, w_s, bias=None, stride=1, padding=0, dilation=1, relu=False):
    """conv2d_int8 from its definition, in NumPy and PyTorch: x's codes per tensor (symmetric,
    s_x = max|x| / 127, rint(x * (1 / s_x)) in float32), the exact integer convolution of the
    codes (float64, exact below 2^53), then the float32 epilogue (s_x * s_w first, then the
    product, then the bias; no fused multiply-add)."""
    top = np.abs(x).max() if x.size else np.float32(0)
    s_x = np.float32(top) / np.float32(127) if top > 0 else np.float32(1)
    codes = np.clip(np.rint(x * (np.float32(1) / s_x)), -127, 127)
    acc = torch.nn.functional.conv2d(
        torch.tensor(codes, dtype=torch.float64), torch.tensor(w_q, dtype=torch.float64),
        stride=stride, padding=padding, dilation=dilation,
    ).numpy().astype(np.float32)
    shift = np.float32(0) if bias is None else bias[None, :, None, None]
    y = acc * (s_x * w_s)[None, :, None, None] + shift
    return np.maximum(y, np.float32(0)) if relu else y, s_x


# (N, C, H, W, O, kernel, stride, padding, dilation): C not a multiple of the k group (1, 5), C
# * kH * kW over a 512 slice (64 * 9), O past a 32-column panel and a 256-column task (260), more
# than 256 patches (row chunks), a stride, a dilation and an asymmetric padding.
CONV_SHAPES = [
    (3, 1, 8, 8, 16, (3, 3), 1, 1, 1),
    (2, 16, 8, 8, 32, (3, 3), 1, 1, 1),
    (2, 5, 11, 9, 7, (3, 2), (2, 1), (0, 2), (2, 1)),
    (1, 64, 7, 6, 260, (3, 3), 1, 1, 1),
    (5, 8, 10, 10, 12, (1, 1), 2, 0, 1),
    (1, 3, 1, 1, 4, (3, 3), 1, 1, 1),
]


@pytest.mark.parametrize(("n", "c", "h", "w", "o", "k", "stride", "padding", "dilation"), CONV_SHAPES)
def test_conv2d_int8_is_the_integer_convolution_bit_for_bit(isa, rng, n, c, h, w, o, k, stride, padding,
                                                            dilation):
    x = (rng.standard_normal((n, c, h, w)) * 3).astype(np.float32)
    w_q = rng.integers(-127, 128, (o, c, *k), dtype=np.int8)
    w_s = rng.uniform(1e-3, 1e-1, o).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    packed = pack_int8_weight(w_q)
    assert packed.shape == (o, c, *k) and packed.isa == _core.kernel_families()["gemm_int8"][1]
    for b, relu in ((bias, False), (None, False), (bias, True)):
        want, _ = conv_int8_oracle(x, w_q, w_s, b, stride, padding, dilation, relu)
        got = conv2d_int8(x, packed, w_s, b, stride, padding, dilation, relu)
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 3), c=st.integers(1, 20), hw=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       o=st.integers(1, 40), k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), relu=st.booleans(),
       seed=st.integers(0, 2**31))
def test_conv2d_int8_hypothesis_shapes(n, c, hw, o, k, stride, padding, dilation, relu, seed):
    reach = [(k[i] - 1) * dilation[i] + 1 for i in range(2)]
    if any(hw[i] + 2 * padding[i] < reach[i] for i in range(2)):
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d_int8(np.zeros((n, c, *hw), np.float32), pack_int8_weight(np.zeros((o, c, *k), np.int8)),
                        np.ones(o, np.float32), None, stride, padding, dilation)
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w_q = rng.integers(-127, 128, (o, c, *k), dtype=np.int8)
    w_s = rng.uniform(1e-3, 1, o).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    want, _ = conv_int8_oracle(x, w_q, w_s, bias, stride, padding, dilation, relu)
    got = conv2d_int8(x, pack_int8_weight(w_q), w_s, bias, stride, padding, dilation, relu)
    np.testing.assert_array_equal(got, want)


def test_conv2d_int8_is_within_the_quantisation_error_of_the_float_conv(rng):
    # The float32 convolution of x with the dequantised weight differs only by x's rounding to
    # codes: |q s_x - x| <= s_x / 2, so |y - conv(x, W s_w)|[o] <= s_x / 2 * sum |W[o]| s_w[o].
    x = rng.standard_normal((4, 6, 9, 9)).astype(np.float32)
    w = rng.standard_normal((10, 6, 3, 3)).astype(np.float32)
    w_q, w_s, _ = quantize_int8(w.reshape(10, -1), axis=0)
    w_q = w_q.reshape(w.shape)
    bias = rng.standard_normal(10).astype(np.float32)
    y = conv2d_int8(x, pack_int8_weight(w_q), w_s, bias, padding=1)
    deq = w_q.astype(np.float64) * w_s[:, None, None, None]
    ref = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(deq),
                                     torch.tensor(bias, dtype=torch.float64), padding=1).numpy()
    s_x = np.abs(x).max() / 127
    bound = s_x / 2 * np.abs(deq).sum(axis=(1, 2, 3))[None, :, None, None] + 1e-5 * (1 + np.abs(ref))
    assert np.all(np.abs(y - ref) <= bound)
    assert np.abs(y - ref).max() > 0  # the codes did round something (the test can fail)


def test_conv2d_int8_empty_sizes_and_another_path(rng):
    w_q = rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8)
    w_s = np.full(4, 0.01, np.float32)
    bias = np.arange(4, dtype=np.float32) - 1
    packed = pack_int8_weight(w_q)
    assert conv2d_int8(np.zeros((0, 3, 5, 5), np.float32), packed, w_s, bias, padding=1).shape == (0, 4, 5, 5)
    # an all-zero x (scale 1, every code 0): the bias alone, ReLU'd
    got = conv2d_int8(np.zeros((2, 3, 4, 4), np.float32), packed, w_s, bias, relu=True)
    want = np.broadcast_to(np.maximum(bias, 0)[None, :, None, None], (2, 4, 2, 2))
    np.testing.assert_array_equal(got, want)
    # no input channels, no output channels
    none_in = pack_int8_weight(np.zeros((4, 0, 1, 1), np.int8))
    y = conv2d_int8(np.zeros((2, 0, 3, 3), np.float32), none_in, w_s, bias)
    np.testing.assert_array_equal(y, np.broadcast_to(bias[None, :, None, None], (2, 4, 3, 3)))
    y = conv2d_int8(np.ones((2, 3, 3, 3), np.float32), pack_int8_weight(np.zeros((0, 3, 3, 3), np.int8)),
                    np.zeros(0, np.float32))
    assert y.shape == (2, 0, 1, 1)
    # packed on one path, run on another (set_isa since): the same numbers
    x = rng.standard_normal((3, 3, 6, 6)).astype(np.float32)
    want, _ = conv_int8_oracle(x, w_q, w_s, bias, 1, 1, 1)
    paths = _core.kernel_families()["gemm_int8"][0]
    previous = _core.active_isa()
    try:
        for packed_on in paths:
            _core.set_isa(packed_on)
            packed = pack_int8_weight(w_q)
            for run_on in paths:
                _core.set_isa(run_on)
                assert packed.stale == (run_on != packed.isa)
                np.testing.assert_array_equal(conv2d_int8(x, packed, w_s, bias, padding=1), want)
    finally:
        _core.set_isa(previous)


def test_conv2d_int8_bad_inputs(rng):
    w_q = rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8)
    w_s = np.full(4, 0.01, np.float32)
    packed = pack_int8_weight(w_q)
    x = np.zeros((2, 3, 5, 5), np.float32)
    with pytest.raises(ValueError, match="in_channels = 3"):
        conv2d_int8(np.zeros((2, 4, 5, 5), np.float32), packed, w_s)
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        conv2d_int8(np.zeros((3, 5, 5), np.float32), packed, w_s)
    with pytest.raises(TypeError, match="x.*float32"):
        conv2d_int8(x.astype(np.float64), packed, w_s)
    with pytest.raises(ValueError, match="packed must hold a convolution's 4-D weight"):
        conv2d_int8(x, pack_int8_weight(w_q.reshape(4, -1)), w_s)
    with pytest.raises(ValueError, match="packed must hold a linear layer's 2-D weight"):
        linear_int8_packed(np.zeros((2, 27), np.float32), packed, w_s)
    with pytest.raises(TypeError, match="packed"):
        conv2d_int8(x, w_q, w_s)
    with pytest.raises(ValueError, match="w_scale"):
        conv2d_int8(x, packed, w_s[:3])
    with pytest.raises(ValueError, match="w_scale"):
        conv2d_int8(x, packed, -w_s)
    with pytest.raises(ValueError, match="bias"):
        conv2d_int8(x, packed, w_s, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"stride\[0\]"):
        conv2d_int8(x, packed, w_s, stride=0)
    with pytest.raises(ValueError, match=r"padding\[1\]"):
        conv2d_int8(x, packed, w_s, padding=(0, -1))
    with pytest.raises(TypeError, match="dilation"):
        conv2d_int8(x, packed, w_s, dilation=1.5)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d_int8(np.zeros((2, 3, 2, 2), np.float32), packed, w_s)
    x[1, 2, 3, 4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        conv2d_int8(x, packed, w_s)
    with pytest.raises(ValueError, match="w_q must be 2-D .* or 4-D"):
        pack_int8_weight(np.zeros((4, 3, 3), np.int8))


# ---- fp8 / bf16 GEMM ---------------------------------------------------------------------------


def assert_float32_gemm(got, a, b):
    """Within the float32 accumulation bound |fl(AB) - AB| <= k * eps * |A||B| (elementwise)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    bound = (a.shape[1] + 2) * np.finfo(np.float32).eps * (np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - a64 @ b64) <= bound + 1e-30)


@pytest.mark.parametrize("fmts", [("e4m3", "e4m3"), ("e5m2", "e4m3"), ("e4m3", "e5m2")])
@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 33, 9), (64, 130, 31), (3, 0, 4)])
def test_gemm_fp8_matches_numpy_on_decoded(isa, rng, fmts, shape):
    m, k, n = shape
    a8 = to_fp8((rng.standard_normal((m, k)) * 4).astype(np.float32), fmts[0])
    b8 = to_fp8((rng.standard_normal((k, n)) * 4).astype(np.float32), fmts[1])
    got = gemm_fp8(a8, b8, 0.5, 0.25, fmts[0], fmts[1])
    assert got.dtype == np.float32 and got.shape == (m, n)
    assert_float32_gemm(got, from_fp8(a8, fmts[0]) * np.float32(0.125), from_fp8(b8, fmts[1]))


@pytest.mark.parametrize("shape", [(1, 1, 1), (17, 33, 9), (64, 130, 31), (0, 3, 2)])
def test_gemm_bf16_matches_numpy_on_decoded(isa, rng, shape):
    m, k, n = shape
    a = to_bf16(rng.standard_normal((m, k)).astype(np.float32))
    b = to_bf16(rng.standard_normal((k, n)).astype(np.float32))
    got = gemm_bf16(a, b)
    assert got.shape == (m, n)
    assert_float32_gemm(got, from_bf16(a), from_bf16(b))


def test_low_precision_bad_inputs():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="e4m3"):
        to_fp8(x, "e3m4")
    with pytest.raises(ValueError, match="e4m3"):
        from_fp8(np.zeros(3, np.uint8), "e3m4")
    with pytest.raises(TypeError, match="float32"):
        to_fp8(x.astype(np.float64))
    with pytest.raises(TypeError, match="uint8"):
        from_fp8(np.zeros(3, np.int8))
    with pytest.raises(TypeError, match="float32"):
        to_bf16(x.astype(np.float16))
    with pytest.raises(TypeError, match="uint16"):
        from_bf16(np.zeros(3, np.int16))
    with pytest.raises(ValueError, match="contiguous"):
        to_bf16(np.ones((3, 4), np.float32).T)
    with pytest.raises(ValueError, match="fmt_b"):
        gemm_fp8(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), fmt_b="e3m4")
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm_fp8(np.zeros((2, 3), np.uint8), np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError, match="uint16"):
        gemm_bf16(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.uint16))


@pytest.mark.parametrize("symmetric", [True, False])
def test_tiny_ranges_get_a_scale_whose_reciprocal_is_finite(isa, symmetric):
    # max|x| / 127 would be subnormal; 1/scale would overflow and 0 * inf give NaN codes.
    x = np.array([0.0, 1.22912e-40, -3e-41], np.float32)
    q, s, z = quantize_int8(x, symmetric=symmetric)
    assert s >= np.finfo(np.float32).tiny and np.isfinite(np.float32(1) / s)
    np.testing.assert_array_equal(q, numpy_quantize(x, s, z, -127 if symmetric else -128, 127))
    assert np.all(np.abs(dequantize_int8(q, s, z) - x) <= s / 2)
    with pytest.raises(ValueError, match="smallest normal"):
        quantize_int8(x, scale=np.float32(1e-40), zero_point=0)


# ---- the bf16 GEMM: linear_bf16 / pack_bf16_weight / linear_bf16_packed ------------------------


def bf16_values(x: np.ndarray) -> np.ndarray:
    """x rounded to nearest even bfloat16 by ml_dtypes (the independent oracle), as float64."""
    return x.astype(ml_dtypes.bfloat16).astype(np.float64)


def assert_bf16_linear(got, x, w, bias=None):
    """got = bf16(x) @ bf16(w)^T + bias within the float32 accumulation bound."""
    xr, wr = bf16_values(x), bf16_values(w)
    exact = xr @ wr.T + (0.0 if bias is None else bias.astype(np.float64))
    bound = (x.shape[1] + 2) * np.finfo(np.float32).eps * (np.abs(xr) @ np.abs(wr).T + (
        0.0 if bias is None else np.abs(bias.astype(np.float64))))
    assert got.dtype == np.float32 and got.shape == exact.shape
    assert np.all(np.abs(got - exact) <= bound + 1e-30)


# Shapes across the blocking: edge tiles of the 12 x 32 microkernel, odd k (half a pair), k over
# several 512-value slices, n over several 256-column tasks, m over several row chunks.
BF16_SHAPES = [(1, 1, 1), (0, 3, 4), (3, 0, 4), (5, 4, 0), (13, 33, 7), (12, 1031, 32), (40, 600, 300),
               (300, 130, 70), (8, 2048, 64)]


@pytest.mark.parametrize("shape", BF16_SHAPES)
def test_linear_bf16_matches_the_product_of_bf16_rounded_operands(isa, rng, shape):
    m, k, n = shape
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    got = linear_bf16(x, w, bias)
    assert_bf16_linear(got, x, w, bias)
    # Codes or float32: the same rounding, the same packed words, the same result bit for bit.
    np.testing.assert_array_equal(linear_bf16(to_bf16(x), to_bf16(w), bias), got)
    packed = pack_bf16_weight(w)
    assert packed.shape == (n, k) and packed.isa == isa and not packed.stale
    packed_got = linear_bf16_packed(x, packed, bias)
    assert_bf16_linear(packed_got, x, w, bias)
    if isa == "avx512" and _core.cpu_features()["avx512bf16"]:
        np.testing.assert_array_equal(packed_got, got)  # the same panels, the same order of sums


@settings(max_examples=25, deadline=None)
@given(m=st.integers(0, 30), k=st.integers(0, 70), n=st.integers(0, 70), seed=st.integers(0, 2**16))
def test_linear_bf16_any_shape(m, k, n, seed):
    r = np.random.default_rng(seed)
    x = (r.standard_normal((m, k)) * 100).astype(np.float32)
    w = r.standard_normal((n, k)).astype(np.float32)
    assert_bf16_linear(linear_bf16(x, w), x, w)
    assert_bf16_linear(linear_bf16_packed(x, pack_bf16_weight(to_bf16(w))), x, w)


@pytest.mark.parametrize("shape", [(1, 700, 9), (20, 64, 40), (9, 1100, 600)])
def test_gemm_bf16_and_fp8_across_the_blocking(isa, rng, shape):
    m, k, n = shape
    a = to_bf16(rng.standard_normal((m, k)).astype(np.float32))
    b = to_bf16(rng.standard_normal((k, n)).astype(np.float32))
    assert_float32_gemm(gemm_bf16(a, b), from_bf16(a), from_bf16(b))
    a8 = to_fp8((rng.standard_normal((m, k)) * 4).astype(np.float32), "e5m2")
    b8 = to_fp8((rng.standard_normal((k, n)) * 4).astype(np.float32), "e4m3")
    got = gemm_fp8(a8, b8, 2.0, 0.5, "e5m2", "e4m3")
    assert_float32_gemm(got, from_fp8(a8, "e5m2"), from_fp8(b8, "e4m3"))


def test_linear_bf16_nan_and_inf_propagate_as_in_float32(isa, rng):
    x = rng.standard_normal((20, 50)).astype(np.float32)
    w = rng.standard_normal((40, 50)).astype(np.float32)
    x[3, 7], x[5, 0], w[11, 2] = np.nan, np.inf, -np.inf
    with np.errstate(invalid="ignore"):  # inf - inf: the NaN the test is about
        exact = bf16_values(x) @ bf16_values(w).T
    for got in (linear_bf16(x, w), linear_bf16_packed(x, pack_bf16_weight(w))):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exact))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(exact))
        assert np.isnan(got[3]).all() and np.isfinite(got[0, :11]).all()


def test_linear_bf16_bad_inputs_name_the_argument():
    x, w = np.ones((2, 4), np.float32), np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32 or uint16"):
        linear_bf16(x.astype(np.float64), w)
    with pytest.raises(TypeError, match="w must have dtype float32 or uint16"):
        pack_bf16_weight(w.astype(np.int8))
    with pytest.raises(ValueError, match=r"w must be \(out_features, in_features\)"):
        linear_bf16(x, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="bias"):
        linear_bf16(x, w, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"x must be \(m, in_features\)"):
        linear_bf16_packed(np.ones((2, 5), np.float32), pack_bf16_weight(w))
    with pytest.raises(TypeError, match="packed must be a PackedBf16Weight"):
        linear_bf16_packed(x, None)
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        linear_bf16(np.ones(4, np.float32), w)


def test_packed_bf16_weight_goes_stale_with_the_path():
    paths = available_isas()
    if len(paths) < 2:
        pytest.skip("one ISA path only")
    w = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    previous = _core.active_isa()
    packed = pack_bf16_weight(w)
    try:
        _core.set_isa("scalar")
        assert packed.stale == (packed.isa != "scalar")
        x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
        # Stale: linear_bf16 on the weight's codes, the path in use, bit for bit.
        np.testing.assert_array_equal(linear_bf16_packed(x, packed), linear_bf16(x, w))
        np.testing.assert_array_equal(linear_bf16_packed(x, pack_bf16_weight(w)), linear_bf16(x, w))
    finally:
        _core.set_isa(previous)


@pytest.mark.parametrize("n", [1, 15, 16, 17, 40, 1000])
def test_quantize_int8_range_and_non_finite_in_every_lane(isa, rng, n):
    """The min/max fold (quant_simd.h over simd_vec.h, the scalar tail): the symmetric scale is
    max|x| / 127 exactly as NumPy folds it, and a NaN or an infinity anywhere (vector body, last
    lane, tail) is refused."""
    x = (rng.standard_normal(n) * 1e3).astype(np.float32)
    for data in (x, -np.abs(x), np.abs(x) + 1):
        _, scale, _ = quantize_int8(data)
        assert np.float32(scale) == np.float32(max(-min(data.min(), 0), max(data.max(), 0)) / np.float32(127))
    for pos in sorted({0, n // 2, n - 1, max(n - 16, 0)}):
        for bad in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[pos] = bad
            with pytest.raises(ValueError, match="finite"):
                quantize_int8(y)
            with pytest.raises(ValueError, match="finite"):
                linear_int8(y.reshape(1, n), np.ones((2, n), np.int8), np.ones(2, np.float32))
