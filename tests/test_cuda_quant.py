"""int8 quantisation, FP8 and bf16 conversions on the GPU (grimoire._cuda): the checks without a
GPU (quant_args.h, the CPU's messages), and with a GPU every code bit-identical to the CPU core
and ml_dtypes: all 2^16 bf16 codes, all 2^8 FP8 codes both ways, and millions of float32 bit
patterns (every low half-word, the specials, random ones) through to_bf16 / to_fp8."""

import ml_dtypes
import numpy as np
import pytest
from cuda_checks import fake, reaches_device, same_error
from cuda_support import _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import dequantize_int8, from_bf16, from_fp8, quantize_int8, to_bf16, to_fp8
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = needs_build


def test_conversion_checks_match_the_cpu():
    same_error(
        lambda: _core.to_fp8(np.zeros(3, np.float32), "e3m4", True),
        lambda: _cuda.to_fp8(fake((3,)), "e3m4", True),
        ValueError,
        "fmt must be 'e4m3' or 'e5m2'",
    )
    same_error(
        lambda: _core.from_fp8(np.zeros(3, np.int8), "e4m3"),
        lambda: _cuda.from_fp8(fake((3,), "int8"), "e4m3"),
        TypeError,
        "codes must have dtype uint8",
    )
    same_error(
        lambda: _core.to_bf16(np.zeros(3, np.float64)),
        lambda: _cuda.to_bf16(fake((3,), "float64")),
        TypeError,
        "x must have dtype float32",
    )
    same_error(
        lambda: _core.from_bf16(np.zeros(3, np.float16)),
        lambda: _cuda.from_bf16(fake((3,), "float16")),
        TypeError,
        "x must have dtype uint16",
    )
    for call in (
        lambda: _cuda.to_fp8(fake((5, 3)), "e5m2", False),
        lambda: _cuda.from_bf16(fake((7,), "uint16")),
    ):
        reaches_device(call)


def test_int8_checks_match_the_cpu():
    x = np.zeros((3, 4), np.float32)
    dx = fake((3, 4))
    same_error(
        lambda: _core.quantize_int8(x, True, 2, None, None),
        lambda: _cuda.quantize_int8(dx, True, 2, None, None),
        ValueError,
        "axis must be None or in",
    )
    same_error(
        lambda: _core.quantize_int8(x, True, 0, np.ones(3, np.float32), None),
        lambda: _cuda.quantize_int8(dx, True, 0, fake((3,)), None),
        ValueError,
        "given together",
    )
    same_error(
        lambda: _core.quantize_int8(x, True, 1, np.ones(3, np.float32), np.zeros(4, np.int32)),
        lambda: _cuda.quantize_int8(dx, True, 1, fake((3,)), fake((4,), "int32")),
        ValueError,
        "scale must have the shape of the quantised axis",
    )
    same_error(
        lambda: _core.dequantize_int8(
            np.zeros((3, 4), np.int8), np.ones((1, 1), np.float32), np.zeros(1, np.int32), None
        ),
        lambda: _cuda.dequantize_int8(fake((3, 4), "int8"), fake((1, 1)), fake((1,), "int32"), None),
        ValueError,
        "scale must have 1 dimensions",
    )
    reaches_device(lambda: _cuda.quantize_int8(dx, False, None, None, None))


def test_quant_family_is_listed():
    assert {"to_fp8_kernel", "quantize_int8_kernel"} <= set(_cuda.families["quant"])


# ---- on a GPU ---------------------------------------------------------------------------------


def _float32_patterns(seed: int = 0) -> np.ndarray:
    """Every low half-word under a spread of high half-words (all rounding cases of bf16 and of
    every FP8 exponent), the specials, and random bit patterns: about 9.5 million float32."""
    rng = np.random.default_rng(seed)
    highs = np.concatenate(
        [
            np.arange(0, 0x10000, 97, dtype=np.uint32),  # every exponent, both signs
            np.array(
                [0x0000, 0x3F80, 0x4380, 0x43E0, 0x4760, 0x7F7F, 0x7F80, 0x7FC0, 0x8000, 0xFF80, 0xFFFF],
                np.uint32,
            ),
        ]
    )
    lows = np.arange(0x10000, dtype=np.uint32)[::7]
    grid = ((highs[:, None] << 16) | lows[None, :]).ravel()
    return np.concatenate([grid, rng.integers(0, 2**32, 2**21, dtype=np.uint64).astype(np.uint32)]).view(
        np.float32
    )


@needs_gpu
def test_bf16_is_bit_identical_everywhere():
    import cupy as cp

    codes = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    np.testing.assert_array_equal(
        cp.asnumpy(from_bf16(cp.asarray(codes))).view(np.uint32), from_bf16(codes).view(np.uint32)
    )
    x = _float32_patterns()
    got = cp.asnumpy(to_bf16(cp.asarray(x)))
    np.testing.assert_array_equal(got, to_bf16(x))
    np.testing.assert_array_equal(got, x.astype(ml_dtypes.bfloat16).view(np.uint16))


@needs_gpu
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_is_bit_identical_everywhere(fmt):
    import cupy as cp

    dtype = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}[fmt]
    codes = np.arange(256, dtype=np.uint8)
    dec = cp.asnumpy(from_fp8(cp.asarray(codes), fmt))
    np.testing.assert_array_equal(dec.view(np.uint32), from_fp8(codes, fmt).view(np.uint32))
    x = _float32_patterns(1)
    dx = cp.asarray(x)
    for saturate in (True, False):
        got = cp.asnumpy(to_fp8(dx, fmt, saturate))
        np.testing.assert_array_equal(got, to_fp8(x, fmt, saturate))
    nan = np.isnan(x)
    want = x.astype(dtype).view(np.uint8)
    np.testing.assert_array_equal(got[~nan], want[~nan])  # saturate=False is ml_dtypes' cast
    assert np.isnan(from_fp8(got[nan], fmt)).all()


@needs_gpu
@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(0,), (1,), (7,), (3, 5), (4, 1, 33), (2, 3, 4)]),
    symmetric=st.booleans(),
    per_channel=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_int8_matches_the_cpu(shape, symmetric, per_channel, seed):
    import cupy as cp

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    axis = (len(shape) - 1) // 2 if per_channel else None
    q, s, z = quantize_int8(x, symmetric=symmetric, axis=axis)
    gq, gs, gz = quantize_int8(cp.asarray(x), symmetric=symmetric, axis=axis)
    np.testing.assert_array_equal(cp.asnumpy(gq), q)
    np.testing.assert_array_equal(cp.asnumpy(gs), s)
    np.testing.assert_array_equal(cp.asnumpy(gz), z)
    np.testing.assert_array_equal(
        cp.asnumpy(dequantize_int8(gq, gs, gz, axis)), dequantize_int8(q, s, z, axis)
    )
    gq2, _, _ = quantize_int8(cp.asarray(x), symmetric=symmetric, axis=axis, scale=gs, zero_point=gz)
    np.testing.assert_array_equal(cp.asnumpy(gq2), q)


@needs_gpu
def test_int8_refuses_non_finite_and_bad_scales_like_the_cpu():
    import cupy as cp

    x = np.array([1.0, np.inf, 2.0], np.float32)
    same_error(lambda: quantize_int8(x), lambda: quantize_int8(cp.asarray(x)), ValueError, "must be finite")
    y = np.ones(3, np.float32)
    same_error(
        lambda: quantize_int8(y, scale=0.0, zero_point=0),
        lambda: quantize_int8(cp.asarray(y), scale=0.0, zero_point=0),
        ValueError,
        "scale must be finite",
    )
