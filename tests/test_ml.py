"""grimoire.ml against scikit-learn (the oracle) on fixed problems: exact agreement where the
algorithm is the same, plus the primer's worked example, determinism and bad input."""

import pickle

import numpy as np
import pytest
import sklearn
from grimoire import _core, ml  # noqa: E402
from sklearn import cluster as skc  # noqa: E402
from sklearn import decomposition as skd  # noqa: E402
from sklearn import linear_model as skl  # noqa: E402
from sklearn import tree as skt  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def test_pca_primer_example():
    X = np.array([[2.0, 1.0], [4.0, 3.0], [6.0, 5.0]])
    p = ml.PCA().fit(X)
    np.testing.assert_allclose(p.mean_, [4.0, 3.0])
    np.testing.assert_allclose(p.get_covariance(), [[4.0, 4.0], [4.0, 4.0]], atol=1e-12)
    np.testing.assert_allclose(p.explained_variance_, [8.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(p.components_[0]), [2**-0.5, 2**-0.5])
    z = p.transform(X)[:, 0] * np.sign(p.components_[0, 0])
    np.testing.assert_allclose(z, [-2 * np.sqrt(2), 0.0, 2 * np.sqrt(2)], atol=1e-12)


@pytest.mark.parametrize("loader,solver", [(load_iris, "full"), (load_wine, "full"),
                                           (load_wine, "covariance_eigh"), (load_digits, "covariance_eigh")])
@pytest.mark.parametrize("n_components,whiten", [(2, False), (0.9, False), (None, False), (3, True)])
def test_pca_matches_sklearn(loader, n_components, whiten, solver):
    X, _ = loader(return_X_y=True)
    ours = ml.PCA(n_components=n_components, whiten=whiten, svd_solver=solver).fit(X)
    ref = skd.PCA(n_components=n_components, whiten=whiten, svd_solver=solver).fit(X)
    assert ours.n_components_ == ref.n_components_
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, atol=1e-10)
    # Components of distinct eigenvalues are unique up to sign, and both flip signs the same way.
    ev = ref.explained_variance_
    distinct = np.ones(ev.size, bool)
    distinct[1:] &= np.abs(np.diff(ev)) > 1e-6 * ev[0]
    distinct[:-1] &= np.abs(np.diff(ev)) > 1e-6 * ev[0]
    distinct &= ev > 1e-9 * ev[0]
    np.testing.assert_allclose(ours.components_[distinct], ref.components_[distinct], atol=1e-6)
    Z = ours.transform(X)
    np.testing.assert_allclose(Z[:, distinct], ref.transform(X)[:, distinct], atol=1e-6 * np.abs(Z).max())
    np.testing.assert_allclose(ours.inverse_transform(Z), ref.inverse_transform(ref.transform(X)),
                               atol=1e-6 * np.abs(X).max())


@pytest.mark.parametrize("loader,k", [(load_iris, 3), (load_wine, 3), (load_breast_cancer, 5)])
def test_kmeans_matches_sklearn(loader, k):
    X, _ = loader(return_X_y=True)
    init = X[np.random.default_rng(0).choice(len(X), k, replace=False)]
    ours = ml.KMeans(k, init=init, n_init=1, tol=0).fit(X)
    ref = skc.KMeans(k, init=init, n_init=1, tol=0).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-7, atol=1e-7)
    # k-means++ with restarts: the best inertia found is as good as sklearn's (1 %).
    ours = ml.KMeans(k, n_init=4, random_state=0).fit(X)
    ref = skc.KMeans(k, n_init=4, random_state=0).fit(X)
    assert ours.inertia_ <= ref.inertia_ * 1.01


def test_kmeans_blobs_recovers_centres():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.normal(size=(200, 2)) for c in centres])
    km = ml.KMeans(3, random_state=0).fit(X)
    found = km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0] + 2 * km.cluster_centers_[:, 1])]
    np.testing.assert_allclose(found, centres, atol=0.2)


