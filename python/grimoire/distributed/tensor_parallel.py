"""Tensor parallelism (primer 6.5.5: "divides high dimensional matrices across hardware"), in
Megatron-LM's form.

A :class:`ColumnParallelLinear` splits W (out, in) by rows: rank r computes its slice of the
outputs, ``y_r = x W_r^T + b_r``; its input enters through ``f`` (identity forward, all-reduce of
the input gradient backward). A :class:`RowParallelLinear` splits W by columns: rank r multiplies
its slice of the input, and ``g`` all-reduces the partial products forward (identity backward)
before the bias. Column then Row gives an MLP with one all-reduce forward and one backward
(:class:`ParallelMLP`); attention splits its heads the same way (:class:`ParallelMultiheadAttention`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import autograd as ag
from ..autograd import Tensor
from ..nn import functional as F
from ..nn.linear import Linear
from ..nn.module import Module, Parameter
from .comm import ProcessGroup, init

if TYPE_CHECKING:
    from ..nn.attention import MultiheadAttention


def _all_reduced(a: np.ndarray, group: ProcessGroup) -> np.ndarray:
    out = np.ascontiguousarray(a, dtype=np.float32).copy()
    group.all_reduce(out, "sum")
    return out


def copy_to_tensor_parallel(x: Tensor, group: ProcessGroup) -> Tensor:
    """Megatron's ``f``: identity forward; backward all-reduces the gradient (each rank's slice
    of the layer contributed a part of dL/dx)."""
    return Tensor._make(x.data, (x,), lambda g: (_all_reduced(g, group),), "tp_copy")


def reduce_from_tensor_parallel(x: Tensor, group: ProcessGroup) -> Tensor:
    """Megatron's ``g``: forward sums the ranks' partial results; backward is the identity."""
    return Tensor._make(_all_reduced(x.data, group), (x,), lambda g: (g,), "tp_reduce")


def gather_from_tensor_parallel(x: Tensor, group: ProcessGroup) -> Tensor:
    """Concatenate the ranks' slices of the last axis; backward keeps this rank's slice."""
    local = np.ascontiguousarray(x.data, dtype=np.float32)
    parts = np.empty((group.size,) + local.shape, np.float32)
    group.all_gather(parts, local)
    full = np.concatenate(list(parts), axis=-1)
    n, r = local.shape[-1], group.rank
    return Tensor._make(
        full, (x,), lambda g: (np.ascontiguousarray(g[..., r * n : (r + 1) * n]),), "tp_gather"
    )


def _split(n: int, group: ProcessGroup, what: str) -> int:
    if n % group.size:
        raise ValueError(f"{what} ({n}) must be divisible by the tensor-parallel world size {group.size}")
    return n // group.size


class ColumnParallelLinear(Module):
    """``y = x W^T + b`` with W (out, in) split by rows across the group: this rank holds
    weight (out / world, in) and bias (out / world,). The output is this rank's slice of y
    (``gather_output=True`` concatenates the slices)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        gather_output: bool = False,
        process_group: ProcessGroup | None = None,
    ):
        super().__init__()
        group = process_group or init()
        object.__setattr__(self, "group", group)
        self.in_features, self.out_features, self.gather_output = in_features, out_features, gather_output
        local = _split(out_features, group, "out_features")
        proto = Linear(in_features, local, bias=bias)
        self.weight = proto.weight
        self.register_parameter("bias", proto.bias)

    @classmethod
    def from_linear(
        cls,
        linear: Linear,
        process_group: ProcessGroup | None = None,
        gather_output: bool = False,
        rows: np.ndarray | None = None,
    ) -> ColumnParallelLinear:
        """This rank's slice of an existing Linear (``rows``: which output rows, default the
        r-th contiguous block)."""
        group = process_group or init()
        out, inp = linear.weight.shape
        layer = cls(inp, out, linear.bias is not None, gather_output, group)
        if rows is None:
            n = out // group.size
            rows = np.arange(group.rank * n, (group.rank + 1) * n)
        layer.weight.data = np.ascontiguousarray(linear.weight.data[rows])
        if linear.bias is not None:
            layer.bias.data = np.ascontiguousarray(linear.bias.data[rows])
        return layer

    def forward(self, x: Tensor) -> Tensor:
        y = F.linear(copy_to_tensor_parallel(x, self.group), self.weight, self.bias)
        return gather_from_tensor_parallel(y, self.group) if self.gather_output else y


