"""Convolutional building blocks (primer 5.2.3): the ResNet basic block and a DenseNet block,
with torchvision's key names (``conv1``, ``bn1``, ``downsample.0``; ``denselayer1.norm1``, ...)."""

from __future__ import annotations

from .. import autograd as ag
from ..autograd import Tensor
from .containers import Sequential
from .conv import Conv2d
from .module import Module
from .norm import BatchNorm2d


class BasicBlock(Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is a strided 1x1
    conv + BN when the shape changes (He et al. 2016)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.conv2 = Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = Sequential(Conv2d(inplanes, planes, 1, stride, bias=False), BatchNorm2d(planes))

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn1(self.conv1(x)).relu()
        y = self.bn2(self.conv2(y))
        return (y + (self.downsample(x) if self.downsample is not None else x)).relu()


class DenseLayer(Module):
    """BN-ReLU-Conv1x1 (bottleneck) then BN-ReLU-Conv3x3 producing ``growth_rate`` new maps."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int = 4):
        super().__init__()
        self.norm1 = BatchNorm2d(num_input_features)
        self.conv1 = Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = BatchNorm2d(bn_size * growth_rate)
        self.conv2 = Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.norm2(self.conv1(self.norm1(x).relu())).relu())


class DenseBlock(Module):
    """Each layer sees the concatenation of the block's input and every earlier layer's output
    (Huang et al. 2017): output channels = in + num_layers * growth_rate."""

    def __init__(self, num_layers: int, num_input_features: int, growth_rate: int, bn_size: int = 4):
        super().__init__()
        for i in range(num_layers):
            setattr(
                self,
                f"denselayer{i + 1}",
                DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size),
            )

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for layer in self._modules.values():
            feats.append(layer(ag.cat(feats, 1)))
        return ag.cat(feats, 1)
