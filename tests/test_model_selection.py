"""grimoire.model_selection against sklearn.model_selection."""

import numpy as np
import pytest
import sklearn.model_selection as skms
from grimoire import model_selection as MS
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(2, 6))
def test_kfold_matches_sklearn(n, k):
    if k > n:
        with pytest.raises(ValueError, match="n_splits"):
            list(MS.KFold(k).split(np.zeros(n)))
        return
    ours = list(MS.KFold(k).split(np.zeros(n)))
    ref = list(skms.KFold(k).split(np.zeros(n)))
    for (a, b), (c, d) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    shuffled = list(MS.KFold(k, shuffle=True, random_state=0).split(np.zeros(n)))
    assert sorted(np.concatenate([t for _, t in shuffled]).tolist()) == list(range(n))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(2, 5), n_classes=st.integers(2, 4))
def test_stratified_kfold_matches_sklearn(seed, k, n_classes):
    r = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), k) if seed % 2 else r.integers(0, n_classes, 40)
    y = np.r_[y, np.repeat(np.arange(n_classes), k)]  # every class has >= k members
    r.shuffle(y)
    ours = list(MS.StratifiedKFold(k).split(np.zeros(y.size), y))
    ref = list(skms.StratifiedKFold(k).split(np.zeros(y.size), y))
    for (a, b), (c, d) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    for _, test in MS.StratifiedKFold(k, shuffle=True, random_state=1).split(np.zeros(y.size), y):
        for c in range(n_classes):  # each fold holds about 1/k of each class
            assert abs(np.sum(y[test] == c) - np.sum(y == c) / k) <= 1


def test_leave_one_out_and_split():
    ours = list(MS.LeaveOneOut().split(np.zeros(5)))
    ref = list(skms.LeaveOneOut().split(np.zeros(5)))
    for (a, b), (c, d) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    X, y = np.arange(40).reshape(20, 2), np.arange(20)
    Xtr, Xte, ytr, yte = MS.train_test_split(X, y, test_size=0.25, random_state=0)
    assert Xtr.shape == (15, 2) and Xte.shape == (5, 2)
    np.testing.assert_array_equal(Xtr[:, 0] // 2, ytr)
    assert sorted(np.r_[ytr, yte].tolist()) == list(range(20))
    a, b = MS.train_test_split(list(range(10)), test_size=3, shuffle=False)
    assert a == list(range(7)) and b == [7, 8, 9]
    ys = np.r_[np.zeros(30), np.ones(10)]
    _, _, ytr, yte = MS.train_test_split(np.zeros((40, 1)), ys, test_size=0.5, stratify=ys, random_state=0)
    assert yte.sum() == 5 and ytr.sum() == 5
    with pytest.raises(ValueError, match="same length"):
        MS.train_test_split(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="test_size"):
        MS.train_test_split(np.zeros(3), test_size=1.5)
    with pytest.raises(ValueError, match="0 samples"):
        MS.train_test_split(np.zeros(0))


def test_cross_val_score_matches_sklearn():
    r = np.random.default_rng(0)
    X = r.standard_normal((60, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 * r.standard_normal(60)
    for scoring in (None, "r2", "neg_mean_squared_error"):
        ours = MS.cross_val_score(Ridge(alpha=1.0), X, y, cv=5, scoring=scoring)
        ref = skms.cross_val_score(Ridge(alpha=1.0), X, y, cv=5, scoring=scoring)
        np.testing.assert_allclose(ours, ref, rtol=1e-10)
    res = MS.cross_validate(LinearRegression(), X, y, cv=4, return_train_score=True)
    assert res["mean_test_score"] == pytest.approx(res["test_score"].mean())
    assert res["var_test_score"] == pytest.approx(res["test_score"].var())
    assert res["train_score"].shape == (4,)
    yc = (X[:, 0] > 0).astype(int)
    ours = MS.cross_val_score(LogisticRegression(), X, yc, cv=5)  # classifier: stratified folds
    ref = skms.cross_val_score(LogisticRegression(), X, yc, cv=5)
    np.testing.assert_allclose(ours, ref)
    with pytest.raises(ValueError, match="unknown scoring"):
        MS.cross_val_score(Ridge(), X, y, scoring="nope")


def test_grid_search_matches_sklearn():
    r = np.random.default_rng(1)
    X = r.standard_normal((80, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.3).astype(int)
    grid = {"max_depth": [1, 2, 3, 5], "min_samples_leaf": [1, 5]}
    ours = MS.GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=4).fit(X, y)
    ref = skms.GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=4).fit(X, y)
    assert ours.best_params_ == ref.best_params_
    assert ours.best_score_ == pytest.approx(ref.best_score_)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


class _Poly:
    def __init__(self, degree=1):
        self.degree = degree

    def get_params(self, deep=True):
        return {"degree": self.degree}

    def set_params(self, **p):
        self.degree = p.get("degree", self.degree)
        return self

    def fit(self, x, y):
        self.coef_ = np.polyfit(np.ravel(x), y, self.degree)
        return self

    def predict(self, x):
        return np.polyval(self.coef_, np.ravel(x))


def test_bias_variance_decomposition():
    def f(x):
        return np.sin(2 * np.pi * np.ravel(x))

    def sample_x(rng, n):
        return rng.uniform(0, 1, n)

    x0 = np.linspace(0.05, 0.95, 50)
    low = MS.bias_variance_decomposition(_Poly(1), f, sample_x, 0.2, n_train=30, n_rounds=150, x_test=x0,
                                         random_state=0)
    high = MS.bias_variance_decomposition(_Poly(9), f, sample_x, 0.2, n_train=30, n_rounds=150, x_test=x0,
                                          random_state=0)
    assert low["bias2"] > high["bias2"] and high["variance"] > low["variance"]
    for d in (low, high):
        assert d["noise"] == pytest.approx(0.04, rel=0.1)
        total = d["bias2"] + d["variance"] + d["noise"]
        assert d["expected_error"] == pytest.approx(total, rel=0.1)
