"""grimoire.graph against networkx (traversals, properties, paths) and NumPy (message passing)."""

import grimoire
import networkx as nx
import numpy as np
import pytest
from grimoire import _core
from grimoire.graph import Graph, propagate
from hypothesis import given, settings
from hypothesis import strategies as st

PRIMER_EDGES = [("A", "B", 5), ("B", "C", 2), ("C", "D", 3), ("D", "A", 4), ("A", "C", 1)]


def nx_twin(g: Graph):
    """The same graph built by networkx from the same edge list, in the same insertion order."""
    h = nx.DiGraph() if g.directed else nx.Graph()
    h.add_nodes_from(g.nodes)
    h.add_weighted_edges_from(g.edges())
    return h


def test_primer_example_lists_matrix_traversals_and_properties():
    g = Graph(PRIMER_EDGES)
    assert g.adjacency_list()["A"] == [("B", 5.0), ("D", 4.0), ("C", 1.0)]
    expected = [[0, 5, 1, 4], [5, 0, 2, 0], [1, 2, 0, 3], [4, 0, 3, 0]]
    np.testing.assert_array_equal(g.adjacency_matrix(), expected)
    np.testing.assert_array_equal(g.adjacency_matrix(weighted=False),
                                  nx.to_numpy_array(nx_twin(g), nodelist=g.nodes, weight=None))
    h = nx_twin(g)
    assert g.bfs("A") == ["A", "B", "D", "C"] == [n for n in nx.bfs_tree(h, "A")]
    assert g.dfs("A") == ["A", "B", "C", "D"] == list(nx.dfs_preorder_nodes(h, "A"))
    assert g.degree() == dict(h.degree()) == {"A": 3, "B": 2, "C": 3, "D": 2}
    assert g.has_cycle() and g.is_connected() and not g.is_tree() and not g.is_bipartite()
    assert g.shortest_path("B", "D") == (["B", "C", "D"], 5.0)
    assert g.is_path(["A", "B", "C"]) and not g.is_path(["A", "B", "A"]) and g.is_walk(["A", "B", "A"])
    d = Graph(PRIMER_EDGES, directed=True)
    assert d.out_degree("A") == 2 and d.in_degree("A") == 1 and d.has_cycle() and not d.is_dag()


def random_graph(seed: int, n: int, p: float, directed: bool) -> Graph:
    h = nx.gnp_random_graph(n, p, seed=seed, directed=directed)
    rng = np.random.default_rng(seed)
    for u, v in h.edges:
        h.edges[u, v]["weight"] = float(rng.integers(1, 9))
    return Graph.from_networkx(h)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 25), p=st.floats(0.0, 0.5), directed=st.booleans())
def test_random_graphs_agree_with_networkx(seed, n, p, directed):
    g = random_graph(seed, n, p, directed)
    h = nx_twin(g)
    np.testing.assert_array_equal(g.adjacency_matrix(), nx.to_numpy_array(h, nodelist=g.nodes))
    src = g.nodes[0]
    assert g.bfs(src) == list(nx.bfs_tree(h, src))
    assert g.dfs(src) == list(nx.dfs_preorder_nodes(h, src))
    assert g.degree() == dict(h.degree())
    if directed:
        assert g.is_dag() == nx.is_directed_acyclic_graph(h)
        assert g.is_connected() == nx.is_weakly_connected(h)
        if g.is_dag():
            order = {v: i for i, v in enumerate(g.topological_sort())}
            assert all(order[u] < order[v] for u, v, _ in g.edges())
    else:
        assert g.has_cycle() == (len(nx.cycle_basis(h)) > 0)
        assert g.is_connected() == nx.is_connected(h)
        assert g.is_tree() == nx.is_tree(h)
        assert g.is_bipartite() == nx.is_bipartite(h)
        ours = sorted(map(sorted, g.connected_components()))
        assert ours == sorted(map(sorted, nx.connected_components(h)))
    for target in g.nodes:
        if nx.has_path(h, src, target):
            path, length = g.shortest_path(src, target)
            assert length == nx.dijkstra_path_length(h, src, target)
            assert sum(h.edges[a, b]["weight"] for a, b in zip(path, path[1:], strict=False)) == length
        else:
            with pytest.raises(ValueError, match="no path"):
                g.shortest_path(src, target)


