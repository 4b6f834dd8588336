"""Convolution and pooling layers, NCHW (primer 5.2)."""

from __future__ import annotations

import math
from typing import Literal

from ..autograd import Tensor
from ..kernels.conv import IntPair
from . import functional as F
from .linear import uniform
from .module import Module


class Conv2d(Module):
    """2-D cross-correlation; weight (out, in/groups, kh, kw), bias (out,), PyTorch's init.
    ``padding``: an int or pair, "valid" (0) or "same" (output size = input size, stride 1; an
    odd total d (k - 1) puts the extra zero at the bottom/right, as PyTorch)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair | Literal["valid", "same"] = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
    ):
        super().__init__()
        kh, kw = F._pair(kernel_size)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if padding == "same" and F._pair(stride) != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
        self.weight = uniform((out_channels, in_channels // groups, kh, kw), bound)
        self.register_parameter("bias", uniform((out_channels,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        padding = self.padding
        if padding == "valid":
            padding = 0
        elif padding == "same":
            totals = [d * (k - 1) for d, k in zip(F._pair(self.dilation), self.weight.shape[2:], strict=True)]
            padding = tuple(t // 2 for t in totals)
            if any(t % 2 for t in totals):  # the odd zero goes bottom/right
                from .layers_ext import pad

                th, tw = totals
                x = pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2))
                padding = 0
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class MaxPool2d(Module):
    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 dilation: IntPair = 1):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C): the mean over the spatial axes."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(axis=(2, 3))