def test_tree_equals_sklearn_tree_without_ties():
    # Continuous features and shallow trees: the best split at every node is unique (deep nodes with
    # a few samples have ties, which each library breaks its own way), so exact CART must grow the
    # same tree as sklearn's, node for node (same thresholds: midpoints between values).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.3 * rng.normal(size=300) > 0.5).astype(int)
    for crit in ["gini", "entropy"]:
        ours = ml.DecisionTreeClassifier(criterion=crit, max_depth=3, random_state=0).fit(X, y)
        ref = skt.DecisionTreeClassifier(criterion=crit, max_depth=3, random_state=0).fit(X, y)
        assert ours.tree_.node_count == ref.tree_.node_count
        np.testing.assert_allclose(np.sort(ours.tree_.threshold), np.sort(ref.tree_.threshold),
                                   rtol=1e-6)  # sklearn's thresholds come from float32 values
        np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X))
        np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-12)
    yr = X[:, 0] * 2 + np.sin(3 * X[:, 1]) + 0.1 * rng.normal(size=300)
    ours = ml.DecisionTreeRegressor(max_depth=3, min_samples_leaf=3).fit(X, yr)
    ref = skt.DecisionTreeRegressor(max_depth=3, min_samples_leaf=3).fit(X, yr)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-12)


def test_export_text_reads_like_sklearn():
    X, y = load_wine(return_X_y=True)
    names = list(load_wine().feature_names)
    ours = ml.DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    ref = skt.DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    # 4 decimals: sklearn's thresholds are midpoints of float32 values, ours of float64 values.
    assert (ml.export_text(ours, feature_names=names, decimals=4)
            == skt.export_text(ref, feature_names=names, decimals=4))
    text = ml.export_text(ml.DecisionTreeRegressor(max_depth=1).fit(X, X[:, 0]))
    assert text.startswith("|--- feature_") and "value: [" in text


@pytest.mark.parametrize("make", [
    lambda: ml.DecisionTreeClassifier(max_features=3, random_state=7),
    lambda: ml.RandomForestClassifier(n_estimators=10, random_state=7),
    lambda: ml.GradientBoostingClassifier(n_estimators=10, subsample=0.7, max_features=5, random_state=7),
    lambda: ml.KMeans(4, n_init=2, random_state=7),
])
def test_fixed_random_state_is_deterministic(make):
    X, y = load_breast_cancer(return_X_y=True)
    a, b = make().fit(X, y), make().fit(X, y)
    out_a = a.predict_proba(X) if hasattr(a, "predict_proba") else a.predict(X)
    out_b = b.predict_proba(X) if hasattr(b, "predict_proba") else b.predict(X)
    np.testing.assert_array_equal(out_a, out_b)
    again = pickle.loads(pickle.dumps(a))
    out_c = again.predict_proba(X) if hasattr(a, "predict_proba") else again.predict(X)
    np.testing.assert_array_equal(out_a, out_c)


def test_forest_oob_and_threads():
    X, y = load_breast_cancer(return_X_y=True)
    ours = ml.RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0, n_jobs=1).fit(X, y)
    ref = sklearn.ensemble.RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0).fit(X, y)
    assert abs(ours.oob_score_ - ref.oob_score_) < 0.03
    two = ml.RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(ours.predict_proba(X), two.predict_proba(X))  # threads change nothing
    assert len(ours.estimators_) == 60 and ours.estimators_[0].predict(X).shape == (len(X),)


def test_gradient_boosting_early_stopping_and_loss_decreases():
    X, y = load_breast_cancer(return_X_y=True)
    gb = ml.GradientBoostingClassifier(n_estimators=500, n_iter_no_change=5, random_state=0).fit(X, y)
    assert gb.n_estimators_ < 500
    assert np.all(np.diff(gb.train_score_) <= 1e-12)  # Newton steps on the training loss
    Xd, yd = load_diabetes(return_X_y=True)
    gbr = ml.GradientBoostingRegressor(n_estimators=50, learning_rate=0.1).fit(Xd, yd)
    ref = sklearn.ensemble.GradientBoostingRegressor(n_estimators=50, learning_rate=0.1).fit(Xd, yd)
    assert abs(gbr.score(Xd, yd) - ref.score(Xd, yd)) < 0.02


