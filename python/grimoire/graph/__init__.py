"""``grimoire.graph``: graphs and graph theory (primer 7.3) and message passing (7.4).

:class:`Graph` holds nodes with any hashable labels and (optionally weighted, optionally
directed) edges; traversals and properties are plain Python over adjacency lists, and the hot
loops, random walks for DeepWalk/node2vec and the sparse AGGREGATE of message passing, run in
the C++ core on the graph's CSR arrays.
"""

from __future__ import annotations

from .graph import Graph, propagate

__all__ = ["Graph", "propagate"]
