"""Linear attention (primer 5.4.5): attention whose cost grows linearly with the sequence.

Softmax attention compares every query with every key (time O(T^2 d)). Replacing
exp(q . k) by a kernel phi(q) . phi(k) with a positive feature map phi(x) = elu(x) + 1 lets the
sum over keys be taken once: out_i = phi(q_i)' (sum_j phi(k_j) v_j') / (phi(q_i)' sum_j phi(k_j)),
so time is O(T d e) and memory O(d e) per head; the causal form keeps the two sums as running
prefix sums, an RNN over the sequence (Katharopoulos et al. 2020).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _array
from ..autograd import Tensor, _wrap
from ..kernels import linear_attention as _linear_attention
from ..kernels import linear_attention_backward as _linear_attention_backward
from . import functional as F
from .linear import Linear, uniform
from .module import Module, Parameter


def linear_attention(q: Tensor, k: Tensor, v: Tensor, is_causal: bool = False, eps: float = 1e-6) -> Tensor:
    """phi(q_i)' S_i / (phi(q_i)' z_i + eps), phi = elu + 1, q (..., Tq, d), k (..., Tk, d),
    v (..., Tk, e) -> (..., Tq, e); S_i, z_i sum phi(k_j) v_j' and phi(k_j) over every key, or
    over keys 0 .. Tk - Tq + i when ``is_causal``. Forward and backward run in the core."""
    xp = _array.namespace(q.data, k.data, v.data)
    qd, kd, vd = (_array.ascontiguous(xp, t.data) for t in (q, k, v))
    out = _wrap(xp, _linear_attention(qd, kd, vd, causal=is_causal, eps=eps))

    def backward(g):
        grads = _linear_attention_backward(_array.ascontiguous(xp, g), qd, kd, vd, causal=is_causal, eps=eps)
        return tuple(_wrap(xp, a) for a in grads)

    return Tensor._make(out, (q, k, v), backward, "linear_attention")


class LinearAttention(Module):
    """Multi-head linear attention with MultiheadAttention's parameters (``in_proj_weight``
    (3E, E), ``in_proj_bias``, ``out_proj``), batch first: ``forward(x)`` for x (B, T, E)
    returns (B, T, E). ``is_causal`` makes position i see positions <= i only."""

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, eps: float = 1e-6):
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be a positive multiple of num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads, self.eps = embed_dim, num_heads, eps
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = uniform((3 * embed_dim, embed_dim), math.sqrt(6.0 / (4 * embed_dim)))
        in_bias = Parameter(np.zeros(3 * embed_dim, np.float32)) if bias else None
        self.register_parameter("in_proj_bias", in_bias)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x: Tensor, is_causal: bool = False) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"x must have shape (batch, length, {self.embed_dim}), got {tuple(x.shape)}")
        b, t, e = x.shape
        q, k, v = F.split(F.linear(x, self.in_proj_weight, self.in_proj_bias), [e, e, e], -1)
        heads = [z.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2) for z in (q, k, v)]
        o = linear_attention(*heads, is_causal=is_causal, eps=self.eps)
        return self.out_proj(o.transpose(1, 2).reshape(b, t, e))