def test_linear_models_match_sklearn():
    X, y = load_diabetes(return_X_y=True)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    pairs = [(ml.LinearRegression(), skl.LinearRegression()), (ml.Ridge(0.3), skl.Ridge(0.3)),
             (ml.Lasso(0.05, tol=1e-10, max_iter=100000), skl.Lasso(0.05, tol=1e-10, max_iter=100000)),
             (ml.ElasticNet(0.01, l1_ratio=0.3, tol=1e-10, max_iter=100000),
              skl.ElasticNet(0.01, l1_ratio=0.3, tol=1e-10, max_iter=100000))]
    for ours, ref in pairs:
        for sw in (None, w):
            ours.fit(X, y, sample_weight=sw)
            ref.fit(X, y, sample_weight=sw)
            np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-6 * np.abs(ref.coef_).max())
            np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas, coefs, _ = ml.lasso_path(Xc, yc, n_alphas=15, tol=1e-10)
    np.testing.assert_allclose(alphas[0], np.max(np.abs(Xc.T @ yc)) / len(yc))  # the all-zero alpha
    np.testing.assert_allclose(alphas[-1], alphas[0] * 1e-3)
    ref_alphas, ref_coefs, _ = skl.lasso_path(Xc, yc, alphas=alphas, tol=1e-10)
    np.testing.assert_allclose(coefs, ref_coefs, atol=1e-6 * np.abs(ref_coefs).max())


@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_gradient_descent_variants_reach_least_squares(batch_size):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) * [1.0, 3.0, 0.5, 2.0] + 5.0
    y = X @ [1.0, -2.0, 0.5, 3.0] + 4.0 + 0.01 * rng.normal(size=200)
    ref = skl.LinearRegression().fit(X, y)
    lr = 0.1 if batch_size is None else 0.01
    ours = ml.LinearRegression(solver="gd", batch_size=batch_size, learning_rate=lr, max_iter=3000,
                               tol=1e-12, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-2 if batch_size else 1e-6)
    assert ours.loss_curve_[-1] <= ours.loss_curve_[0]


