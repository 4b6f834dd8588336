"""Pooling kernels (primer 5.2.2): max and average over windows of each channel.

Windows of ``kernel_size`` step by ``stride`` (default: the kernel size, non-overlapping) over the
input padded by ``padding`` on each side; the output size is ``(H + 2 pad - k) // stride + 1``
(floor mode), as in ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``.
"""

from __future__ import annotations

import numpy as np

from ._device import backend
from .conv import IntPair, _pair


def _stride(stride: IntPair | None, kernel: tuple[int, int]) -> tuple[int, int]:
    return kernel if stride is None else _pair(stride, "stride")


def _shape(input_shape: tuple[int, ...]) -> list[int]:
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in input_shape
    ):
        raise TypeError(f"input_shape must be a tuple of ints (N, C, H, W), got {input_shape!r}")
    return [int(d) for d in input_shape]


def max_pool2d(
    x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling: ``y[n, c, i, j] = max`` of x over the window of (i, j), padding read as -inf.

    Parameters
    ----------
    x : (N, C, H, W) float32, C-contiguous
    kernel_size, stride, padding : int or (int, int); stride defaults to kernel_size and
        padding may be at most half the kernel size

    Returns
    -------
    out : (N, C, OH, OW) float32
    indices : (N, C, OH, OW) int64, the flat position ``ih * W + iw`` of each maximum within its
        plane (PyTorch's ``return_indices=True``); the first one wins ties, a NaN propagates.
    """
    k = _pair(kernel_size, "kernel_size")
    return tuple(backend(x=x).max_pool2d(x, k, _stride(stride, k), _pair(padding, "padding")))


def max_pool2d_backward(
    grad_out: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: each ``grad_out`` entry flows to its window's maximum.

    ``grad_x[n, c].flat[indices[n, c, i, j]] += grad_out[n, c, i, j]``; grad_out and indices are
    (N, C, OH, OW), ``input_shape`` is x's (N, C, H, W); returns grad_x of that shape.
    """
    module = backend(grad_out=grad_out, indices=indices)
    return module.max_pool2d_backward(grad_out, indices, _shape(input_shape))


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average pooling: ``y[n, c, i, j] = sum of x over the window / divisor``.

    The divisor is ``KH * KW`` with ``count_include_pad`` (padding counts as zeros), else the
    number of in-image values in the window.

    Parameters
    ----------
    x : (N, C, H, W) float32, C-contiguous
    kernel_size, stride, padding : int or (int, int); stride defaults to kernel_size

    Returns
    -------
    out : (N, C, OH, OW) float32
    """
    k = _pair(kernel_size, "kernel_size")
    return backend(x=x).avg_pool2d(x, k, _stride(stride, k), _pair(padding, "padding"),
                                   bool(count_include_pad))


def avg_pool2d_backward(
    grad_out: np.ndarray,
    input_shape: tuple[int, ...],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: each ``grad_out`` entry spread as ``g / divisor`` over its
    window. grad_out is (N, C, OH, OW); returns grad_x of ``input_shape`` (N, C, H, W)."""
    k = _pair(kernel_size, "kernel_size")
    module = backend(grad_out=grad_out)
    return module.avg_pool2d_backward(grad_out, _shape(input_shape), k, _stride(stride, k),
                                      _pair(padding, "padding"), bool(count_include_pad))
