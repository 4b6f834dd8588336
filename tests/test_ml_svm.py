"""grimoire.ml.SVC / LinearSVC against scikit-learn (LIBSVM / LIBLINEAR): the same support vectors,
dual coefficients and intercepts, the same predictions, CV accuracy within a point, and sklearn's
estimator checks."""


import warnings

import numpy as np
import pytest
from grimoire import _core  # noqa: E402
from grimoire.ml import SVC, ConvergenceWarning, LinearSVC  # noqa: E402
from sklearn import datasets, svm  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def _scaled(name):
    X, y = getattr(datasets, "load_" + name)(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly", "sigmoid"])
def test_svc_matches_libsvm(name, kernel):
    X, y = _scaled(name)
    ours, ref = SVC(kernel=kernel).fit(X, y), svm.SVC(kernel=kernel).fit(X, y)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    np.testing.assert_allclose(ours.support_vectors_, ref.support_vectors_)
    # Both stop at the same KKT tolerance (1e-3), LIBSVM with shrinking: equal to that precision.
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-2)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-2)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-2)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    if kernel == "linear":
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-2)


def test_svc_ovo_shape_and_gamma_options():
    X, y = _scaled("iris")
    for gamma in ("auto", 0.3):
        ours = SVC(gamma=gamma, decision_function_shape="ovo", C=3.0).fit(X, y)
        ref = svm.SVC(gamma=gamma, decision_function_shape="ovo", C=3.0).fit(X, y)
        assert ours.decision_function(X).shape == (150, 3)
        np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-2)


def test_svc_sample_weight_scales_c():
    X, y = _scaled("breast_cancer")
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    ours, ref = SVC().fit(X, y, sample_weight=w), svm.SVC().fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-2)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_svc_cv_accuracy_within_a_point(name):
    X, y = getattr(datasets, "load_" + name)(return_X_y=True)
    if name == "digits":
        X, y = X[:600], y[:600]
    ours = cross_val_score(make_pipeline(StandardScaler(), SVC()), X, y, cv=5).mean()
    ref = cross_val_score(make_pipeline(StandardScaler(), svm.SVC()), X, y, cv=5).mean()
    assert ours >= ref - 0.01


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
def test_linear_svc_accuracy(name):
    X, y = _scaled(name)
    ours = cross_val_score(LinearSVC(random_state=0), X, y, cv=5).mean()
    ref = cross_val_score(svm.LinearSVC(random_state=0), X, y, cv=5).mean()
    assert ours >= ref - 0.01


@pytest.mark.parametrize("dual", [True, False])
def test_linear_svc_matches_liblinear_objective(dual):
    X, y = _scaled("breast_cancer")
    ours = LinearSVC(C=0.5, dual=dual, tol=1e-6, max_iter=2000, random_state=0).fit(X, y)
    ref = svm.LinearSVC(C=0.5, tol=1e-8, max_iter=100000, random_state=0).fit(X, y)

    def objective(coef, b):
        w = np.append(coef.ravel(), b)
        margin = np.where(y == 1, 1, -1) * (X @ coef.ravel() + b)
        return 0.5 * w @ w + 0.5 * np.sum(np.maximum(0, 1 - margin) ** 2)

    assert objective(ours.coef_, ours.intercept_[0]) <= objective(ref.coef_, ref.intercept_[0]) * (1 + 1e-4)


def test_linear_svc_primal_converges_on_uncentred_data():
    # scikit-learn's estimator checks fit features around 100: dual coordinate descent needs more than
    # 1e5 epochs there (LIBLINEAR's too), so dual='auto' takes the primal as scikit-learn does.
    rng = np.random.RandomState(0)
    X, y = rng.normal(loc=100, size=(100, 2)), rng.randint(0, 2, size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = LinearSVC(random_state=0).fit(X, y)
        ref = svm.LinearSVC(tol=1e-10, max_iter=100000, random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-4)
    assert ours.n_iter_ < 200
    with pytest.warns(ConvergenceWarning):
        LinearSVC(dual=True, random_state=0).fit(X, y)


def test_linear_svc_dual_argument():
    X, y = _scaled("iris")
    with pytest.raises(ValueError, match="dual=False is not supported with loss='hinge'"):
        LinearSVC(loss="hinge", dual=False).fit(X, y)
    with pytest.raises(ValueError, match="dual must be 'auto', True or False"):
        LinearSVC(dual="yes").fit(X, y)
    a = LinearSVC(loss="hinge", random_state=0).fit(X, y)  # 'auto' takes the dual for the hinge
    b = LinearSVC(loss="hinge", dual=True, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_svc_threads_do_not_change_the_result():
    X, y = _scaled("wine")
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        a = SVC().fit(X, y).decision_function(X)
        _core.set_num_threads(2)
        b = SVC().fit(X, y).decision_function(X)
    finally:
        _core.set_num_threads(before)
    np.testing.assert_array_equal(a, b)


def test_svc_bad_input():
    X, y = _scaled("iris")
    with pytest.raises(ValueError, match="kernel"):
        SVC(kernel="cubic").fit(X, y)
    with pytest.raises(ValueError, match="C must"):
        SVC(C=0).fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        SVC(gamma=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="greater than one"):
        SVC().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="y must hold only"):
        _core.svm_smo(X, np.full(150, 2.0), np.ones(150), "rbf", 1.0, 0.0, 3, 1e-3, -1, 10.0)
    with pytest.raises(ValueError, match="C must be finite"):
        _core.svm_smo(X, np.where(y == 0, 1.0, -1.0), np.zeros(150), "rbf", 1.0, 0.0, 3, 1e-3, -1, 10.0)
    with pytest.raises(TypeError, match="float64"):
        _core.svm_smo(X.astype(np.float32), np.where(y == 0, 1.0, -1.0), np.ones(150), "rbf", 1.0, 0.0, 3,
                      1e-3, -1, 10.0)
    with pytest.raises(ValueError, match="same number of columns"):
        _core.svm_kernel(X, X[:, :2].copy(), "rbf", 1.0, 0.0, 3)


def test_svc_kernel_matrix_matches_sklearn():
    from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel

    X = np.random.RandomState(1).randn(37, 5)
    Y = np.random.RandomState(2).randn(11, 5)
    np.testing.assert_allclose(_core.svm_kernel(X, Y, "rbf", 0.3, 0.0, 3), rbf_kernel(X, Y, gamma=0.3))
    np.testing.assert_allclose(_core.svm_kernel(X, Y, "poly", 0.3, 1.0, 3),
                               polynomial_kernel(X, Y, degree=3, gamma=0.3, coef0=1.0))
