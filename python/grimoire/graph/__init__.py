"""``grimoire.graph``: graphs and graph theory (primer 7.3) and graph neural networks (7.4).

:class:`Graph` holds nodes with any hashable labels and (optionally weighted, optionally
directed) edges; traversals and properties are plain Python over adjacency lists, and the hot
loops, random walks for DeepWalk/node2vec and the sparse AGGREGATE of message passing, run in
the C++ core on the graph's CSR arrays. :mod:`grimoire.graph.gnn` has the GNN layers.
"""

from __future__ import annotations

from .gnn import GCN, GCNConv, SAGEConv, aggregate
from .graph import Graph, NormalizedAdjacency, propagate

__all__ = ["GCN", "GCNConv", "Graph", "NormalizedAdjacency", "SAGEConv", "aggregate", "propagate"]
