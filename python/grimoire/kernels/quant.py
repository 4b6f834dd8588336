"""Quantisation and low-precision formats (primer 6.2, model compression).

Three number formats narrower than float32, and the matrix products on them:

* **int8** (affine quantisation): ``q = clamp(round(x / scale + zero_point), qmin, qmax)`` and
  back ``x ~ (q - zero_point) * scale``; ``round`` is half-to-even and ``x / scale + zero_point``
  is computed as ``fma(x, 1 / scale, zero_point)`` in float32 (one rounding), as PyTorch's
  ``quantize_per_tensor`` does, so the codes match it bit for bit. 4x smaller than
  float32. :func:`gemm_int8` multiplies int8 matrices exactly in int32; :func:`linear_int8` is a
  quantised linear layer, and :func:`linear_int8_packed` the same with a weight packed once
  (:func:`pack_int8_weight`); :func:`conv2d_int8` is the quantised convolution on such a
  packed weight.
* **FP8** (OCP): E4M3 (``float8_e4m3fn``: 4 exponent bits, 3 mantissa bits, max 448, no
  infinity) and E5M2 (max 57344, with infinities), as uint8 codes. 4x smaller.
* **bf16** (brain float): the upper 16 bits of a float32 (same range, 8 bits of precision), as
  uint16 codes. 2x smaller. :func:`linear_bf16` multiplies bf16 operands with float32
  accumulation (``vdpbf16ps`` where the CPU has AVX512_BF16), and :func:`linear_bf16_packed`
  with a weight packed once (:func:`pack_bf16_weight`).

Every conversion rounds to nearest, ties to even, and is bit-for-bit the same as ``ml_dtypes``
(FP8 with ``saturate=False``; with the default ``saturate=True`` only values beyond the range
differ: they become +-max).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ._device import backend, device_of, runs_on_cuda
from .conv import IntPair, _pair

_FP8_FORMATS = ("e4m3", "e5m2")


def _fmt(fmt: str, name: str = "fmt") -> str:
    if not isinstance(fmt, str) or fmt not in _FP8_FORMATS:
        raise ValueError(f"{name} must be 'e4m3' or 'e5m2', got {fmt!r}")
    return fmt


def _channel_params(values, dtype, name: str, axis: int | None, on_device: bool):
    """scale / zero_point as a 1-D array: a scalar for axis=None, an array per channel (a CUDA
    array when x is on the GPU; a scalar is then copied there)."""
    if axis is None:
        if np.ndim(values) != 0:
            raise ValueError(f"{name} must be a scalar when axis is None, got shape {np.shape(values)}")
        if device_of(values) != "cpu":  # a 0-d device array: its value, copied to the host
            values = values.item()
        host = np.array([values], dtype=dtype)
        if on_device:
            import cupy

            return cupy.asarray(host)
        return host
    if not on_device and not isinstance(values, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype).name} when axis is given, "
                        f"got {type(values).__name__}")
    return values


def quantize_int8(
    x: np.ndarray,
    *,
    symmetric: bool = True,
    axis: int | None = None,
    scale: float | np.floating | np.ndarray | None = None,
    zero_point: int | np.integer | np.ndarray | None = None,
) -> tuple[np.ndarray, np.float32 | np.ndarray, np.int32 | np.ndarray]:
    """Quantise float32 to int8: ``q = clamp(round_half_even(x / scale + zero_point), qmin, qmax)``.

    Parameters
    ----------
    x : float32 array, any shape (C-contiguous); must be finite.
    symmetric : True: ``scale = max|x| / 127``, ``zero_point = 0``, q in [-127, 127] (so that
        -q is always representable). False (affine): from ``lo = min(min x, 0)``,
        ``hi = max(max x, 0)``: ``scale = (hi - lo) / 255``,
        ``zero_point = clamp(-128 - round(lo / scale), -128, 127)``, q in [-128, 127]
        (PyTorch's ``MinMaxObserver`` for qint8; zero is always exactly representable). A
        channel of zeros gets scale 1.
    axis : None for one scale for the whole tensor (``torch.quantize_per_tensor``); an axis for
        one scale per index along it (``torch.quantize_per_channel``), e.g. ``axis=0`` for an
        (out_features, in_features) weight.
    scale, zero_point : given parameters instead of ones computed from x (scalars for
        axis=None, float32 / int32 arrays of the axis' length otherwise).

    Returns
    -------
    (q int8 of x's shape, scale float32, zero_point int32): scalars for axis=None (0-d CuPy
    arrays for a CUDA x), arrays of shape (x.shape[axis],) otherwise, on x's device.
    """
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
        raise TypeError(f"axis must be None or an int, got {type(axis).__name__}")
    if (scale is None) != (zero_point is None):
        raise ValueError("scale and zero_point must be given together (or neither, to compute them from x)")
    module = backend(x=x)
    on_device = runs_on_cuda(module)
    if scale is not None:
        scale = _channel_params(scale, np.float32, "scale", axis, on_device)
        zero_point = _channel_params(zero_point, np.int32, "zero_point", axis, on_device)
        module = backend(x=x, scale=scale, zero_point=zero_point)
    q, s, z = module.quantize_int8(x, bool(symmetric), axis, scale, zero_point)
    if axis is None:
        if on_device:  # 0-d CuPy arrays: reading them as NumPy scalars would synchronise
            return q, s[0], z[0]
        return q, np.float32(s[0]), np.int32(z[0])
    return q, s, z


def dequantize_int8(q: np.ndarray, scale: float | np.floating | np.ndarray,
                    zero_point: int | np.integer | np.ndarray, axis: int | None = None) -> np.ndarray:
    """Back to float32: ``x = (q - zero_point) * scale`` (per tensor, or per index along ``axis``).

    ``q`` is an int8 array (C-contiguous); ``scale``/``zero_point`` as returned by
    :func:`quantize_int8` (scalars for axis=None, float32 / int32 arrays otherwise). Matches
    ``torch.dequantize``.
    """
    on_device = runs_on_cuda(backend(q=q))
    scale = _channel_params(scale, np.float32, "scale", axis, on_device)
    zero_point = _channel_params(zero_point, np.int32, "zero_point", axis, on_device)
    return backend(q=q, scale=scale, zero_point=zero_point).dequantize_int8(q, scale, zero_point, axis)


def gemm_int8(a_q: np.ndarray, b_q: np.ndarray, *, trans_b: bool = False) -> np.ndarray:
    """Exact integer matrix product ``C = A @ B`` of int8 matrices, accumulated in int32.

    a_q: int8 (m, k); b_q: int8 (k, n), or (n, k) with ``trans_b=True`` (the layout of a
    linear layer's weight). Any strides. Returns int32 (m, n), equal to
    ``a.astype(int32) @ b.astype(int32)``: exact whenever the result fits in int32 (always for
    k < 2**17, as ``|a*b| <= 128*128``), wrapping modulo 2**32 beyond, as NumPy does.

    Paths: AVX-512 VNNI (vpdpbusd on ``a + 128`` with ``128 * colsum(B)`` subtracted), AVX2
    (vpmaddwd on int16-widened operands, exact), scalar; packed and multithreaded. CUDA arrays:
    int8 tensor cores (IMMA m16n8k32), the same exact int32 result.
    """
    return backend(a=a_q, b=b_q).gemm_int8(a_q, b_q, bool(trans_b))


def linear_int8(x: np.ndarray, w_q: np.ndarray, w_scale: np.ndarray,
                bias: np.ndarray | None = None) -> np.ndarray:
    """A dynamically quantised linear layer: ``y = x W^T + bias`` with int8 operands.

    Each row of ``x`` is quantised on the fly (symmetric, ``s_x[i] = max|x_i| / 127``), the
    product is taken in int32 (:func:`gemm_int8`), and the epilogue rescales:
    ``y[i, j] = s_x[i] * w_scale[j] * sum_k q(x)[i, k] * w_q[j, k] + bias[j]``.

    x: float32 (m, k), finite; w_q: int8 (n, k), e.g. ``quantize_int8(w, axis=0)[0]``;
    w_scale: float32 (n,); bias: float32 (n,) or None. All C-contiguous. Returns float32 (m, n).
    CUDA arrays: the rows are quantised and the product taken on the GPU (int8 tensor cores), with
    the same roundings, so the result equals the CPU core's bit for bit.
    """
    return backend(x=x, w_q=w_q, w_scale=w_scale, bias=bias).linear_int8(x, w_q, w_scale, bias)


def pack_int8_weight(w_q: np.ndarray) -> _core.PackedInt8Weight:
    """Packs an int8 weight once: ``W`` (n, k) for :func:`linear_int8_packed`, or a convolution's
    ``W`` (out_channels, in_channels, kH, kW) for :func:`conv2d_int8`.

    The result holds ``W^T`` in the panel layout of the int8 GEMM path this CPU takes now
    (``.isa``: AVX-512 VNNI panels with ``-128 * colsum(W)`` precomputed, AVX2 int16 panels, or
    W as it is for the scalar path), so that a layer used many times does not repack its weight
    on every call as :func:`linear_int8` does; a convolution's weight is packed with its k axis
    in (kH, kW, in_channels) order, the order of the patches conv2d_int8 gathers. Immutable (a
    copy shares it). w_q: int8, 2-D or 4-D, C-contiguous, on the host.
    """
    # CPU only: on CUDA arrays the dispatch raises NotImplementedError (the GPU's linear_int8
    # takes the int8 weight as it is)
    return backend(w_q=w_q).pack_int8_weight(w_q)


def linear_int8_packed(x: np.ndarray, packed: _core.PackedInt8Weight, w_scale: np.ndarray,
                       bias: np.ndarray | None = None) -> np.ndarray:
    """:func:`linear_int8` with a weight packed by :func:`pack_int8_weight`:
    ``y[i, j] = s_x[i] * w_scale[j] * sum_k q(x)[i, k] * W[j, k] + bias[j]``, equal to
    ``linear_int8(x, W, w_scale, bias)`` bit for bit.

    x: float32 (m, k), finite, C-contiguous; w_scale: float32 (n,); bias: float32 (n,) or None.
    If the int8 path changed since packing (``set_isa``), the result is still linear_int8's,
    packing per call: pack again (``QuantizedLinear`` does so by itself).
    """
    return backend(x=x, w_scale=w_scale, bias=bias).linear_int8_packed(x, packed, w_scale, bias)


def conv2d_int8(x: np.ndarray, packed: _core.PackedInt8Weight, w_scale: np.ndarray,
                bias: np.ndarray | None = None, stride: IntPair = 1, padding: IntPair = 0,
                dilation: IntPair = 1, relu: bool = False) -> np.ndarray:
    """A dynamically quantised 2-D convolution (groups = 1) with an int8 weight packed once.

    ``x`` is quantised per tensor on the fly (symmetric, ``s_x = max|x| / 127``, as PyTorch's
    dynamic quantisation), the patches are taken from the int8 codes and multiplied by the
    packed ``W`` in int32, and the epilogue rescales, adds the bias and (``relu=True``) clamps:

    ``y[n, o, h, w] = s_x * w_scale[o] * sum_{c,i,j} q(x)[n, c, h*sh - ph + i*dh, w*sw - pw + j*dw]
    * W[o, c, i, j] + bias[o]``, q(x) = 0 outside x (zero padding).

    x: float32 (N, C, H, W), finite, C-contiguous; packed: ``pack_int8_weight(W)`` of a 4-D
    int8 W (O, C, kH, kW), e.g. ``quantize_int8(w.reshape(O, -1), axis=0)[0]`` reshaped;
    w_scale: float32 (O,) > 0; bias: float32 (O,) or None; stride, padding, dilation: an int or
    a pair (as ``torch.nn.functional.conv2d``). Returns float32 (N, O, H_out, W_out). If the
    int8 path changed since packing (``set_isa``), W is packed again for each call.
    """
    # CPU only, as pack_int8_weight: on CUDA arrays the dispatch raises NotImplementedError
    return backend(x=x, w_scale=w_scale, bias=bias).conv2d_int8(
        x, packed, w_scale, bias, _pair(stride, "stride"), _pair(padding, "padding"),
        _pair(dilation, "dilation"), bool(relu))


def to_fp8(x: np.ndarray, fmt: str = "e4m3", saturate: bool = True) -> np.ndarray:
    """float32 -> FP8 codes (uint8, same shape), round to nearest even, subnormals included.

    ``fmt``: ``"e4m3"`` (max 448, no infinity; NaN codes 0x7F/0xFF) or ``"e5m2"`` (max 57344,
    inf 0x7C/0xFC). ``saturate=True`` (the FP8-training mode): a finite value beyond the range
    becomes +-max, an infinity +-448 in E4M3 and stays +-inf in E5M2. ``saturate=False``:
    bit-for-bit ``x.astype(ml_dtypes.float8_e4m3fn / float8_e5m2)`` (overflow gives NaN in E4M3,
    inf in E5M2). NaN stays NaN (sign kept).
    """
    return backend(x=x).to_fp8(x, _fmt(fmt), bool(saturate))


def from_fp8(codes: np.ndarray, fmt: str = "e4m3") -> np.ndarray:
    """FP8 codes (uint8) -> float32, exact (every FP8 value is a float32)."""
    return backend(codes=codes).from_fp8(codes, _fmt(fmt))


def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 codes (uint16): round to nearest even on the upper 16 bits; overflow gives
    inf; NaN becomes the quiet NaN ``sign | 0x7FC0``. Equals ``x.astype(ml_dtypes.bfloat16).view(uint16)``."""
    return backend(x=x).to_bf16(x)


def from_bf16(codes: np.ndarray) -> np.ndarray:
    """bf16 codes (uint16) -> float32, exact (the code shifted into the upper half)."""
    return backend(codes=codes).from_bf16(codes)


def gemm_fp8(a8: np.ndarray, b8: np.ndarray, scale_a: float = 1.0, scale_b: float = 1.0,
             fmt_a: str = "e4m3", fmt_b: str = "e4m3") -> np.ndarray:
    """``C = (scale_a * scale_b) * fp8(A) @ fp8(B)`` in float32.

    a8: uint8 FP8 codes (m, k); b8: (k, n); C-contiguous. The codes are decoded exactly to
    float32 and multiplied with float32 accumulation (the float32 GEMM). Returns float32 (m, n).

    CUDA arrays run on tensor cores with float32 accumulation, by architecture: sm_89 (Ada) runs
    FP8 ``mma.sync`` natively (QMMA, SASS compiled for sm_89); sm_80 has no FP8 tensor cores,
    so the codes are widened exactly to fp16 in registers and HMMA runs; on sm_90 (Hopper) the
    FP8 tensor cores are reachable only through ``wgmma``, which grimoire does not implement,
    so ptxas lowers the FP8 ``mma.sync`` to an fp16 unpack plus HMMA: correct, at fp16 rather
    than FP8 tensor-core throughput. Every path sums exact products in float32.
    """
    return backend(a=a8, b=b8).gemm_fp8(a8, b8, float(scale_a), float(scale_b), _fmt(fmt_a, "fmt_a"),
                                         _fmt(fmt_b, "fmt_b"))


def gemm_bf16(a_u16: np.ndarray, b_u16: np.ndarray) -> np.ndarray:
    """``C = bf16(A) @ bf16(B)`` in float32: a (m, k), b (k, n) uint16 bf16 codes, C-contiguous;
    decoded exactly to float32 and multiplied with float32 accumulation. Returns float32 (m, n).
    CUDA arrays: bf16 tensor cores with float32 accumulation (exact products, float32 sums)."""
    return backend(a=a_u16, b=b_u16).gemm_bf16(a_u16, b_u16)



def linear_bf16(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """bf16 linear layer: ``y = bf16(x) @ bf16(W)^T + bias`` with float32 accumulation,
    ``y[i, j] = sum_k bf16(x[i, k]) * bf16(W[j, k]) + bias[j]``.

    x: (m, k), w: (n, k), each float32 (rounded to nearest even bf16 inside the kernel, once per
    packed panel) or uint16 bf16 codes; bias: float32 (n,) or None. C-contiguous, on the host.
    Returns float32 (m, n). Where the CPU has AVX512_BF16 the products run on ``vdpbf16ps``
    (two bf16 multiply-adds per float32 lane, twice the float32 FMA rate; float32 denormals
    flushed to zero, as the instruction does); elsewhere the rounded operands go through the
    float32 GEMM. The oracle is the float32 product of the bf16-rounded operands.
    """
    # CPU only: on CUDA arrays the dispatch raises NotImplementedError (the GPU's autocast GEMMs
    # take bf16 codes through gemm)
    return backend(x=x, w=w, bias=bias).linear_bf16(x, w, bias)


def pack_bf16_weight(w: np.ndarray) -> _core.PackedBf16Weight:
    """Rounds and packs a weight ``W`` (n, k) once for :func:`linear_bf16_packed`.

    w: float32 or uint16 bf16 codes (n, k), C-contiguous, on the host. The result holds ``W^T``
    in the k-paired bf16 panels of the AVX512_BF16 path (or, elsewhere, W rounded to bf16 as
    float32), so that a layer used many times (skinny decode-time products above all) neither
    rounds nor repacks its weight per call. Immutable (a copy shares it).
    """
    # CPU only: on CUDA arrays the dispatch raises NotImplementedError
    return backend(w=w).pack_bf16_weight(w)


def linear_bf16_packed(x: np.ndarray, packed: _core.PackedBf16Weight,
                       bias: np.ndarray | None = None) -> np.ndarray:
    """:func:`linear_bf16` with a weight packed by :func:`pack_bf16_weight`:
    ``y = bf16(x) @ bf16(W)^T + bias`` (float32 accumulation). x: float32 or uint16 codes (m, k);
    bias: float32 (n,) or None. If the bf16 path changed since packing (``set_isa``), the result
    is linear_bf16's on the weight's bf16 codes, packing per call: pack again."""
    return backend(x=x, bias=bias).linear_bf16_packed(x, packed, bias)

__all__ = ["quantize_int8", "dequantize_int8", "gemm_int8", "linear_int8", "pack_int8_weight",
           "linear_int8_packed", "to_fp8", "from_fp8",
           "to_bf16", "from_bf16", "gemm_fp8", "gemm_bf16", "linear_bf16", "pack_bf16_weight",
           "linear_bf16_packed"]
