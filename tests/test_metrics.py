"""grimoire.metrics against sklearn.metrics."""

import numpy as np
import pytest
import sklearn.metrics as skm
from grimoire import metrics as M
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=12, deadline=None)
@given(n=st.integers(3, 40), seed=st.integers(0, 1000))
def test_regression(n, seed):
    r = np.random.default_rng(seed)
    y, p = r.normal(3, 2, n), r.normal(3, 2, n)
    w = r.random(n)
    pairs = [(M.mean_squared_error, skm.mean_squared_error),
             (M.mean_absolute_error, skm.mean_absolute_error), (M.r2_score, skm.r2_score),
             (M.mean_absolute_percentage_error, skm.mean_absolute_percentage_error)]
    for ours, ref in pairs:
        assert ours(y, p) == pytest.approx(ref(y, p), rel=1e-12)
        assert ours(y, p, sample_weight=w) == pytest.approx(ref(y, p, sample_weight=w), rel=1e-12)
    assert M.root_mean_squared_error(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-12)
    r2 = skm.r2_score(y, p)
    assert M.adjusted_r2_score(y, p, 1) == pytest.approx(1 - (1 - r2) * (n - 1) / (n - 2), rel=1e-12)


def test_regression_edges():
    assert M.r2_score([1, 1, 1], [1, 1, 1]) == skm.r2_score([1, 1, 1], [1, 1, 1]) == 1.0
    assert M.r2_score([1, 1, 1], [1, 2, 1]) == skm.r2_score([1, 1, 1], [1, 2, 1]) == 0.0
    with pytest.raises(ValueError, match="zero targets"):
        M.mean_absolute_percentage_error([0, 1], [1, 1])
    assert M.mean_absolute_percentage_error([0, 1], [1, 1], zero_division="epsilon") == pytest.approx(
        skm.mean_absolute_percentage_error([0, 1], [1, 1]))
    assert M.mean_absolute_percentage_error([0, 2], [1, 1], zero_division="ignore") == 0.5
    with pytest.raises(ValueError, match="same length"):
        M.mean_squared_error([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        M.mean_absolute_error([], [])
    with pytest.raises(ValueError, match="NaN"):
        M.mean_squared_error([np.nan], [1])
    with pytest.raises(ValueError, match="n_features"):
        M.adjusted_r2_score([1, 2, 3], [1, 2, 3], 2)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(2, 5), seed=st.integers(0, 1000))
def test_classification(n, k, seed):
    r = np.random.default_rng(seed)
    y, p = r.integers(0, k, n), r.integers(0, k, n)
    y[:2] = [0, 1]
    assert M.accuracy_score(y, p) == pytest.approx(skm.accuracy_score(y, p))
    assert M.accuracy_score(y, p, normalize=False) == skm.accuracy_score(y, p, normalize=False)
    np.testing.assert_array_equal(M.confusion_matrix(y, p), skm.confusion_matrix(y, p))
    labels = list(range(k))
    np.testing.assert_array_equal(M.confusion_matrix(y, p, labels=labels),
                                  skm.confusion_matrix(y, p, labels=labels))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(M.confusion_matrix(y, p, labels=labels, normalize=norm),
                                   skm.confusion_matrix(y, p, labels=labels, normalize=norm))
    for avg in ("micro", "macro", "weighted", None):
        for ours, ref in [(M.precision_score, skm.precision_score), (M.recall_score, skm.recall_score),
                          (M.f1_score, skm.f1_score)]:
            np.testing.assert_allclose(ours(y, p, average=avg), ref(y, p, average=avg, zero_division=0),
                                       rtol=1e-12)
    yb, pb = (y > 0).astype(int), (p > 0).astype(int)
    for ours, ref in [(M.precision_score, skm.precision_score), (M.recall_score, skm.recall_score),
                      (M.f1_score, skm.f1_score)]:
        assert ours(yb, pb) == pytest.approx(ref(yb, pb, zero_division=0))
        assert ours(yb, pb, pos_label=0) == pytest.approx(ref(yb, pb, pos_label=0, zero_division=0))


def test_string_labels_and_binary_errors():
    y = ["cat", "dog", "dog", "cat", "bird"]
    p = ["cat", "dog", "cat", "cat", "dog"]
    np.testing.assert_array_equal(M.confusion_matrix(y, p), skm.confusion_matrix(y, p))
    want = skm.f1_score(y, p, average="macro", zero_division=0)
    assert M.f1_score(y, p, average="macro") == pytest.approx(want)
    with pytest.raises(ValueError, match="binary"):
        M.f1_score(y, p)
    with pytest.raises(ValueError, match="average"):
        M.f1_score([0, 1], [0, 1], average="samples")


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 60), seed=st.integers(0, 1000), ties=st.booleans())
def test_roc(n, seed, ties):
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = r.integers(0, 4, n).astype(float) if ties else r.random(n)
    for drop in (True, False):
        want = skm.roc_curve(y, s, drop_intermediate=drop)
        for a, b in zip(M.roc_curve(y, s, drop_intermediate=drop), want, strict=True):
            np.testing.assert_allclose(a, b)
    auc = skm.roc_auc_score(y, s)
    assert M.roc_auc_score(y, s) == pytest.approx(auc, rel=1e-12)
    assert M.roc_auc_rank(y, s) == pytest.approx(auc, rel=1e-12)


def test_roc_errors_and_auc():
    with pytest.raises(ValueError, match="both"):
        M.roc_auc_score([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="binary"):
        M.roc_curve([0, 1, 2], [0.1, 0.2, 0.3])
    assert M.auc([0, 0.5, 1], [0, 1, 1]) == skm.auc([0, 0.5, 1], [0, 1, 1])


def test_log_loss_and_hinge():
    r = np.random.default_rng(0)
    y = r.integers(0, 2, 50)
    p = r.random(50)
    assert M.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    assert M.binary_cross_entropy(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    assert M.log_loss([0, 1, 1], [0.0, 1.0, 1.0]) == pytest.approx(skm.log_loss([0, 1, 1], [0.0, 1.0, 1.0]))
    y3 = r.integers(0, 3, 40)
    y3[:3] = [0, 1, 2]
    p3 = r.random((40, 3))
    p3 /= p3.sum(1, keepdims=True)
    assert M.log_loss(y3, p3) == pytest.approx(skm.log_loss(y3, p3), rel=1e-12)
    with pytest.raises(ValueError, match="probabilities"):
        M.log_loss([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="sum to 1"):
        M.log_loss([0, 1, 2], [[0.5, 0.2, 0.1]] * 3)
    d = r.normal(size=50)
    yy = np.where(y == 1, 1, -1)
    assert M.hinge_loss(yy, d) == pytest.approx(skm.hinge_loss(yy, d), rel=1e-12)
    d3 = r.normal(size=(40, 3))
    assert M.hinge_loss(y3, d3) == pytest.approx(skm.hinge_loss(y3, d3), rel=1e-12)
