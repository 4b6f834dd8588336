"""Graph neural networks (primer 7.4): message passing as differentiable layers.

    h_v^(k) = UPDATE^(k)( h_v^(k-1), AGGREGATE^(k)({ h_u^(k-1) : u in N(v) }) )

AGGREGATE is a sparse product with a fixed propagation matrix (:class:`NormalizedAdjacency`),
run by the core's CSR kernel forward and, with the transpose, backward. The layers are
``grimoire.nn`` modules, so they train with ``grimoire.optim`` like any other.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor
from ..nn import functional as F
from .graph import NormalizedAdjacency


def aggregate(adjacency: NormalizedAdjacency, x: Tensor) -> Tensor:
    """A_hat @ X for a node-feature Tensor X (n_nodes, features); d/dX = A_hat^T @ dY."""
    if x.data.ndim != 2 or x.data.shape[0] != adjacency.n_nodes:
        raise ValueError(f"x must be (n_nodes={adjacency.n_nodes}, features), got {x.data.shape}")
    data = np.ascontiguousarray(x.data, dtype=np.float32)

    def backward(g):
        return (adjacency.matmul(np.ascontiguousarray(g, dtype=np.float32), transpose=True),)

    return Tensor._make(adjacency.matmul(data), (x,), backward, "aggregate")


class GCNConv(nn.Module):
    """Graph convolution (Kipf & Welling): H' = A_hat H W^T + b, A_hat = D^-1/2 (A + I) D^-1/2.

    The AGGREGATE is the normalised neighbourhood sum, the UPDATE a shared linear map. Weight
    (out_features, in_features) as ``nn.Linear``; the linear map runs before the aggregation
    (the same result, and cheaper when out_features < in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.register_parameter("bias", nn.Parameter(np.zeros(out_features, np.float32)) if bias else None)

    def forward(self, x: Tensor, adjacency: NormalizedAdjacency) -> Tensor:
        out = aggregate(adjacency, self.lin(x))
        return out + self.bias if self.bias is not None else out


class SAGEConv(nn.Module):
    """GraphSAGE with the mean aggregator: h_v' = W_self h_v + W_neigh mean_{u in N(v)} h_u + b.

    Pass the ``NormalizedAdjacency(graph, "mean", self_loops=False)`` of the graph."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.lin_self = nn.Linear(in_features, out_features)
        self.lin_neigh = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x: Tensor, adjacency: NormalizedAdjacency) -> Tensor:
        return self.lin_self(x) + self.lin_neigh(aggregate(adjacency, x))


class GCN(nn.Module):
    """Two GCN layers with a ReLU and dropout between them: node features -> class logits."""

    def __init__(self, in_features: int, hidden: int, n_classes: int, dropout: float = 0.5):
        super().__init__()
        self.conv1 = GCNConv(in_features, hidden)
        self.conv2 = GCNConv(hidden, n_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, adjacency: NormalizedAdjacency) -> Tensor:
        h = F.relu(self.conv1(x, adjacency))
        return self.conv2(self.dropout(h), adjacency)
