"""Tour, primer 7.3-7.4: graphs and message passing."""

from __future__ import annotations

import numpy as np

from . import Tour, section


@section("7.3", "Graphs and graph theory", "grimoire.graph.Graph")
def graphs(t: Tour) -> None:
    from grimoire.graph import Graph

    edges = [("A", "B", 5), ("B", "C", 2), ("C", "D", 3), ("D", "A", 4), ("A", "C", 1)]
    g = Graph(edges)
    t.say(f"G = (V, E), V = {g.nodes}, weighted undirected E = {edges}")
    for node, nbrs in g.adjacency_list().items():
        t.say(f"  adjacency list {node}: " + ", ".join(f"{v} ({w:g})" for v, w in nbrs))
    t.show("adjacency matrix (rows/columns A B C D)", g.adjacency_matrix())
    t.say(f"degrees: {g.degree()}")
    t.say(f"BFS from A (level by level): {g.bfs('A')};  DFS from A (one branch first): {g.dfs('A')}")
    t.say(f"has a cycle: {g.has_cycle()} (A-B-C-A);  connected: {g.is_connected()}")
    t.say(f"shortest path B -> D (Dijkstra): {g.shortest_path('B', 'D')}")
    d = Graph(edges, directed=True)
    t.say(f"as ordered pairs (directed): out-degree of A {d.out_degree('A')}, in-degree {d.in_degree('A')}, "
          f"a DAG: {d.is_dag()}")
    tree = Graph([("root", "a"), ("root", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("b", "f")])
    t.say(f"the primer's tree (root, 2 children, 4 grandchildren): tree {tree.is_tree()}, "
          f"bipartite {tree.is_bipartite()}")
    walks = g.random_walks(walk_length=6, walks_per_node=1, random_state=0)
    t.say("random walks (DeepWalk), one per node: " + "; ".join("-".join(w) for w in walks))


@section("7.4", "Graph neural networks: message passing, GCN", "grimoire.graph.GCN, grimoire.graph.propagate")
def message_passing(t: Tour) -> None:
    import networkx as nx

    from grimoire.graph import Graph, propagate

    karate = nx.karate_club_graph()
    g = Graph.from_networkx(karate)
    labels = np.array([karate.nodes[v]["club"] == "Officer" for v in g.nodes], dtype=np.float32)
    t.say("h_v <- AGGREGATE over N(v) of h_u; here H' = D^-1/2 (A + I) D^-1/2 H (GCN propagation)")
    t.say("Zachary's karate club (networkx): feature = 1 for the two leaders' nodes, 0 elsewhere")
    h = np.zeros((len(g), 2), dtype=np.float32)
    h[0, 0], h[33, 1] = 1.0, 1.0  # the instructor (node 0) and the officer (node 33)
    for _ in range(3):
        h = propagate(g, h)
    predicted = (h[:, 1] > h[:, 0]).astype(np.float32)
    t.say(f"after 3 propagation steps, nodes closer to the officer than to the instructor match the "
          f"real split for {np.mean(predicted == labels):.0%} of members (no training at all)")

    import grimoire
    from grimoire import optim
    from grimoire.autograd import Tensor
    from grimoire.graph import GCN, NormalizedAdjacency
    from grimoire.nn import functional as F

    adjacency = NormalizedAdjacency(g)
    y = labels.astype(np.int64)
    grimoire.manual_seed(0)
    model = GCN(len(g), 16, 2)
    x = Tensor(np.eye(len(g), dtype=np.float32))
    labelled = np.array([0, 33, 1, 32])
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(200):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, adjacency)[labelled], y[labelled])
        loss.backward()
        opt.step()
    model.eval()
    accuracy = (model(x, adjacency).numpy().argmax(axis=1) == y).mean()
    t.say(f"a 2-layer GCN (UPDATE = linear map, AGGREGATE = normalised neighbour sum) trained on "
          f"4 labelled members classifies {accuracy:.0%} of all 34 (final loss {loss.item():.3f})")
