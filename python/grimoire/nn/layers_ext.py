"""Layers users reach for beyond the basics (issue 13), with PyTorch's names and semantics:
activations (LeakyReLU, ELU, Mish), losses (KLDivLoss, BCELoss, HuberLoss, SmoothL1Loss),
adaptive average pooling, up-sampling (nearest, bilinear), GroupNorm, Conv1d and
ConvTranspose2d.

Each is a Module over its functional form in :mod:`grimoire.nn.functional` (``F.pad``,
``F.interpolate``, ``F.group_norm``, ``F.kl_div``, ... with torch.nn.functional's names and
signatures), where the forward and backward live; those names are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, TensorLike
from ..kernels.conv import IntPair
from .functional import (
    _no_legacy_reduction,
    _pair,
    adaptive_avg_pool2d,
    binary_cross_entropy,
    conv1d,
    conv_transpose2d,
    elu,
    group_norm,
    huber_loss,
    interpolate,
    kl_div,
    leaky_relu,
    mish,
    pad,
    smooth_l1_loss,
)
from .linear import uniform
from .module import Module, Parameter

__all__ = [
    "ELU", "AdaptiveAvgPool2d", "BCELoss", "Conv1d", "ConvTranspose2d", "GroupNorm", "HuberLoss",
    "KLDivLoss", "LeakyReLU", "Mish", "SmoothL1Loss", "Upsample",
    # the functional forms, defined in nn.functional
    "adaptive_avg_pool2d", "binary_cross_entropy", "conv1d", "conv_transpose2d", "elu", "group_norm",
    "huber_loss", "interpolate", "kl_div", "leaky_relu", "mish", "pad", "smooth_l1_loss",
]


# ------------------------------------------------------------------------ activations
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
class KLDivLoss(Module):
    """:func:`~grimoire.nn.functional.kl_div` as a layer (torch's argument order)."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", log_target: bool = False):
        super().__init__()
        _no_legacy_reduction("KLDivLoss", size_average, reduce)
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(Module):
    """:func:`~grimoire.nn.functional.binary_cross_entropy` as a layer (torch's argument order:
    an optional per-element ``weight`` first)."""

    def __init__(self, weight: TensorLike | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean"):
        super().__init__()
        _no_legacy_reduction("BCELoss", size_average, reduce)
        self.weight, self.reduction = weight, reduction

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class HuberLoss(Module):
    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__()
        self.reduction, self.delta = reduction, delta

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(Module):
    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0):
        super().__init__()
        _no_legacy_reduction("SmoothL1Loss", size_average, reduce)
        self.reduction, self.beta = reduction, beta

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:  # noqa: A002
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


# ------------------------------------------------------------------------ padding, pooling, resampling
class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return adaptive_avg_pool2d(x, self.output_size)


class Upsample(Module):
    def __init__(
        self,
        size: int | tuple[int, int] | None = None,
        scale_factor: float | tuple[float, float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(
            x, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor
        )


# ------------------------------------------------------------------------ normalisation
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


class ConvTranspose2d(Module):
    """Transposed 2-D convolution, :func:`~grimoire.nn.functional.conv_transpose2d` as a layer,
    with torch's arguments in torch's order: weight (in, out / groups, kh, kw), bias (out,), and
    torch's init, uniform in +-1 / sqrt(out / groups * kh * kw) (torch takes the fan-in from the
    weight's second axis)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
    ):
        super().__init__()
        if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
                f"by groups ({groups})"
            )
        kh, kw = _pair(kernel_size)
        self.stride, self.padding, self.output_padding, self.groups, self.dilation = (
            stride,
            padding,
            output_padding,
            groups,
            dilation,
        )
        bound = 1.0 / math.sqrt(out_channels // groups * kh * kw)
        self.weight = uniform((in_channels, out_channels // groups, kh, kw), bound)
        self.register_parameter("bias", uniform((out_channels,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
