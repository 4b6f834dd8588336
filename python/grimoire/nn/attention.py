"""Multi-head attention (primer 5.4) with PyTorch's parameter names (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), bidirectional or causal, and a KV cache
for autoregressive generation.
"""

from __future__ import annotations

import math

import array_api_compat
import numpy as np

from .. import autograd as ag
from ..autograd import Array, Tensor, TensorLike
from . import functional as F
from .linear import Linear, uniform
from .module import Module, Parameter


class KVCache:
    """Keys and values of the tokens seen so far, per attention layer, (B, H, T, D) each.

    A decode step appends its new keys/values and attends over all of them; with the
    bottom-right causal alignment, the T new queries see the cache plus themselves.

    The keys and values live in preallocated buffers (B, H, capacity, D) in the namespace and
    on the device of the first keys: a step writes its T new positions in place and
    :meth:`extend` returns views of the live part, ``buffer[:, :, :len]`` (the attention kernels
    read any strides but the last, so nothing is copied). When a step would overflow, the
    capacity doubles (at least to what the step needs), so n decode steps copy O(n) positions in
    all rather than the O(n^2) of concatenating per step.

    Parameters
    ----------
    capacity : int
        Positions to allocate at the first :meth:`extend` (default 0: just what it brings; a
        generator that knows prompt + new tokens passes that and never grows).
    """

    def __init__(self, capacity: int = 0) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValueError(f"capacity must be a non-negative int, got {capacity!r}")
        self.capacity = capacity
        self._k = None  # buffers (B, H, capacity, D)
        self._v = None
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def k(self) -> Array | None:
        """The cached keys (B, H, len, D): a view of the buffer, or None before the first step."""
        return None if self._k is None else self._k[:, :, : self._len, :]

    @property
    def v(self) -> Array | None:
        """The cached values (B, H, len, D): a view of the buffer, or None before the first step."""
        return None if self._v is None else self._v[:, :, : self._len, :]

    def extend(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append ``k``, ``v`` (B, H, T, D) and return all cached keys and values (B, H, len, D),
        views of the buffers (no graph: the cache is for inference)."""
        kd, vd = k.data, v.data
        if kd.shape != vd.shape or kd.ndim != 4:
            raise ValueError(f"k and v must have the same (B, H, T, D) shape, got {kd.shape} and {vd.shape}")
        end = self._len + kd.shape[2]
        if self._k is not None and (kd.shape[:2] != self._k.shape[:2] or kd.shape[3] != self._k.shape[3]):
            raise ValueError(
                f"k of shape {kd.shape} does not continue the cache of (B, H, D) = "
                f"{self._k.shape[:2] + self._k.shape[3:]}"
            )
        if self._k is None or end > self._k.shape[2]:
            cap = max(end, self.capacity, 2 * (0 if self._k is None else self._k.shape[2]))
            self._k, self._v = self._grow(self._k, kd, cap), self._grow(self._v, vd, cap)
        live = (slice(None), slice(None), slice(self._len, end), slice(None))
        self._k[live] = kd
        self._v[live] = vd
        self._len = end
        return Tensor._make(self.k, (), None), Tensor._make(self.v, (), None)

    def _grow(self, old, new, cap: int):
        """A (B, H, cap, D) buffer like ``new`` holding the live part of ``old``."""
        xp = ag._ns(new)
        shape = new.shape[:2] + (cap,) + new.shape[3:]
        buf = xp.empty(shape, dtype=new.dtype, device=array_api_compat.device(new))
        if old is not None and self._len:
            buf[:, :, : self._len, :] = old[:, :, : self._len, :]
        return buf


class MultiheadAttention(Module):
    """softmax(Q K^T / sqrt(d) + mask) V over ``num_heads`` heads, then ``out_proj``.

    ``batch_first`` as in PyTorch (default False: (T, B, E)). ``attn_mask``: boolean where True
    means *masked out* (PyTorch's MultiheadAttention convention) or an additive float mask;
    ``key_padding_mask`` (B, S), True = padding. ``is_causal``: each query sees only earlier
    keys (bottom-right aligned, so it also holds with a KV cache). Attention dropout, when
    training, is applied to the attention's output rather than to the probabilities, because the
    fused kernel never materialises them.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
    ):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = (
            embed_dim,
            num_heads,
            dropout,
            batch_first,
        )
        self.head_dim = embed_dim // num_heads
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))  # xavier_uniform on (3E, E), as torch
        self.in_proj_weight = uniform((3 * embed_dim, embed_dim), bound)
        self.register_parameter(
            "in_proj_bias", Parameter(np.zeros(3 * embed_dim, np.float32)) if bias else None
        )
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if bias:
            self.out_proj.bias.data[...] = 0.0

    def _heads(self, x: Tensor) -> Tensor:  # (B, T, E) -> (B, H, T, D)
        b, t, _ = x.shape
        return x.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        key_padding_mask: TensorLike | None = None,
        need_weights: bool = False,
        attn_mask: TensorLike | None = None,
        is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> tuple[Tensor, Array | None]:
        """Returns (output, weights averaged over heads or None)."""
        key = query if key is None else key
        value = key if value is None else value
        packed = key is query and value is query  # self-attention: one (3E, E) projection
        if not self.batch_first:  # one transpose per distinct tensor: identities survive it
            seq_first = {id(t): t.transpose(0, 1) for t in (query, key, value)}
            query, key, value = seq_first[id(query)], seq_first[id(key)], seq_first[id(value)]
        e = self.embed_dim
        w, bias = self.in_proj_weight, self.in_proj_bias
        if packed:
            qkv = F.linear(query, w, bias)
            q, k, v = F.split(qkv, [e, e, e], -1)
        else:
            bq = bk = bv = None
            if bias is not None:
                bq, bk, bv = bias[:e], bias[e : 2 * e], bias[2 * e :]
            q = F.linear(query, w[:e], bq)
            k = F.linear(key, w[e : 2 * e], bk)
            v = F.linear(value, w[2 * e :], bv)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if cache is not None:
            k, v = cache.extend(k, v)
        mask = self._merge_masks(attn_mask, key_padding_mask, q.shape[0], k.shape[2], q.data)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        b, _, t, _ = o.shape
        o = o.transpose(1, 2).reshape(b, t, e)
        if self.dropout and self.training:
            o = F.dropout(o, self.dropout, True)
        out = self.out_proj(o)
        weights = None
        if need_weights:
            weights = self._weights(q.data, k.data, mask, is_causal)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    @staticmethod
    def _merge_masks(attn_mask, key_padding_mask, batch: int, s: int, like):
        """To the kernel's convention: boolean True = attend, or additive float, (B|1, 1|H, T, S),
        in the namespace of ``like`` (the query's data)."""
        xp = ag._ns(like)

        def convention(m):  # torch's masks say True = ignore: flip booleans, floats stay additive
            m = ag._arr(m, like=like)
            return ~m if m.dtype == xp.bool else xp.astype(m, xp.float32)

        def additive(m):
            return xp.where(m, 0.0, -math.inf) if m.dtype == xp.bool else m

        mask = None if attn_mask is None else convention(attn_mask)
        if key_padding_mask is not None:
            kp = xp.reshape(convention(key_padding_mask), (batch, 1, 1, s))
            if mask is None:
                mask = kp
            elif mask.dtype == xp.bool and kp.dtype == xp.bool:
                mask = mask & kp
            else:
                mask = additive(mask) + additive(kp)
        return mask

    @staticmethod
    def _weights(q, k, mask, is_causal):
        """The attention weights averaged over heads (B, Tq, Tk), in q's namespace."""
        xp = ag._ns(q)
        s = xp.matmul(q, xp.matrix_transpose(k)) / math.sqrt(q.shape[-1])
        tq, tk = s.shape[-2:]
        if is_causal:
            s = xp.where(xp.arange(tk)[None, :] <= xp.arange(tq)[:, None] + tk - tq, s, -math.inf)
        if mask is not None:
            s = xp.where(mask, s, -math.inf) if mask.dtype == xp.bool else s + mask
        p = xp.exp(s - xp.max(s, axis=-1, keepdims=True))
        p /= xp.sum(p, axis=-1, keepdims=True)
        return xp.mean(p, axis=1)
