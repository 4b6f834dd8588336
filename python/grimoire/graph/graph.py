"""The Graph class (primer 7.3)."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from .. import _core

if TYPE_CHECKING:
    import networkx as nx


class Graph:
    """A graph G = (V, E), directed or undirected, with edge weights (default 1).

    ``Graph([("A", "B", 5), ("B", "C", 2)])`` takes (u, v) or (u, v, weight) edges; nodes are
    added in order of first appearance and keep that order in matrices and listings. Adding an
    edge again replaces its weight (a simple graph, as ``networkx.Graph``/``DiGraph``).
    Neighbours are visited in the order their edges were added, as networkx does, so BFS and DFS
    orders agree with networkx's.
    """

    def __init__(self, edges: Iterable = (), nodes: Iterable[Hashable] = (), directed: bool = False):
        self.directed = bool(directed)
        self._index: dict[Hashable, int] = {}
        self._labels: list[Hashable] = []
        self._succ: list[dict[int, float]] = []  # out-neighbours -> weight, insertion-ordered
        self._pred: list[dict[int, float]] = []  # in-neighbours (the same as _succ if undirected)
        self._csr = None
        for node in nodes:
            self.add_node(node)
        for edge in edges:
            if len(edge) == 2:
                self.add_edge(edge[0], edge[1])
            elif len(edge) == 3:
                self.add_edge(edge[0], edge[1], edge[2])
            else:
                raise ValueError(f"an edge is (u, v) or (u, v, weight), got {edge!r}")

    # ------------------------------------------------------------------------- building
    def add_node(self, node: Hashable) -> int:
        if node not in self._index:
            self._index[node] = len(self._labels)
            self._labels.append(node)
            self._succ.append({})
            self._pred.append({} if self.directed else self._succ[-1])
            self._csr = None
        return self._index[node]

    def add_edge(self, u: Hashable, v: Hashable, weight: float = 1.0) -> None:
        weight = float(weight)
        if not np.isfinite(weight):
            raise ValueError(f"edge weight must be finite, got {weight}")
        i, j = self.add_node(u), self.add_node(v)
        self._succ[i][j] = weight
        self._pred[j][i] = weight
        self._csr = None

    @classmethod
    def from_networkx(cls, g: nx.Graph) -> Graph:
        out = cls(nodes=g.nodes, directed=g.is_directed())
        for u, v, w in g.edges(data="weight", default=1.0):
            out.add_edge(u, v, w)
        return out

    def to_networkx(self) -> nx.Graph:
        import networkx as nx

        g = nx.DiGraph() if self.directed else nx.Graph()
        g.add_nodes_from(self._labels)
        g.add_weighted_edges_from(self.edges())
        return g

    # ------------------------------------------------------------------------- views
    @property
    def nodes(self) -> list[Hashable]:
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, node: Hashable) -> bool:
        return node in self._index

    def _id(self, node: Hashable) -> int:
        try:
            return self._index[node]
        except (KeyError, TypeError):
            raise KeyError(f"node {node!r} is not in the graph") from None

    def edges(self) -> list[tuple[Hashable, Hashable, float]]:
        """Every edge once, as (u, v, weight)."""
        out = []
        for i, nbrs in enumerate(self._succ):
            for j, w in nbrs.items():
                if self.directed or i <= j:
                    out.append((self._labels[i], self._labels[j], w))
        return out

    def neighbors(self, node: Hashable) -> list[Hashable]:
        """Out-neighbours (all neighbours if undirected), in insertion order."""
        return [self._labels[j] for j in self._succ[self._id(node)]]

    def adjacency_list(self) -> dict[Hashable, list[tuple[Hashable, float]]]:
        """{node: [(neighbour, weight), ...]}."""
        return {self._labels[i]: [(self._labels[j], w) for j, w in nbrs.items()]
                for i, nbrs in enumerate(self._succ)}

    def adjacency_matrix(self, weighted: bool = True) -> np.ndarray:
        """A[i, j] = weight of edge i -> j (or 1 when ``weighted=False``), 0 if none; rows and
        columns in node order. Symmetric for an undirected graph."""
        n = len(self)
        a = np.zeros((n, n))
        for i, nbrs in enumerate(self._succ):
            for j, w in nbrs.items():
                a[i, j] = w if weighted else 1.0
        return a

    def degree(self, node: Hashable | None = None) -> int | dict[Hashable, int]:
        """Edges at a node (a self-loop counts twice, as in networkx); all nodes if None. For a
        directed graph, in-degree + out-degree."""
        if node is None:
            return {v: self.degree(v) for v in self._labels}
        i = self._id(node)
        if self.directed:
            return len(self._succ[i]) + len(self._pred[i])
        return len(self._succ[i]) + (1 if i in self._succ[i] else 0)

    def in_degree(self, node: Hashable) -> int:
        return len(self._pred[self._id(node)])

    def out_degree(self, node: Hashable) -> int:
        return len(self._succ[self._id(node)])

    # ------------------------------------------------------------------------- traversals
    def bfs(self, source: Hashable) -> list[Hashable]:
        """Breadth-first order from ``source``: all neighbours of a level before the next level."""
        start = self._id(source)
        seen, order, queue = {start}, [], deque([start])
        while queue:
            v = queue.popleft()
            order.append(self._labels[v])
            for u in self._succ[v]:
                if u not in seen:
                    seen.add(u)
                    queue.append(u)
        return order

    def dfs(self, source: Hashable) -> list[Hashable]:
        """Depth-first preorder from ``source``: one neighbour and everything below it before
        its siblings (iterative, so deep graphs do not hit Python's recursion limit)."""
        start = self._id(source)
        seen, order = {start}, [self._labels[start]]
        stack = [iter(self._succ[start])]
        while stack:
            for u in stack[-1]:
                if u not in seen:
                    seen.add(u)
                    order.append(self._labels[u])
                    stack.append(iter(self._succ[u]))
                    break
            else:
                stack.pop()
        return order

    def shortest_path(self, source: Hashable, target: Hashable,
                      weighted: bool = True) -> tuple[list[Hashable], float]:
        """(path, length) by Dijkstra's algorithm (edge weights must be >= 0), or by BFS hop
        count with ``weighted=False``. Raises ValueError when ``target`` is unreachable."""
        import heapq

        s, t = self._id(source), self._id(target)
        if weighted and any(w < 0 for nbrs in self._succ for w in nbrs.values()):
            raise ValueError("Dijkstra needs non-negative edge weights")
        dist, prev, heap = {s: 0.0}, {}, [(0.0, s)]
        while heap:
            d, v = heapq.heappop(heap)
            if v == t:
                break
            if d > dist[v]:
                continue
            for u, w in self._succ[v].items():
                nd = d + (w if weighted else 1.0)
                if nd < dist.get(u, np.inf):
                    dist[u], prev[u] = nd, v
                    heapq.heappush(heap, (nd, u))
        if t not in dist:
            raise ValueError(f"no path from {source!r} to {target!r}")
        path = [t]
        while path[-1] != s:
            path.append(prev[path[-1]])
        return [self._labels[v] for v in reversed(path)], dist[t]

    # ------------------------------------------------------------------------- properties
    def is_walk(self, sequence: list[Hashable]) -> bool:
        """Consecutive vertices joined by edges."""
        ids = [self._id(v) for v in sequence]
        return len(ids) > 0 and all(b in self._succ[a] for a, b in zip(ids, ids[1:], strict=False))

    def is_path(self, sequence: list[Hashable]) -> bool:
        """A walk with no repeated vertex."""
        return self.is_walk(sequence) and len(set(sequence)) == len(sequence)

    def connected_components(self) -> list[list[Hashable]]:
        """Components of the undirected graph (weakly connected ones if directed)."""
        comp = self._component_ids()
        groups: dict[int, list[Hashable]] = {}
        for i, c in enumerate(comp):
            groups.setdefault(c, []).append(self._labels[i])
        return list(groups.values())

    def is_connected(self) -> bool:
        """A path between any two vertices (ignoring direction: weak connectivity). The empty
        graph is not connected, as in networkx."""
        if len(self) == 0:
            raise ValueError("connectivity is undefined for the empty graph")
        return len(set(self._component_ids())) == 1

    def _component_ids(self) -> list[int]:
        comp = [-1] * len(self)
        for root in range(len(self)):
            if comp[root] >= 0:
                continue
            comp[root] = root
            stack = [root]
            while stack:
                v = stack.pop()
                for u in list(self._succ[v]) + (list(self._pred[v]) if self.directed else []):
                    if comp[u] < 0:
                        comp[u] = root
                        stack.append(u)
        return comp

    def has_cycle(self) -> bool:
        """A path that returns to its start. Undirected: union-find over the edges (an edge
        joining two already-connected vertices closes a cycle). Directed: a back edge in DFS."""
        if self.directed:
            return self.topological_sort(raise_on_cycle=False) is None
        parent = list(range(len(self)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, nbrs in enumerate(self._succ):
            for j in nbrs:
                if j < i:
                    continue
                if i == j:
                    return True
                ri, rj = find(i), find(j)
                if ri == rj:
                    return True
                parent[ri] = rj
        return False

    def topological_sort(self, raise_on_cycle: bool = True) -> list[Hashable] | None:
        """Kahn's algorithm for a directed graph; None (or ValueError) if it has a cycle."""
        if not self.directed:
            raise ValueError("topological order is defined for directed graphs")
        indeg = [len(p) for p in self._pred]
        queue = deque(i for i, d in enumerate(indeg) if d == 0)
        order = []
        while queue:
            v = queue.popleft()
            order.append(self._labels[v])
            for u in self._succ[v]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    queue.append(u)
        if len(order) < len(self):
            if raise_on_cycle:
                raise ValueError("the graph has a cycle, so no topological order exists")
            return None
        return order

    def is_dag(self) -> bool:
        return self.directed and not self.has_cycle()

    def is_tree(self) -> bool:
        """Connected and acyclic (undirected)."""
        if self.directed:
            raise ValueError("is_tree is defined here for undirected graphs")
        return len(self) > 0 and self.is_connected() and not self.has_cycle()

    def is_complete(self) -> bool:
        """Every vertex joined to every other one."""
        n = len(self)
        return all(len(set(nbrs) - {i}) == n - 1 for i, nbrs in enumerate(self._succ))

    def bipartition(self) -> tuple[list[Hashable], list[Hashable]] | None:
        """Two sets with edges only between them (2-colouring by BFS), or None if there are none."""
        colour = [-1] * len(self)
        for root in range(len(self)):
            if colour[root] >= 0:
                continue
            colour[root] = 0
            queue = deque([root])
            while queue:
                v = queue.popleft()
                for u in list(self._succ[v]) + (list(self._pred[v]) if self.directed else []):
                    if colour[u] < 0:
                        colour[u] = 1 - colour[v]
                        queue.append(u)
                    elif colour[u] == colour[v]:
                        return None
        return ([self._labels[i] for i, c in enumerate(colour) if c == 0],
                [self._labels[i] for i, c in enumerate(colour) if c == 1])

    def is_bipartite(self) -> bool:
        return self.bipartition() is not None

    # ------------------------------------------------------------------------- core kernels
    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, indices, weights) of the out-edges, rows sorted by neighbour id."""
        if self._csr is None:
            counts = np.array([len(nbrs) for nbrs in self._succ], dtype=np.int64)
            indptr = np.zeros(len(self) + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            indices = np.empty(indptr[-1], dtype=np.int64)
            weights = np.empty(indptr[-1], dtype=np.float64)
            for i, nbrs in enumerate(self._succ):
                row = sorted(nbrs.items())
                indices[indptr[i]:indptr[i + 1]] = [j for j, _ in row]
                weights[indptr[i]:indptr[i + 1]] = [w for _, w in row]
            self._csr = (indptr, indices, weights)
        return self._csr

    def random_walks(self, walk_length: int, walks_per_node: int = 1, p: float = 1.0, q: float = 1.0,
                     weighted: bool = False, random_state: int | None = None) -> list[list[Hashable]]:
        """Random walks from every node (DeepWalk when p = q = 1; node2vec's biased walk
        otherwise: return parameter p, in-out parameter q). A walk stops early at a node
        without out-edges. Runs in the core, in parallel, deterministic for a given seed."""
        indptr, indices, weights = self.csr()
        cumulative = None
        if weighted:
            if np.any(weights <= 0):
                raise ValueError("weighted walks need positive edge weights")
            cumulative = np.empty_like(weights)
            for i in range(len(self)):  # running sums restart at every row
                np.cumsum(weights[indptr[i]:indptr[i + 1]], out=cumulative[indptr[i]:indptr[i + 1]])
        starts = np.tile(np.arange(len(self), dtype=np.int64), walks_per_node)
        seed = int(np.random.default_rng(random_state).integers(2**63))
        ids = _core.random_walks(indptr, indices, cumulative, starts, int(walk_length), float(p),
                                 float(q), seed)
        return [[self._labels[v] for v in row if v >= 0] for row in ids]


class NormalizedAdjacency:
    """A fixed propagation matrix A_hat in CSR form, with its transpose for backward passes.

    ``normalize="sym"``: A_hat = D^-1/2 (A + I) D^-1/2 (Kipf & Welling's GCN propagation);
    ``"mean"``: D^-1 (A + I), the mean over the neighbourhood; ``"sum"``: A + I. Without
    ``self_loops`` the I is left out (and an existing self-loop is kept as an edge). Rows and
    columns follow the graph's node order.
    """

    def __init__(self, graph: Graph, normalize: str = "sym", self_loops: bool = True):
        if normalize not in ("sym", "mean", "sum"):
            raise ValueError(f"normalize must be 'sym', 'mean' or 'sum', got {normalize!r}")
        indptr, indices, weights = graph.csr()
        n = len(graph)
        rows = np.repeat(np.arange(n), np.diff(indptr))
        cols, vals = indices, weights
        if self_loops:
            keep = rows != cols  # an existing self-loop is replaced by the added one
            rows, cols = np.r_[rows[keep], np.arange(n)], np.r_[cols[keep], np.arange(n)]
            vals = np.r_[vals[keep], np.ones(n)]
        deg = np.bincount(rows, weights=vals, minlength=n)
        with np.errstate(divide="ignore"):
            inv = np.where(deg > 0, 1.0 / deg, 0.0)
        if normalize == "sym":
            vals = vals * np.sqrt(inv[rows]) * np.sqrt(inv[cols])
        elif normalize == "mean":
            vals = vals * inv[rows]
        self.n_nodes = n
        self.csr = _csr_from_coo(rows, cols, vals, n)
        self.csr_transposed = _csr_from_coo(cols, rows, vals, n)

    def dense(self) -> np.ndarray:
        """A_hat as a dense (n, n) array (for inspection and tests)."""
        indptr, indices, values = self.csr
        out = np.zeros((self.n_nodes, self.n_nodes))
        out[np.repeat(np.arange(self.n_nodes), np.diff(indptr)), indices] = values
        return out

    def matmul(self, x: np.ndarray, transpose: bool = False) -> np.ndarray:
        """A_hat @ x (or A_hat^T @ x) in the core; x is (n_nodes, n_features) float32."""
        indptr, indices, values = self.csr_transposed if transpose else self.csr
        return _core.spmm_csr(indptr, indices, values, x)


def _csr_from_coo(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int):
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order].astype(np.int64), vals[order].astype(np.float32)


def propagate(graph: Graph, x: np.ndarray, normalize: str = "sym", self_loops: bool = True) -> np.ndarray:
    """One message-passing AGGREGATE step, H' = A_hat @ X (primer 7.4), in the core; A_hat as in
    :class:`NormalizedAdjacency`. ``x`` is (n_nodes, n_features) float32 in node order."""
    return NormalizedAdjacency(graph, normalize, self_loops).matmul(x)
