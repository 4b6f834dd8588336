"""Linear layers: ``Linear``, ``Identity``, ``Flatten``, ``Embedding`` (primer 5.1)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import autograd as ag
from ..autograd import Tensor, TensorLike
from . import functional as F
from .module import Module, Parameter


def uniform(shape: int | tuple[int, ...], bound: float) -> Parameter:
    """U(-bound, bound) parameter, drawn from the generator seeded by ``grimoire.manual_seed``."""
    return Parameter(ag.rng().uniform(-bound, bound, shape).astype(np.float32))


class Linear(Module):
    """y = x W^T + b; weight (out_features, in_features), bias (out_features,).

    Initialised as PyTorch does: U(-1/sqrt(in), 1/sqrt(in)) for both.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = uniform((out_features, in_features), bound)
        self.register_parameter("bias", uniform((out_features,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flatten axes ``start_dim`` .. ``end_dim`` (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)


class Embedding(Module):
    """A lookup table: integer ids (any shape) -> rows of weight (num_embeddings, embedding_dim),
    initialised N(0, 1) as in PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(ag.rng().standard_normal((num_embeddings, embedding_dim), dtype=np.float32))

    def forward(self, idx: TensorLike) -> Tensor:
        return F.embedding(idx, self.weight)