def test_special_structures():
    tree = Graph([("r", "a"), ("r", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("b", "f")])
    assert tree.is_tree() and tree.is_bipartite()
    assert Graph(nx.complete_graph(5).edges).is_complete()
    dag = Graph([(1, 2), (1, 3), (2, 4), (3, 4)], directed=True)
    assert dag.is_dag() and dag.topological_sort() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="cycle"):
        Graph([(1, 2), (2, 1)], directed=True).topological_sort()
    with pytest.raises(KeyError, match="'Z' is not in the graph"):
        tree.bfs("Z")
    with pytest.raises(ValueError, match="finite"):
        Graph([("a", "b", float("nan"))])


def test_random_walks_follow_edges_and_do_not_depend_on_threads():
    g = Graph.from_networkx(nx.karate_club_graph())
    h = nx.karate_club_graph()
    before = grimoire.get_num_threads()
    try:
        grimoire.set_num_threads(1)
        one = g.random_walks(20, walks_per_node=10, p=0.5, q=2.0, random_state=3)
        grimoire.set_num_threads(2)
        two = g.random_walks(20, walks_per_node=10, p=0.5, q=2.0, random_state=3)
    finally:
        grimoire.set_num_threads(before)
    assert one == two and len(one) == 340
    assert all(len(w) == 20 and all(h.has_edge(a, b) for a, b in zip(w, w[1:], strict=False)) for w in one)


def test_deepwalk_first_steps_are_uniform_and_weighted_steps_follow_weights():
    star = Graph([("c", "x", 1.0), ("c", "y", 3.0)])
    walks = star.random_walks(2, walks_per_node=20000, random_state=0)
    firsts = [w[1] for w in walks if w[0] == "c"]
    assert abs(firsts.count("x") / len(firsts) - 0.5) < 0.02
    walks = star.random_walks(2, walks_per_node=20000, weighted=True, random_state=0)
    firsts = [w[1] for w in walks if w[0] == "c"]
    assert abs(firsts.count("x") / len(firsts) - 0.25) < 0.02


def test_node2vec_return_parameter_controls_backtracking():
    # On a cycle a walk either steps back (weight 1/p) or forward (1/q): P(back) = q / (p + q).
    ring = Graph(nx.cycle_graph(12).edges)
    for p, q in ((0.25, 1.0), (4.0, 1.0), (1.0, 0.5)):
        walks = np.array(ring.random_walks(30, walks_per_node=300, p=p, q=q, random_state=1))
        back = np.mean(walks[:, 2:] == walks[:, :-2])
        assert abs(back - (1 / p) / (1 / p + 1 / q)) < 0.02, (p, q, back)


def test_walks_stop_at_dead_ends():
    g = Graph([("a", "b"), ("b", "c")], directed=True)
    assert g.random_walks(5, random_state=0)[0] == ["a", "b", "c"]


@pytest.mark.parametrize("normalize", ["sym", "mean", "sum"])
@pytest.mark.parametrize("self_loops", [True, False])
def test_propagate_matches_dense_formula(normalize, self_loops):
    g = Graph.from_networkx(nx.les_miserables_graph())
    x = np.random.default_rng(0).standard_normal((len(g), 7)).astype(np.float32)
    a = g.adjacency_matrix() + (np.eye(len(g)) if self_loops else 0)
    d = a.sum(axis=1)
    if normalize == "sym":
        a = a / np.sqrt(np.outer(d, d))
    elif normalize == "mean":
        a = a / d[:, None]
    np.testing.assert_allclose(propagate(g, x, normalize, self_loops), a @ x, rtol=1e-4, atol=1e-4)


def test_core_graph_kernels_refuse_malformed_csr():
    indptr, indices = np.array([0, 1, 2], np.int64), np.array([1, 0], np.int64)
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 2\)"):
        _core.spmm_csr(indptr, np.array([1, 5], np.int64), None, x)
    with pytest.raises(ValueError, match="indptr must start at 0"):
        _core.spmm_csr(np.array([0, 1, 3], np.int64), indices, None, x)
    with pytest.raises(TypeError, match="indices must have dtype int64"):
        _core.spmm_csr(indptr, indices.astype(np.int32), None, x)
    with pytest.raises(ValueError, match="values must have len"):
        _core.spmm_csr(indptr, indices, np.ones(3, np.float32), x)
    with pytest.raises(ValueError, match="starts must be node ids"):
        _core.random_walks(indptr, indices, None, np.array([2], np.int64), 3)
    with pytest.raises(ValueError, match="walk_length must be >= 1"):
        _core.random_walks(indptr, indices, None, np.array([0], np.int64), 0)
