"""grimoire.ml.UMAP against the umap-learn package: (a, b) curve fit, trustworthiness of fit and
transform, determinism; sklearn's estimator checks."""

import warnings

import numpy as np
import pytest
from grimoire import _core  # noqa: E402
from grimoire.ml import UMAP  # noqa: E402
from grimoire.ml.umap import find_ab_params  # noqa: E402
from sklearn import datasets, manifold  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits(return_X_y=True)[0]


@pytest.mark.parametrize("min_dist,spread", [(0.1, 1.0), (0.5, 1.0), (0.05, 2.0)])
def test_ab_params_match_umap_learn(min_dist, spread):
    import umap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = umap.umap_.find_ab_params(spread, min_dist)
    np.testing.assert_allclose(find_ab_params(spread, min_dist), ref, rtol=1e-3)


def test_trustworthiness_within_002_of_umap_learn(digits):
    import umap
    X, Xn = digits[:400], digits[400:550]
    ours = UMAP(random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = umap.UMAP(random_state=0).fit(X)
        ref_new = ref.transform(Xn)
    t = manifold.trustworthiness
    assert t(X, ours.embedding_, n_neighbors=5) >= t(X, ref.embedding_, n_neighbors=5) - 0.02
    assert t(Xn, ours.transform(Xn), n_neighbors=5) >= t(Xn, ref_new, n_neighbors=5) - 0.02


def test_deterministic_and_shapes(digits):
    X = digits[:200]
    a = UMAP(random_state=1, n_epochs=100).fit(X)
    b = UMAP(random_state=1, n_epochs=100).fit(X)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.embedding_.shape == (200, 2)
    assert UMAP(n_components=3, init="random", n_epochs=50, random_state=0).fit_transform(X).shape == (200, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="n_neighbors"):
        UMAP(n_neighbors=1).fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="init"):
        UMAP(init="tsne").fit(np.random.RandomState(0).randn(10, 2))
    y = np.zeros((3, 2))
    with pytest.raises(ValueError, match="head"):
        _core.umap_optimize(np.array([5]), np.array([0]), np.ones(1), y, None, 10, 1.5, 0.9)
    with pytest.raises(ValueError, match="epochs_per_sample"):
        _core.umap_optimize(np.array([0]), np.array([1]), np.zeros(1), y, None, 10, 1.5, 0.9)
