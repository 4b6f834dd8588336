"""grimoire.ml.TSNE against scikit-learn's TSNE: perplexity calibration, trustworthiness, KL, determinism."""


import numpy as np
import pytest
from grimoire import _core  # noqa: E402
from grimoire.ml import TSNE  # noqa: E402
from grimoire.ml.manifold import joint_probabilities  # noqa: E402
from sklearn import datasets, manifold  # noqa: E402
from sklearn.manifold._utils import _binary_search_perplexity  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits(return_X_y=True)
    return X[:300], y[:300]


def test_binary_search_matches_sklearn():
    rng = np.random.RandomState(0)
    d2 = np.sort(rng.uniform(0, 50, size=(60, 31)), axis=1)
    ours = _core.tsne_binary_search(d2, 10.0)
    ref = _binary_search_perplexity(d2.astype(np.float32), 10.0, 0)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    entropy = -np.sum(ours * np.log(np.maximum(ours, 1e-300)), axis=1)
    np.testing.assert_allclose(np.exp(entropy), 10.0, rtol=1e-3)


def test_joint_probabilities_symmetric_and_normalised(digits):
    X, _ = digits
    indptr, indices, values = joint_probabilities(X[:100], 5.0)
    P = np.zeros((100, 100))
    P[np.repeat(np.arange(100), np.diff(indptr)), indices] = values
    np.testing.assert_allclose(P, P.T)
    np.testing.assert_allclose(P.sum(), 1.0)
    assert np.all(np.diag(P) == 0)


def test_trustworthiness_within_002_of_sklearn(digits):
    X, _ = digits
    from threadpoolctl import threadpool_limits

    ours = TSNE(random_state=0).fit(X)
    with threadpool_limits(1):  # sklearn's OpenMP gradient crawls on an oversubscribed machine
        ref = manifold.TSNE(random_state=0).fit(X)
    t_ours = manifold.trustworthiness(X, ours.embedding_, n_neighbors=5)
    t_ref = manifold.trustworthiness(X, ref.embedding_, n_neighbors=5)
    assert t_ours >= t_ref - 0.02
    assert abs(ours.kl_divergence_ - ref.kl_divergence_) < 0.1
    assert ours.embedding_.shape == (300, 2)


def test_exact_and_barnes_hut_agree(digits):
    X, _ = digits
    bh = TSNE(random_state=0, max_iter=500, perplexity=10).fit(X[:150])
    ex = TSNE(random_state=0, max_iter=500, perplexity=10, method="exact").fit(X[:150])
    t_bh = manifold.trustworthiness(X[:150], bh.embedding_, n_neighbors=5)
    t_ex = manifold.trustworthiness(X[:150], ex.embedding_, n_neighbors=5)
    assert t_bh > 0.95 and abs(t_bh - t_ex) < 0.02


def test_deterministic_with_random_state(digits):
    X, _ = digits
    a = TSNE(random_state=3, init="random", max_iter=250, perplexity=10).fit_transform(X[:120])
    b = TSNE(random_state=3, init="random", max_iter=250, perplexity=10).fit_transform(X[:120])
    np.testing.assert_array_equal(a, b)


def test_bad_input():
    X = np.random.RandomState(0).randn(20, 3)
    with pytest.raises(ValueError, match="perplexity"):
        TSNE(perplexity=30).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        TSNE(n_components=3, perplexity=5).fit(X)
    assert TSNE(n_components=1, perplexity=5, max_iter=250).fit_transform(X).shape == (20, 1)
    with pytest.raises(ValueError, match="indices"):
        _core.tsne_optimize(np.array([0, 1], dtype=np.int64), np.array([5], dtype=np.int64), np.ones(1),
                            np.zeros((1, 2)), 10, 5, 12.0, 100.0, 0.5)
    with pytest.raises(ValueError, match="finite"):
        _core.tsne_binary_search(np.array([[np.nan, 1.0]]), 1.5)
