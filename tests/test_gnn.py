"""GNN layers against the same computation in PyTorch with a dense adjacency matrix."""

import grimoire
import networkx as nx
import numpy as np
import pytest
import torch
from grimoire import optim
from grimoire.autograd import Tensor, gradcheck
from grimoire.graph import GCN, GCNConv, Graph, NormalizedAdjacency, SAGEConv, aggregate
from grimoire.nn import functional as F


@pytest.fixture(scope="module")
def lesmis():
    return Graph.from_networkx(nx.les_miserables_graph())


def torch_dense(adj: NormalizedAdjacency) -> torch.Tensor:
    return torch.tensor(adj.dense(), dtype=torch.float64)


def test_normalized_adjacency_is_the_textbook_matrix(lesmis):
    a = lesmis.adjacency_matrix()
    a_tilde = a + np.eye(len(lesmis))
    d = a_tilde.sum(axis=1)
    expected = a_tilde / np.sqrt(np.outer(d, d))
    np.testing.assert_allclose(NormalizedAdjacency(lesmis).dense(), expected, rtol=1e-6)
    mean = NormalizedAdjacency(lesmis, "mean", self_loops=False).dense()
    np.testing.assert_allclose(mean, a / a.sum(axis=1, keepdims=True), rtol=1e-6)


def test_aggregate_gradient_by_finite_differences():
    g = Graph([(0, 1, 2.0), (1, 2, 1.0), (2, 0, 0.5), (2, 3, 1.0)], directed=True)
    adj = NormalizedAdjacency(g, "sum", self_loops=False)  # not symmetric: the transpose matters
    x = np.random.default_rng(0).standard_normal((4, 3))
    # The CSR kernel computes in float32, so the finite differences take a float32-sized step.
    assert gradcheck(lambda t: aggregate(adj, t) * aggregate(adj, t), [x], eps=1e-2, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("layer", ["gcn", "sage"])
def test_layers_match_torch_forward_and_backward(lesmis, layer):
    grimoire.manual_seed(0)
    n, fin, fout = len(lesmis), 5, 3
    x_np = np.random.default_rng(1).standard_normal((n, fin)).astype(np.float32)
    if layer == "gcn":
        adj = NormalizedAdjacency(lesmis)
        conv = GCNConv(fin, fout)
        conv.bias.data[:] = np.arange(fout, dtype=np.float32)
    else:
        adj = NormalizedAdjacency(lesmis, "mean", self_loops=False)
        conv = SAGEConv(fin, fout)
    x = Tensor(x_np, requires_grad=True)
    out = conv(x, adj)
    (out * out).sum().backward()

    a = torch_dense(adj).float()
    xt = torch.tensor(x_np, requires_grad=True)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in conv.state_dict().items()}
    if layer == "gcn":
        ref = a @ (xt @ params["lin.weight"].T) + params["bias"]
    else:
        ref = xt @ params["lin_self.weight"].T + params["lin_self.bias"]
        ref = ref + (a @ xt) @ params["lin_neigh.weight"].T
    (ref * ref).sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, p in conv.named_parameters():
        np.testing.assert_allclose(p.grad, params[name].grad.numpy(), rtol=1e-4, atol=1e-4)


def test_gcn_classifies_the_karate_club_from_four_labels():
    karate = nx.karate_club_graph()
    g = Graph.from_networkx(karate)
    y = np.array([karate.nodes[v]["club"] == "Officer" for v in g.nodes], dtype=np.int64)
    adj = NormalizedAdjacency(g)
    grimoire.manual_seed(0)
    model = GCN(len(g), 16, 2)
    x = Tensor(np.eye(len(g), dtype=np.float32))  # no features: identity, as in Kipf & Welling
    labelled = np.array([0, 33, 1, 32])
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(200):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x, adj)[labelled], y[labelled]).backward()
        opt.step()
    model.eval()
    accuracy = (model(x, adj).numpy().argmax(axis=1) == y).mean()
    assert accuracy >= 0.9


def test_aggregate_refuses_wrong_node_count(lesmis):
    with pytest.raises(ValueError, match="n_nodes"):
        aggregate(NormalizedAdjacency(lesmis), Tensor(np.ones((3, 2), np.float32)))
    with pytest.raises(ValueError, match="normalize"):
        NormalizedAdjacency(lesmis, "max")
