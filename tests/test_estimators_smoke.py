"""Every estimator's fit/predict on small inputs, the estimators found from the packages themselves.

This is the estimator part of the sanitizer slice (.ci/sanitize.sh runs it against an ASan/UBSan
build, issue 11): each estimator of ``grimoire.ml.__all__`` is fitted on a small, well-separated
problem and its predictions checked against what the problem makes certain (training accuracy,
R^2, the recovered clusters, neighbours kept by an embedding), so a kernel that reads or writes
out of bounds has inputs that reach every path, and a broken result fails here too. A new
estimator without a recipe below fails ``test_every_estimator_has_a_recipe``.
"""

from __future__ import annotations

import inspect

import grimoire.ml as ml
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, r2_score

N = 60  # samples: three blobs of 20 in 4 dimensions


def _blobs(seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0, 0, 0], [6, 6, 0, 0], [0, 6, 6, 6]])
    labels = np.repeat(np.arange(3), N // 3)
    return centers[labels] + rng.standard_normal((N, 4)) * 0.5, labels


def _regression(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 4))
    return x, x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.05 * rng.standard_normal(N)


# What each estimator is fitted with (small: few trees, few iterations) and how it is judged.
CLASSIFIERS = {
    "DecisionTreeClassifier": dict(random_state=0),
    "RandomForestClassifier": dict(n_estimators=5, random_state=0),
    "GradientBoostingClassifier": dict(n_estimators=10, random_state=0),
    "LogisticRegression": dict(),
    "SVC": dict(),
    "LinearSVC": dict(random_state=0),
}
REGRESSORS = {
    "DecisionTreeRegressor": dict(random_state=0),
    "RandomForestRegressor": dict(n_estimators=5, random_state=0),
    "GradientBoostingRegressor": dict(n_estimators=20, random_state=0),
    "LinearRegression": dict(),
    "Ridge": dict(alpha=0.1),
    "Lasso": dict(alpha=0.01),
    "ElasticNet": dict(alpha=0.01),
}
CLUSTERERS = {
    "KMeans": dict(n_clusters=3, random_state=0, n_init=2),
    "BisectingKMeans": dict(n_clusters=3, random_state=0),
    "AgglomerativeClustering": dict(n_clusters=3),
}
EMBEDDINGS = {
    "PCA": dict(n_components=2),
    "TSNE": dict(perplexity=5.0, max_iter=250, random_state=0),
    "UMAP": dict(n_neighbors=5, n_epochs=50, random_state=0),
}
RECIPES = {**CLASSIFIERS, **REGRESSORS, **CLUSTERERS, **EMBEDDINGS}


def _estimators() -> list[str]:
    return sorted(
        n
        for n in ml.__all__
        if inspect.isclass(getattr(ml, n)) and hasattr(getattr(ml, n), "fit") and n != "BaseEstimator"
    )


def test_every_estimator_has_a_recipe():
    missing = [n for n in _estimators() if n not in RECIPES]
    assert not missing, f"grimoire.ml estimators without a recipe in {__file__}: {missing}"


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_fits_and_predicts(name):
    x, y = _blobs()
    est = getattr(ml, name)(**CLASSIFIERS[name]).fit(x, y)
    pred = est.predict(x)
    assert pred.shape == (N,)
    assert np.mean(pred == y) >= 0.95, name
    x2, _ = _blobs(1)
    assert np.mean(est.predict(x2) == y) >= 0.9, name  # new points from the same blobs


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor_fits_and_predicts(name):
    x, y = _regression()
    est = getattr(ml, name)(**REGRESSORS[name]).fit(x, y)
    assert est.predict(x).shape == (N,)
    x2, y2 = _regression(1)
    assert r2_score(y2, est.predict(x2)) >= 0.5, name


@pytest.mark.parametrize("name", sorted(CLUSTERERS))
def test_clusterer_recovers_the_blobs(name):
    x, y = _blobs()
    labels = getattr(ml, name)(**CLUSTERERS[name]).fit_predict(x)
    assert adjusted_rand_score(y, labels) >= 0.95, name


@pytest.mark.parametrize("name", sorted(EMBEDDINGS))
def test_embedding_keeps_the_blobs_apart(name):
    x, y = _blobs()
    z = getattr(ml, name)(**EMBEDDINGS[name]).fit_transform(x)
    assert z.shape == (N, 2) and np.isfinite(z).all(), name
    # each point's nearest neighbour in the embedding comes from its own blob
    d = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert np.mean(y[d.argmin(1)] == y) >= 0.95, name
