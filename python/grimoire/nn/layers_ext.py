"""Layers users reach for beyond the basics (issue 13), with PyTorch's names and semantics:
activations (LeakyReLU, ELU, Mish), losses (KLDivLoss, BCELoss, HuberLoss, SmoothL1Loss),
padding, adaptive average pooling, up-sampling (nearest, bilinear), GroupNorm, Conv1d and
ConvTranspose2d.

Written on Tensor operations and the array-API namespace of the data (``xp``), so they run
wherever the Tensor's data lives; the convolutions call the core's conv kernels (ConvTranspose2d
is the conv's input gradient, its backward the conv forward and weight gradient).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _array
from .._array import namespace
from ..autograd import Tensor, _wrap
from ..kernels import conv1d as _conv1d
from ..kernels import conv1d_backward as _conv1d_backward
from ..kernels import conv2d as _conv2d
from ..kernels import conv2d_backward as _conv2d_backward
from .functional import _reduce, _t
from .linear import uniform
from .module import Module, Parameter


# ------------------------------------------------------------------------ activations
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """max(0, x) + slope * min(0, x)."""
    return x.relu() - (-x).relu() * negative_slope


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise: relu(x) + alpha (exp(min(x, 0)) - 1)."""
    return x.relu() + ((-(-x).relu()).exp() - 1.0) * alpha


def softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) in the stable form max(x, 0) + log(1 + e^-|x|)."""
    return x.relu() + ((-x.abs()).exp() + 1.0).log()


def mish(x: Tensor) -> Tensor:
    """x tanh(softplus(x)) (Misra 2019)."""
    return x * softplus(x).tanh()


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)


class ELU(Module):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return elu(x, self.alpha)


class Mish(Module):
    def forward(self, x: Tensor) -> Tensor:
        return mish(x)


# ------------------------------------------------------------------------ losses
def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """KL(target || q) pointwise, with ``input`` = log q: target (log target - input), 0 where
    target = 0 (PyTorch's kl_div; ``reduction="batchmean"`` divides the sum by the batch size,
    which is the true KL divergence per sample)."""
    t = _t(target)
    if log_target:
        point = t.exp() * (t - input)
    else:
        xp = namespace(t.data)
        positive = t.data > 0
        t_log_t = xp.where(positive, t.data * xp.log(xp.where(positive, t.data, xp.ones_like(t.data))), 0.0)
        point = Tensor(t_log_t) - t * input
    if reduction == "batchmean":
        return point.sum() * (1.0 / input.shape[0])
    return _reduce(point, reduction)


def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """-(t log p + (1 - t) log(1 - p)) on probabilities p, each log clamped at -100, and the gradient
    (p - t) / max(p (1 - p), 1e-12), as PyTorch."""
    t = _t(target)
    p, td = input.data, t.data
    xp = namespace(p)
    if bool(xp.any((p < 0) | (p > 1))):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")

    def clamped_log(a):
        positive = a > 0
        return xp.where(positive, xp.maximum(xp.log(xp.where(positive, a, xp.ones_like(a))), -100.0), -100.0)

    loss = -(td * clamped_log(p) + (1.0 - td) * clamped_log(1.0 - p))

    def backward(g):
        return (g * (p - td) / xp.maximum(p * (1.0 - p), 1e-12),)

    return _reduce(
        Tensor._make(xp.astype(loss, p.dtype), (input,), backward, "binary_cross_entropy"), reduction
    )


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:  # noqa: A002
    """0.5 d^2 for |d| < delta, delta (|d| - delta / 2) beyond, d = input - target: with
    q = min(|d|, delta), loss = q^2 / 2 + delta (|d| - q)."""
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    d = (input - _t(target)).abs()
    q = d.clamp(max=delta)
    return _reduce(q * q * 0.5 + (d - q) * delta, reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:  # noqa: A002
    """0.5 d^2 / beta for |d| < beta, |d| - beta / 2 beyond (Huber with delta = beta, over beta);
    beta = 0 is the L1 loss."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if beta == 0:
        return _reduce((input - _t(target)).abs(), reduction)
    return huber_loss(input, target, reduction, beta) * (1.0 / beta)


class KLDivLoss(Module):
    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__()
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return kl_div(input, target, self.reduction, self.log_target)


class BCELoss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return binary_cross_entropy(input, target, self.reduction)