@pytest.mark.parametrize("loader", [load_iris, load_breast_cancer])
def test_logistic_regression_matches_sklearn(loader):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = ml.LogisticRegression(C=0.5, tol=1e-10, max_iter=2000).fit(X, y)
    ref = skl.LogisticRegression(C=0.5, tol=1e-10, max_iter=2000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_l1_logistic_regression_matches_saga():
    X, y = load_iris(return_X_y=True)  # saga converges here (not within 5000 epochs on breast_cancer)
    X = StandardScaler().fit_transform(X)
    l1 = ml.LogisticRegression(penalty="l1", C=0.5, tol=1e-6, max_iter=5000).fit(X, y)
    ref1 = skl.LogisticRegression(l1_ratio=1.0, C=0.5, solver="saga", tol=1e-5, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(l1.predict_proba(X), ref1.predict_proba(X), atol=2e-3)
    assert np.mean(l1.coef_ == 0) > 0.1  # the L1 penalty zeroes coefficients


def test_core_rejects_bad_input():
    X = np.zeros((4, 2))
    left = np.array([1, -1, -1], dtype=np.int64)
    right = np.array([2, -1, -1], dtype=np.int64)
    feat = np.array([0, -2, -2], dtype=np.int64)
    thr = np.zeros(3)
    assert _core.tree_apply(X, left, right, feat, thr).tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="child outside"):
        _core.tree_apply(X, np.array([0, -1, -1], dtype=np.int64), right, feat, thr)
    with pytest.raises(ValueError, match="feature 5"):
        _core.tree_apply(X, left, right, np.array([5, -2, -2], dtype=np.int64), thr)
    with pytest.raises(TypeError, match="float64"):
        _core.tree_apply(X.astype(np.float32), left, right, feat, thr)
    codes = np.zeros((2, 4), dtype=np.uint16)
    codes[0, 0] = 9
    with pytest.raises(ValueError, match="holds bin 9"):
        _core.tree_build(codes, np.array([3, 3], dtype=np.int32), "gini", np.zeros(4, np.int32), n_classes=2)
    with pytest.raises(ValueError, match="class index"):
        _core.tree_build(np.zeros((2, 4), np.uint16), np.array([3, 3], dtype=np.int32), "gini",
                         np.full(4, 2, np.int32), n_classes=2)
    with pytest.raises(ValueError, match="criterion"):
        _core.tree_build(np.zeros((2, 4), np.uint16), np.array([3, 3], dtype=np.int32), "mae", np.zeros(4))
    with pytest.raises(ValueError, match="columns"):
        _core.kmeans_assign(X, np.zeros(4), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="Fortran"):
        _core.enet_coordinate_descent(np.zeros((4, 3)), np.zeros(4), np.zeros(3), 1.0, 0.0, 10, 1e-4)
    # empty and NaN input never reaches the core
    with pytest.raises(ValueError, match="NaN"):
        ml.RandomForestClassifier(n_estimators=2).fit([[np.nan, 1.0], [0.0, 1.0]], [0, 1])
    with pytest.raises(ValueError, match="0 sample"):
        ml.KMeans(2).fit(np.zeros((0, 3)))


@pytest.mark.parametrize("n,d,m", [(1, 1, 1), (7, 3, 2), (5000, 16, 5)])
def test_core_pairwise_sq_distances(n, d, m):
    rng = np.random.default_rng(n)
    X, C = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    ref = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    got = _core.pairwise_sq_distances(X, np.einsum("ij,ij->i", X, X), C)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    labels, dist, inertia, sums, counts = _core.kmeans_assign(X, np.einsum("ij,ij->i", X, X), C)
    np.testing.assert_array_equal(labels, ref.argmin(1))
    np.testing.assert_allclose(inertia, ref.min(1).sum(), rtol=1e-10)
    np.testing.assert_allclose(sums, [X[labels == j].sum(0) for j in range(m)], atol=1e-9)
    np.testing.assert_allclose(counts, np.bincount(labels, minlength=m))


def test_gradient_boosting_verbose_shows_progress_only_when_asked(capsys):
    from grimoire.ml import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    quiet = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""
    loud = GradientBoostingClassifier(n_estimators=5, random_state=0, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "GradientBoostingClassifier" in err and "train_loss" in err
    np.testing.assert_array_equal(quiet.predict_proba(X), loud.predict_proba(X))


def test_kmeans_verbose_shows_progress_only_when_asked(capsys):
    X = np.random.default_rng(1).normal(size=(300, 3))
    quiet = ml.KMeans(n_clusters=3, n_init=3, random_state=0).fit(X)
    assert capsys.readouterr().err == ""
    loud = ml.KMeans(n_clusters=3, n_init=3, random_state=0, verbose=1).fit(X)
    assert "KMeans" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.labels_, loud.labels_)


def _verbose_cases():
    from grimoire import _core

    n_trees = 8 * _core.get_num_threads() + 3  # more than one batch of trees with verbose
    return [
        ("RandomForestClassifier", lambda v: ml.RandomForestClassifier(n_estimators=n_trees, oob_score=True,
                                                                       random_state=0, verbose=v),
         lambda m, X: np.hstack([m.predict_proba(X), m.oob_decision_function_])),
        ("RandomForestRegressor", lambda v: ml.RandomForestRegressor(n_estimators=n_trees, random_state=0,
                                                                     verbose=v),
         lambda m, X: m.predict(X)),
        ("SVC", lambda v: ml.SVC(verbose=v), lambda m, X: m.decision_function(X)),
        ("TSNE", lambda v: ml.TSNE(perplexity=5, max_iter=250, random_state=0, verbose=v),
         lambda m, X: m.embedding_),
        ("UMAP", lambda v: ml.UMAP(n_neighbors=5, n_epochs=30, random_state=0, verbose=v),
         lambda m, X: m.embedding_),
    ]


@pytest.mark.parametrize("case", _verbose_cases(), ids=lambda c: c[0])
def test_verbose_shows_progress_only_when_asked_and_changes_nothing(case, capsys):
    name, make, result = case
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    fit = (lambda m: m.fit(X)) if name in ("TSNE", "UMAP") else (lambda m: m.fit(X, y))
    quiet = fit(make(0))
    assert capsys.readouterr().err == ""
    loud = fit(make(1))
    err = capsys.readouterr().err
    assert name.split("Classifier")[0].split("Regressor")[0] in err
    np.testing.assert_array_equal(result(quiet, X), result(loud, X))