class RowParallelLinear(Module):
    """``y = x W^T + b`` with W (out, in) split by columns: this rank holds weight
    (out, in / world) and multiplies its slice of x (``input_is_parallel=True``: x is already
    that slice, as a ColumnParallelLinear leaves it); the partial products are summed across
    the group, then the (whole, replicated) bias is added."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        input_is_parallel: bool = True,
        process_group: ProcessGroup | None = None,
    ):
        super().__init__()
        group = process_group or init()
        object.__setattr__(self, "group", group)
        self.in_features, self.out_features, self.input_is_parallel = (
            in_features,
            out_features,
            input_is_parallel,
        )
        local = _split(in_features, group, "in_features")
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(ag.rng().uniform(-bound, bound, (out_features, local)).astype(np.float32))
        self.register_parameter(
            "bias",
            Parameter(ag.rng().uniform(-bound, bound, out_features).astype(np.float32)) if bias else None,
        )

    @classmethod
    def from_linear(
        cls, linear: Linear, process_group: ProcessGroup | None = None, cols: np.ndarray | None = None
    ) -> RowParallelLinear:
        group = process_group or init()
        out, inp = linear.weight.shape
        layer = cls(inp, out, linear.bias is not None, True, group)
        if cols is None:
            n = inp // group.size
            cols = np.arange(group.rank * n, (group.rank + 1) * n)
        layer.weight.data = np.ascontiguousarray(linear.weight.data[:, cols])
        if linear.bias is not None:
            layer.bias.data = linear.bias.data.copy()
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if not self.input_is_parallel:
            n, r = self.weight.shape[1], self.group.rank
            x = x[..., r * n : (r + 1) * n]
        y = reduce_from_tensor_parallel(F.linear(x, self.weight), self.group)
        return y + self.bias if self.bias is not None else y


class ParallelMLP(Module):
    """``fc2(act(fc1(x)))`` with fc1 column-parallel and fc2 row-parallel: the hidden layer is
    split across the group, one all-reduce forward (after fc2) and one backward (into x)."""

    def __init__(
        self,
        d_model: int,
        d_hidden: int,
        activation: str = "gelu",
        bias: bool = True,
        process_group: ProcessGroup | None = None,
    ):
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation must be 'gelu' or 'relu', got {activation!r}")
        group = process_group or init()
        self.activation = activation
        self.fc1 = ColumnParallelLinear(d_model, d_hidden, bias, process_group=group)
        self.fc2 = RowParallelLinear(d_hidden, d_model, bias, process_group=group)

    @classmethod
    def from_linears(
        cls, fc1: Linear, fc2: Linear, activation: str = "gelu", process_group: ProcessGroup | None = None
    ) -> ParallelMLP:
        group = process_group or init()
        mlp = cls(fc1.in_features, fc1.out_features, activation, fc1.bias is not None, group)
        mlp.fc1 = ColumnParallelLinear.from_linear(fc1, group)
        mlp.fc2 = RowParallelLinear.from_linear(fc2, group)
        return mlp

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc1(x)
        h = h.gelu() if self.activation == "gelu" else h.relu()
        return self.fc2(h)


class ParallelMultiheadAttention(Module):
    """Self-attention (batch-first (B, T, E)) with its heads split across the group: the packed
    Q/K/V projection is column-parallel (this rank's heads of each of Q, K and V), attention runs
    on the local heads, and the output projection is row-parallel."""

    def __init__(
        self, embed_dim: int, num_heads: int, bias: bool = True, process_group: ProcessGroup | None = None
    ):
        super().__init__()
        group = process_group or init()
        object.__setattr__(self, "group", group)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.local_heads = _split(num_heads, group, "num_heads")
        self.qkv = ColumnParallelLinear(embed_dim, 3 * embed_dim, bias, process_group=group)
        self.out_proj = RowParallelLinear(embed_dim, embed_dim, bias, process_group=group)

    @classmethod
    def from_multihead_attention(
        cls, mha: MultiheadAttention, process_group: ProcessGroup | None = None
    ) -> ParallelMultiheadAttention:
        """This rank's heads of a grimoire.nn.MultiheadAttention (packed in_proj_weight [Q; K; V])."""
        group = process_group or init()
        e, h = mha.embed_dim, mha.num_heads
        layer = cls(e, h, mha.in_proj_bias is not None, group)
        d, lh = e // h, layer.local_heads
        own = np.arange(group.rank * lh * d, (group.rank + 1) * lh * d)
        rows = np.concatenate([own, own + e, own + 2 * e])  # this rank's heads of Q, K and V
        packed = Linear(e, 3 * e, bias=mha.in_proj_bias is not None)
        packed.weight.data = mha.in_proj_weight.data
        if mha.in_proj_bias is not None:
            packed.bias.data = mha.in_proj_bias.data
        layer.qkv = ColumnParallelLinear.from_linear(packed, group, rows=rows)
        layer.out_proj = RowParallelLinear.from_linear(mha.out_proj, group, cols=own)
        return layer

    def forward(self, x: Tensor, is_causal: bool = False) -> Tensor:
        b, t, _ = x.shape
        local = self.local_heads * self.head_dim
        q, k, v = F.split(self.qkv(x), [local, local, local], -1)
        q, k, v = (z.reshape(b, t, self.local_heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
        return self.out_proj(o.transpose(1, 2).reshape(b, t, local))