class HuberLoss(Module):
    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__()
        self.reduction, self.delta = reduction, delta

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(Module):
    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__()
        self.reduction, self.beta = reduction, beta

    def forward(self, input: Tensor, target) -> Tensor:  # noqa: A002
        return smooth_l1_loss(input, target, self.reduction, self.beta)


# ------------------------------------------------------------------------ padding, pooling, resampling
def pad(x: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding as ``torch.nn.functional.pad``: ``pad`` = (left, right) of the last axis,
    then (top, bottom) of the one before, and so on; the gradient is the centre of g."""
    if mode != "constant":
        raise ValueError(f"mode must be 'constant' (the only mode implemented), got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad must have an even length of at most 2 * x.ndim = {2 * x.ndim}, got {len(pad)}")
    if any(int(p) != p or p < 0 for p in pad):
        raise ValueError(f"pad must hold non-negative ints, got {pad}")
    xp = namespace(x.data)
    shape, centre = list(x.shape), [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        centre[axis] = slice(lo, lo + shape[axis])
        shape[axis] += lo + hi
    out = xp.full(tuple(shape), value, dtype=x.data.dtype)
    out[tuple(centre)] = x.data
    return Tensor._make(out, (x,), lambda g: (g[tuple(centre)],), "pad")


def _pool_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Row i averages inputs floor(i n_in / n_out) .. ceil((i + 1) n_in / n_out) - 1 (PyTorch's bins)."""
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _separable(x: Tensor, rows: np.ndarray, cols: np.ndarray) -> Tensor:
    """rows @ x @ cols^T over the last two axes, the matrices moved to x's namespace."""
    xp = namespace(x.data)
    r, c = Tensor(xp.asarray(rows)), Tensor(xp.asarray(cols.T.copy()))
    return r @ x @ c


def _size_pair(size, name: str) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or any(not isinstance(s, int) or s < 1 for s in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {size!r}")
    return pair


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average over the bins [floor(i H / oh), ceil((i + 1) H / oh)) x (the same over W)."""
    oh, ow = _size_pair(output_size, "output_size")
    return _separable(x, _pool_matrix(x.shape[-2], oh), _pool_matrix(x.shape[-1], ow))


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)


def _resample_matrix(n_in: int, n_out: int, mode: str, align_corners: bool) -> np.ndarray:
    m = np.zeros((n_out, n_in), np.float32)
    dst = np.arange(n_out)
    if mode == "nearest":
        m[dst, np.minimum(np.floor(dst * (n_in / n_out)).astype(int), n_in - 1)] = 1.0
        return m
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = np.maximum((dst + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(np.float32)
    np.add.at(m, (dst, i0), 1.0 - w1)
    np.add.at(m, (dst, i1), w1)
    return m


def interpolate(
    x: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None
) -> Tensor:
    """Resize (N, C, H, W) images as ``torch.nn.functional.interpolate`` for mode "nearest"
    (source index floor(i H_in / H_out)) and "bilinear" (half-pixel centres, or corners aligned);
    separable, so it is two small matrix products, and its gradient theirs."""
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {tuple(x.shape)}")
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners only applies to mode='bilinear'")
    h, w = x.shape[-2:]
    if size is not None:
        oh, ow = _size_pair(size, "size")
    else:
        sh, sw = (scale_factor, scale_factor) if np.isscalar(scale_factor) else scale_factor
        if not (sh > 0 and sw > 0):
            raise ValueError(f"scale_factor must be > 0, got {scale_factor}")
        oh, ow = int(math.floor(h * sh)), int(math.floor(w * sw))
    ac = bool(align_corners)
    return _separable(x, _resample_matrix(h, oh, mode, ac), _resample_matrix(w, ow, mode, ac))


class Upsample(Module):
    def __init__(
        self, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None
    ):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)


# ------------------------------------------------------------------------ normalisation
def group_norm(
    x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """(x - mean_g) / sqrt(var_g + eps) over each group of C / G channels (and all positions) of
    each sample, then the per-channel affine weight, bias. x (N, C, *)."""
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"num_channels ({c}) must be divisible by num_groups ({num_groups})")
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(axis=2, keepdims=True)
    centred = g - mean
    var = (centred * centred).mean(axis=2, keepdims=True)
    y = (centred * ((var + eps) ** -0.5)).reshape(*x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(*shape)
    if bias is not None:
        y = y + bias.reshape(*shape)
    return y


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): ``weight`` (C,) ones, ``bias`` (C,) zeros."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.register_parameter("weight", Parameter(np.ones(num_channels, np.float32)) if affine else None)
        self.register_parameter("bias", Parameter(np.zeros(num_channels, np.float32)) if affine else None)

    def forward(self, x: Tensor) -> Tensor:
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


# ------------------------------------------------------------------------ convolutions
def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation, x (N, C_in, L), weight (C_out, C_in / groups, K); the core's kernel."""
    xp = namespace(x.data)
    xd, w = _array.ascontiguous(xp, x.data), _array.ascontiguous(xp, weight.data)
    b = bias.data if bias is not None else None
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _wrap(xp, _conv1d(xd, w, b, **kw))

    def backward(g):
        needs = (x.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        grads = _conv1d_backward(_array.ascontiguous(xp, g), xd, w, needs_input_grad=needs, **kw)
        gx, gw, gb = (None if a is None else _wrap(xp, a) for a in grads)
        return (gx, gw) if bias is None else (gx, gw, gb)

    return Tensor._make(y, (x, weight) if bias is None else (x, weight, bias), backward, "conv1d")


class Conv1d(Module):
    """1-D cross-correlation; weight (out, in/groups, k), bias (out,), PyTorch's init."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
    ):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
                f"by groups ({groups})"
            )
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        bound = 1.0 / math.sqrt(in_channels // groups * kernel_size)
        self.weight = uniform((out_channels, in_channels // groups, kernel_size), bound)
        self.register_parameter("bias", uniform((out_channels,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def conv_transpose2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, output_padding=0, dilation=1
) -> Tensor:
    """The transpose (adjoint) of conv2d: x (N, C_in, H, W), weight (C_in, C_out, KH, KW) ->
    (N, C_out, (H - 1) s - 2 p + d (K - 1) + output_padding + 1, ...). It is conv2d's input
    gradient with x as the output gradient; its own input gradient is conv2d of g, its weight
    gradient conv2d's weight gradient with the roles of x and g swapped."""
    from .functional import _pair

    (sh, sw), (ph, pw), (dh, dw), (oh_pad, ow_pad) = (
        _pair(v) for v in (stride, padding, dilation, output_padding)
    )
    if oh_pad >= max(sh, dh) or ow_pad >= max(sw, dw):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got {output_padding}")
    xp = namespace(x.data)
    xd, w = _array.ascontiguous(xp, x.data), _array.ascontiguous(xp, weight.data)
    if xd.ndim != 4 or w.ndim != 4 or xd.shape[1] != w.shape[0]:
        raise ValueError(
            f"x (N, C_in, H, W) and weight (C_in, C_out, KH, KW) must agree, got {xd.shape} and {w.shape}"
        )
    n, _, h, wd = xd.shape
    oh = (h - 1) * sh - 2 * ph + dh * (w.shape[2] - 1) + oh_pad + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (w.shape[3] - 1) + ow_pad + 1
    kw = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    shape_only = xp.zeros((n, w.shape[1], oh, ow), dtype=xp.float32)  # only its shape is read
    y = _wrap(xp, _conv2d_backward(xd, shape_only, w, needs_input_grad=(True, False, False), **kw)[0])
    if bias is not None:
        y = y + xp.reshape(bias.data, (1, -1, 1, 1))

    def backward(g):
        g = _array.ascontiguous(xp, g)
        gx = _wrap(xp, _conv2d(g, w, None, **kw)) if x.requires_grad else None
        gw = (
            _wrap(xp, _conv2d_backward(xd, g, w, needs_input_grad=(False, True, False), **kw)[1])
            if weight.requires_grad
            else None
        )
        if bias is None:
            return gx, gw
        return gx, gw, xp.sum(g, axis=(0, 2, 3))

    return Tensor._make(y, (x, weight) if bias is None else (x, weight, bias), backward, "conv_transpose2d")


class ConvTranspose2d(Module):
    """Transposed 2-D convolution; weight (in, out, kh, kw), bias (out,), PyTorch's init
    (bound 1 / sqrt(out * kh * kw), from the weight's second axis as torch computes fan-in)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        bias: bool = True,
        dilation=1,
    ):
        super().__init__()
        from .functional import _pair

        kh, kw = _pair(kernel_size)
        self.stride, self.padding, self.output_padding, self.dilation = (
            stride,
            padding,
            output_padding,
            dilation,
        )
        bound = 1.0 / math.sqrt(out_channels * kh * kw)
        self.weight = uniform((in_channels, out_channels, kh, kw), bound)
        self.register_parameter("bias", uniform((out_channels,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.dilation
        )
