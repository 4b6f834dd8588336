"""Convolution kernels (primer 5.2.1): cross-correlation as CNN layers compute it.

``y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, g*C_in/G + c, i*s - pad + p*d, j*s - pad + q*d]``

The kernel slides over the image without being flipped (PyTorch's ``F.conv2d``); the true,
flipped convolution of linear algebra is :func:`grimoire.linalg.convolve2d`. The core lowers the
convolution onto the GEMM (im2col of tiles of output pixels; a 1x1 convolution is a plain GEMM).
"""

from __future__ import annotations

import numpy as np

from ._device import backend

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (the core checks the values)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _single(value: int | tuple[int], name: str) -> int:
    """An int or a 1-tuple of an int, for the 1-D convolution."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{name} must be an int or a 1-tuple of an int, got {value!r}")


def _groups(groups: int) -> int:
    if isinstance(groups, (int, np.integer)) and not isinstance(groups, bool):
        return int(groups)
    raise TypeError(f"groups must be an int, got {groups!r}")


def _needs(needs_input_grad: tuple[bool, bool, bool]) -> tuple[bool, bool, bool]:
    if not (isinstance(needs_input_grad, (tuple, list)) and len(needs_input_grad) == 3):
        raise TypeError(f"needs_input_grad must be 3 bools (x, w, b), got {needs_input_grad!r}")
    return tuple(bool(v) for v in needs_input_grad)  # type: ignore[return-value]


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution (cross-correlation) of a batch of images, as ``torch.nn.functional.conv2d``.

    ``y[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] * x[n, g*C_in/G + c, i*sh-ph + p*dh, j*sw-pw + q*dw]``,
    the input read as zero outside the image, ``g`` the group of output channel ``o``.

    Parameters
    ----------
    x : (N, C_in, H, W) float32, C-contiguous
    w : (C_out, C_in/groups, KH, KW) float32, C-contiguous
    b : (C_out,) float32 or None
    stride, padding, dilation : int or (int, int)
        Step of the window, zeros added on each side, spacing of the kernel taps.
    groups : int
        C_in and C_out split into ``groups`` independent convolutions (``groups == C_in``:
        depthwise).

    Returns
    -------
    y : (N, C_out, OH, OW) float32, ``OH = (H + 2 ph - dh (KH - 1) - 1) // sh + 1`` (likewise OW)

    CUDA arrays run as an implicit GEMM on the GPU: float32 on the CUDA cores, or bf16 x and w
    (uint16 bits) on the tensor cores with float32 accumulation; y (and b) are float32 either way.
    """
    return backend(x=x, w=w, b=b).conv2d(x, w, b, _pair(stride, "stride"), _pair(padding, "padding"),
                                          _pair(dilation, "dilation"), _groups(groups))


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    needs_input_grad: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`conv2d`: ``(grad_x, grad_w, grad_b)`` given ``grad_out = dL/dy``.

    ``grad_w = grad_out @ im2col(x)^T`` (summed over the batch), ``grad_x = col2im(w^T @ grad_out)``,
    ``grad_b = grad_out`` summed over (n, i, j).

    Parameters
    ----------
    grad_out : (N, C_out, OH, OW) float32, the shape :func:`conv2d` returns
    x, w, stride, padding, dilation, groups : as given to :func:`conv2d`
    needs_input_grad : (bool, bool, bool)
        Which of (grad_x, grad_w, grad_b) to compute; the others come back as None (a first
        layer needs no grad_x).

    Returns
    -------
    grad_x : (N, C_in, H, W) or None
    grad_w : (C_out, C_in/groups, KH, KW) or None
    grad_b : (C_out,) or None

    CUDA arrays: as :func:`conv2d`; with bf16 x and w, grad_out is bf16 too and the gradients are
    float32. Deterministic on both devices.
    """
    nx, nw, nb = _needs(needs_input_grad)
    return tuple(backend(grad_out=grad_out, x=x, w=w).conv2d_backward(
        grad_out, x, w, _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation"),
        _groups(groups), nx, nw, nb))


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    """(N, C, L) -> (N, C, 1, L) as a view (never a copy), in the array's own library: a NumPy
    or CuPy array, or any array (array-API, DLPack) that indexes with ``None``."""
    ndim = getattr(a, "ndim", None)
    if ndim is None or not hasattr(a, "__getitem__"):
        raise TypeError(f"{name} must be an array (numpy.ndarray, a CUDA array), got {type(a).__name__}")
    if ndim != 3:
        raise ValueError(f"{name} must have 3 dimensions, got {ndim} (shape {tuple(a.shape)})")
    return a[:, :, None, :]


def conv1d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> np.ndarray:
    """1-D convolution (cross-correlation) over sequences, as ``torch.nn.functional.conv1d``.

    ``y[n, o, i] = b[o] + sum_{c,q} w[o, c, q] * x[n, g*C_in/G + c, i*s - pad + q*d]``: the 2-D
    convolution with H = KH = 1.

    Parameters
    ----------
    x : (N, C_in, L) float32;  w : (C_out, C_in/groups, K) float32;  b : (C_out,) or None

    Returns
    -------
    y : (N, C_out, OL) float32, ``OL = (L + 2 pad - d (K - 1) - 1) // s + 1``

    CUDA arrays run on the GPU's conv2d (as :func:`conv2d`), the result on the same device.
    """
    x4, w4 = _as_2d(x, "x"), _as_2d(w, "w")
    y = backend(x=x4, w=w4, b=b).conv2d(x4, w4, b, (1, _single(stride, "stride")),
                                        (0, _single(padding, "padding")), (1, _single(dilation, "dilation")),
                                        _groups(groups))
    return y[:, :, 0, :]


def conv1d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    needs_input_grad: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`conv1d`: ``(grad_x, grad_w, grad_b)``; grad_out is (N, C_out, OL).

    Shapes as for :func:`conv2d_backward` with the height dimension dropped; entries not asked for
    in ``needs_input_grad`` are None.
    """
    nx, nw, nb = _needs(needs_input_grad)
    g4, x4, w4 = _as_2d(grad_out, "grad_out"), _as_2d(x, "x"), _as_2d(w, "w")
    dx, dw, db = backend(grad_out=g4, x=x4, w=w4).conv2d_backward(
        g4, x4, w4, (1, _single(stride, "stride")), (0, _single(padding, "padding")),
        (1, _single(dilation, "dilation")), _groups(groups), nx, nw, nb)
    return (None if dx is None else dx[:, :, 0, :], None if dw is None else dw[:, :, 0, :], db)
