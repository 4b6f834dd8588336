"""Vision Transformer (primer 5.4.x, Dosovitskiy et al. 2021): the image cut into patches, each
patch linearly embedded (a strided convolution), a learned class token and position embeddings,
a pre-norm Transformer encoder, and a linear head on the class token."""

from __future__ import annotations

import numpy as np

from .. import autograd as ag
from ..autograd import Tensor
from .containers import ModuleList
from .conv import Conv2d
from .linear import Linear
from .module import Module, Parameter
from .norm import LayerNorm
from .transformer import TransformerEncoderLayer


class ViT(Module):
    """images (B, C, H, W) -> logits (B, num_classes)."""

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        num_classes: int,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_dim: int | None = None,
        channels: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size ({image_size}) must be a multiple of patch_size ({patch_size})")
        n = (image_size // patch_size) ** 2
        self.patch_embed = Conv2d(channels, dim, patch_size, stride=patch_size)
        self.cls_token = Parameter(np.zeros((1, 1, dim), np.float32))
        self.pos_embed = Parameter(ag.rng().standard_normal((1, n + 1, dim), dtype=np.float32) * 0.02)
        self.layers = ModuleList(
            TransformerEncoderLayer(
                dim, heads, mlp_dim or 2 * dim, dropout, "gelu", batch_first=True, norm_first=True
            )
            for _ in range(depth)
        )
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        p = self.patch_embed(x)  # (B, dim, h, w)
        b, d = p.shape[0], p.shape[1]
        p = p.reshape(b, d, -1).transpose(1, 2)  # (B, n, dim)
        cls = self.cls_token.expand(b, 1, d)
        x = ag.cat([cls, p], 1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x[:, 0]))
