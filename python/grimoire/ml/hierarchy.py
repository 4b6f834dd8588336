"""Hierarchical clustering, primer 4.2.1: agglomerative (bottom-up) and divisive (bisecting k-means).

Agglomerative: start from n singletons and repeatedly merge the two closest clusters, the distance
between clusters A and B given by the linkage

    single   min_{a,b} ||a - b||          complete  max_{a,b} ||a - b||
    average  mean_{a,b} ||a - b||         ward      sqrt(2 |A||B| / (|A|+|B|)) ||mu_A - mu_B||

(the increase of within-cluster variance for Ward, in scipy's scale). The merges run in the C++ core
by the nearest-neighbour chain with Lance-Williams updates, O(n^2) time and memory; the merge tree
is returned in scipy's linkage-matrix format, ready for ``scipy.cluster.hierarchy.dendrogram``.

Divisive: bisecting k-means splits, until there are k clusters, the cluster with the largest SSE
(or the most points) in two with 2-means.
"""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._typing import RandomState, Self
from .base import (
    RANDOM_ROW_DRAWS,
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    check_random_state,
)
from .cluster import KMeans

_LINKAGES = ("ward", "complete", "average", "single")


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def linkage(X: ArrayLike, method: Literal["ward", "complete", "average", "single"] = "ward") -> np.ndarray:
    """scipy's linkage matrix Z (n-1, 4): row i merges clusters Z[i,0] < Z[i,1] (ids >= n are the
    clusters formed at row id - n) at height Z[i,2] into a cluster of Z[i,3] points.

    X : (n, d) observations, Euclidean distances. Equal to ``scipy.cluster.hierarchy.linkage(X, method)``.
    """
    if method not in _LINKAGES:
        raise ValueError(f"method must be one of {_LINKAGES}, got {method!r}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"linkage needs at least 2 observations, got {n}")
    raw = _core.nn_chain_linkage(_core.pdist_euclidean(X), method)
    raw = raw[np.argsort(raw[:, 2], kind="mergesort")]
    # Slots (original indices standing for clusters) -> cluster ids, by union-find as scipy does.
    parent = np.arange(2 * n - 1)
    Z = raw.copy()
    for i in range(n - 1):
        a, b = _find(parent, int(raw[i, 0])), _find(parent, int(raw[i, 1]))
        Z[i, 0], Z[i, 1] = min(a, b), max(a, b)
        parent[a] = parent[b] = n + i
    return Z


def _cut(Z: np.ndarray, n: int, n_merges: int) -> np.ndarray:
    """Labels 0..k-1 after the first n_merges merges of Z (numbered by first appearance)."""
    parent = np.arange(2 * n - 1)
    for i in range(n_merges):
        parent[int(Z[i, 0])] = parent[int(Z[i, 1])] = n + i
    roots = np.array([_find(parent, i) for i in range(n)])
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse].astype(np.int64)


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """Agglomerative clustering (single, complete, average or Ward linkage), sklearn's interface.

    Parameters
    ----------
    n_clusters : int or None (then ``distance_threshold`` decides).
    metric : 'euclidean' (the only one).
    linkage : 'ward', 'complete', 'average' or 'single'.
    distance_threshold : merges at heights >= this are not made.
    compute_distances : also store ``distances_`` without a threshold.

    Attributes
    ----------
    labels_ : (n,) int array.
    n_clusters_ : number of clusters found.
    children_ : (n-1, 2) int array, the merges in order.
    distances_ : (n-1,) array, the merge heights.
    n_leaves_ : number of leaves (training rows).
    n_connected_components_ : components of the connectivity graph.

    Notes
    -----
    ``linkage_matrix()`` gives scipy's linkage matrix Z.
    """

    def __init__(self, n_clusters: int | None = 2, *, metric: Literal["euclidean"] = "euclidean",
                 memory: Any = None, connectivity: None = None,
                 compute_full_tree: bool | Literal["auto"] = "auto",
                 linkage: Literal["ward", "complete", "average", "single"] = "ward",
                 distance_threshold: float | None = None, compute_distances: bool = False):
        self.n_clusters = n_clusters
        self.metric = metric
        self.memory = memory
        self.connectivity = connectivity
        self.compute_full_tree = compute_full_tree
        self.linkage = linkage
        self.distance_threshold = distance_threshold
        self.compute_distances = compute_distances

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        X = self._validate_fit_X(X)
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError("Exactly one of n_clusters and distance_threshold has to be set, and the other "
                             "needs to be None.")
        if self.n_clusters is not None and (isinstance(self.n_clusters, bool) or
                                            not isinstance(self.n_clusters, numbers.Integral)
                                            or self.n_clusters < 1):
            raise ValueError(f"n_clusters should be an integer greater than 0. {self.n_clusters} was "
                             "provided.")
        if self.linkage not in _LINKAGES:
            raise ValueError(f"linkage must be one of {_LINKAGES}, got {self.linkage!r}")
        if self.metric != "euclidean":
            raise ValueError(f"metric must be 'euclidean', got {self.metric!r}")
        if self.connectivity is not None:
            raise ValueError("connectivity constraints are not supported (connectivity must be None)")
        n = X.shape[0]
        if self.n_clusters is not None and self.n_clusters > n:
            raise ValueError(f"Cannot extract more clusters than samples: {self.n_clusters} clusters were "
                             f"given for a tree with {n} leaves.")
        Z = linkage(X, self.linkage) if n > 1 else np.zeros((0, 4))
        self._Z = Z
        self.children_ = Z[:, :2].astype(np.int64)
        self.n_leaves_ = n
        self.n_connected_components_ = 1
        if self.distance_threshold is not None or self.compute_distances:
            self.distances_ = Z[:, 2].copy()
        if self.distance_threshold is not None:
            n_merges = int(np.count_nonzero(Z[:, 2] < float(self.distance_threshold)))
        else:
            n_merges = n - int(self.n_clusters)
        self.labels_ = _cut(Z, n, n_merges) if n > 1 else np.zeros(n, dtype=np.int64)
        self.n_clusters_ = n - n_merges
        return self

    def fit_predict(self, X: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        return self.fit(X).labels_

    def linkage_matrix(self) -> np.ndarray:
        """The merge tree as scipy's linkage matrix Z (n-1, 4), for scipy.cluster.hierarchy.dendrogram."""
        if not hasattr(self, "children_"):
            from .base import check_is_fitted

            check_is_fitted(self, "children_")
        return self._Z.copy()


class BisectingKMeans(ClusterMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Divisive clustering: bisect (2-means, ``n_init`` seeds) the cluster with the largest SSE
    ('biggest_inertia') or the most points ('largest_cluster') until ``n_clusters`` leaves.

    ``predict`` descends the bisection tree (nearer of the two child centres at each split), as
    sklearn's BisectingKMeans does. Attributes: ``cluster_centers_``, ``labels_``, ``inertia_``.
    """

    _n_features_out_from = ("cluster_centers_", 0)
    _expected_failed_checks = RANDOM_ROW_DRAWS

    def __init__(self, n_clusters: int = 8, *, init: Literal["k-means++", "random"] | ArrayLike = "random",
                 n_init: int = 1, random_state: RandomState = None, max_iter: int = 300, tol: float = 1e-4,
                 bisecting_strategy: Literal["biggest_inertia", "largest_cluster"] = "biggest_inertia"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.bisecting_strategy = bisecting_strategy

    def fit(self, X: ArrayLike, y: ArrayLike | None = None, sample_weight: ArrayLike | None = None) -> Self:
        X = self._validate_fit_X(X)
        if isinstance(self.n_clusters, bool) or not isinstance(self.n_clusters, numbers.Integral) \
                or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be an int >= 1, got {self.n_clusters!r}")
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        if self.bisecting_strategy not in ("biggest_inertia", "largest_cluster"):
            raise ValueError("bisecting_strategy must be 'biggest_inertia' or 'largest_cluster', got "
                             f"{self.bisecting_strategy!r}")
        from .base import check_sample_weight

        w = check_sample_weight(sample_weight, X.shape[0])
        rng = check_random_state(self.random_state)
        # Tree nodes: (center, rows, sse, children or None).
        nodes = [{"center": np.average(X, axis=0, weights=w), "rows": np.arange(X.shape[0]), "kids": None}]
        nodes[0]["sse"] = float(w @ ((X - nodes[0]["center"]) ** 2).sum(axis=1))
        leaves = [0]
        while len(leaves) < self.n_clusters:
            key = (lambda i: nodes[i]["sse"]) if self.bisecting_strategy == "biggest_inertia" \
                else (lambda i: nodes[i]["rows"].size)
            split = max((i for i in leaves if nodes[i]["rows"].size >= 2), key=key)
            rows = nodes[split]["rows"]
            km = KMeans(2, init=self.init, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                        random_state=rng).fit(X[rows], sample_weight=w[rows])
            kids = []
            for c in range(2):
                sub = rows[km.labels_ == c]
                center = km.cluster_centers_[c]
                sse = float(w[sub] @ ((X[sub] - center) ** 2).sum(axis=1))
                nodes.append({"center": center, "rows": sub, "sse": sse, "kids": None})
                kids.append(len(nodes) - 1)
            nodes[split]["kids"] = kids
            leaves.remove(split)
            leaves.extend(kids)
        self._nodes = [{"center": nd["center"], "kids": nd["kids"]} for nd in nodes]
        leaf_ids = [i for i in range(len(nodes)) if nodes[i]["kids"] is None]
        self._leaf_label = {node: lab for lab, node in enumerate(leaf_ids)}
        labels = np.empty(X.shape[0], dtype=np.int32)
        for node in leaf_ids:
            labels[nodes[node]["rows"]] = self._leaf_label[node]
        self.cluster_centers_ = np.array([nodes[i]["center"] for i in leaf_ids])
        self.labels_ = labels
        self.inertia_ = float(sum(nodes[i]["sse"] for i in leaf_ids))
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        X = self._validate_X(X)
        node = np.zeros(X.shape[0], dtype=np.int64)
        while True:
            moved = False
            for i in np.unique(node):
                kids = self._nodes[i]["kids"]
                if kids is None:
                    continue
                rows = np.flatnonzero(node == i)
                c = np.array([self._nodes[k]["center"] for k in kids])
                d = ((X[rows, None, :] - c[None]) ** 2).sum(axis=2)
                node[rows] = np.array(kids)[np.argmin(d, axis=1)]
                moved = True
            if not moved:
                break
        return np.array([self._leaf_label[int(i)] for i in node], dtype=np.int32)

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Euclidean distances (n, k) to the leaf centres."""
        X = self._validate_X(X)
        return np.sqrt(((X[:, None, :] - self.cluster_centers_[None]) ** 2).sum(axis=2))
