"""grimoire.ml.AgglomerativeClustering / linkage / BisectingKMeans against scipy and scikit-learn."""


import numpy as np
import pytest
from grimoire import _core  # noqa: E402
from grimoire.ml import AgglomerativeClustering, BisectingKMeans, linkage  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.cluster import hierarchy  # noqa: E402
from scipy.spatial.distance import pdist  # noqa: E402
from sklearn import cluster, datasets  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

METHODS = ["single", "complete", "average", "ward"]


@pytest.mark.parametrize("method", METHODS)
def test_linkage_equals_scipy(method):
    X = np.random.RandomState(0).randn(300, 6)
    ours, ref = linkage(X, method), hierarchy.linkage(X, method)
    np.testing.assert_array_equal(ours[:, [0, 1, 3]], ref[:, [0, 1, 3]])
    np.testing.assert_allclose(ours[:, 2], ref[:, 2], rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.sampled_from([2, 3, 5, 17, 31]), d=st.sampled_from([1, 2, 7]), method=st.sampled_from(METHODS),
       seed=st.integers(0, 1000))
def test_linkage_heights_equal_scipy_any_shape(n, d, method, seed):
    X = np.random.RandomState(seed).randn(n, d)
    np.testing.assert_allclose(linkage(X, method)[:, 2], hierarchy.linkage(X, method)[:, 2], rtol=1e-12,
                               atol=1e-12)


def test_pdist_equals_scipy():
    X = np.random.RandomState(3).randn(41, 9)
    np.testing.assert_allclose(_core.pdist_euclidean(X), pdist(X), rtol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_agglomerative_equals_sklearn(method):
    X, _ = datasets.load_iris(return_X_y=True)
    ours = AgglomerativeClustering(3, linkage=method, compute_distances=True).fit(X)
    ref = cluster.AgglomerativeClustering(3, linkage=method, compute_distances=True).fit(X)
    assert adjusted_rand_score(ours.labels_, ref.labels_) == 1.0
    np.testing.assert_allclose(np.sort(ours.distances_), np.sort(ref.distances_), rtol=1e-10, atol=1e-12)
    assert ours.children_.shape == (149, 2)
    Z = ours.linkage_matrix()
    hierarchy.is_valid_linkage(Z, throw=True)
    np.testing.assert_array_equal(hierarchy.fcluster(Z, 3, "maxclust") > 0, True)


def test_distance_threshold():
    X = np.random.RandomState(1).randn(80, 3)
    ours = AgglomerativeClustering(None, distance_threshold=2.0, linkage="average").fit(X)
    ref = cluster.AgglomerativeClustering(None, distance_threshold=2.0, linkage="average").fit(X)
    assert ours.n_clusters_ == ref.n_clusters_
    assert adjusted_rand_score(ours.labels_, ref.labels_) == 1.0
    with pytest.raises(ValueError, match="Exactly one"):
        AgglomerativeClustering(3, distance_threshold=1.0).fit(X)


def test_bad_input():
    with pytest.raises(ValueError, match="condensed"):
        _core.nn_chain_linkage(np.zeros(4), "ward")
    with pytest.raises(ValueError, match="method"):
        _core.nn_chain_linkage(np.zeros(3), "median")
    with pytest.raises(ValueError, match="finite"):
        _core.nn_chain_linkage(np.array([1.0, np.nan, 2.0]), "single")
    with pytest.raises(TypeError, match="float64"):
        _core.pdist_euclidean(np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="linkage"):
        AgglomerativeClustering(linkage="centroid").fit(np.zeros((4, 2)))


def test_bisecting_kmeans_matches_sklearn_and_is_deterministic():
    X, _ = datasets.make_blobs(400, centers=5, random_state=0)
    ours = BisectingKMeans(5, random_state=0).fit(X)
    ref = cluster.BisectingKMeans(5, random_state=0).fit(X)
    assert ours.inertia_ <= ref.inertia_ * 1.01
    assert adjusted_rand_score(ours.labels_, ref.labels_) > 0.95
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    again = BisectingKMeans(5, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, ours.labels_)
    assert ours.transform(X).shape == (400, 5)
