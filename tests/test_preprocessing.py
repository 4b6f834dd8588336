"""grimoire.preprocessing against sklearn.preprocessing / sklearn.impute / sklearn.feature_extraction."""

import numpy as np
import pytest
import sklearn.feature_extraction as skfe
import sklearn.impute as ski
import sklearn.preprocessing as skp
from grimoire import preprocessing as P
from grimoire.ml.base import NotFittedError, clone
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 5), seed=st.integers(0, 1000))
def test_scalers(n, d, seed):
    r = np.random.default_rng(seed)
    X = r.normal(2, 3, (n, d))
    X[:, 0] = 1.5  # a constant column
    np.testing.assert_allclose(P.StandardScaler().fit_transform(X), skp.StandardScaler().fit_transform(X),
                               atol=1e-12)
    np.testing.assert_allclose(P.MinMaxScaler((-1, 2)).fit_transform(X),
                               skp.MinMaxScaler((-1, 2)).fit_transform(X), atol=1e-12)
    s = P.StandardScaler().fit(X)
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, atol=1e-12)


def test_imputer():
    X = np.array([[1.0, np.nan, 3], [np.nan, 2, 3], [7, 2, np.nan], [4, 5, 6]])
    for strategy in ("mean", "median", "most_frequent"):
        np.testing.assert_allclose(P.SimpleImputer(strategy=strategy).fit_transform(X),
                                   ski.SimpleImputer(strategy=strategy).fit_transform(X))
    np.testing.assert_allclose(P.SimpleImputer(strategy="constant", fill_value=-1).fit_transform(X),
                               ski.SimpleImputer(strategy="constant", fill_value=-1).fit_transform(X))
    with pytest.raises(ValueError, match="strategy"):
        P.SimpleImputer(strategy="mode").fit(X)
    with pytest.raises(NotFittedError):
        P.SimpleImputer().transform(X)
    with pytest.raises(ValueError, match="features"):
        P.SimpleImputer().fit(X).transform(X[:, :2])


def test_power_and_log():
    r = np.random.default_rng(0)
    X = np.c_[r.exponential(2, 200), r.lognormal(0, 1, 200)]
    for method in ("yeo-johnson", "box-cox"):
        ours, ref = P.PowerTransformer(method).fit(X), skp.PowerTransformer(method=method).fit(X)
        np.testing.assert_allclose(ours.lambdas_, ref.lambdas_, rtol=1e-5)
        np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-5)
    Xneg = np.c_[r.normal(0, 1, 100)]
    np.testing.assert_allclose(P.PowerTransformer().fit(Xneg).lambdas_,
                               skp.PowerTransformer().fit(Xneg).lambdas_, rtol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        P.PowerTransformer("box-cox").fit(Xneg)
    np.testing.assert_allclose(P.LogTransformer().fit_transform(X), np.log1p(X))


def test_kbins():
    r = np.random.default_rng(0)
    X = r.normal(size=(50, 3))
    for encode in ("ordinal", "onehot"):
        ref = skp.KBinsDiscretizer(n_bins=4, encode="onehot-dense" if encode == "onehot" else encode,
                                   strategy="uniform").fit_transform(X)
        ours = P.KBinsDiscretizer(4, encode=encode, strategy="uniform").fit_transform(X)
        np.testing.assert_array_equal(ours, ref)
    q = P.KBinsDiscretizer(4, strategy="quantile").fit_transform(X)
    for j in range(3):  # equal counts: 50 samples in 4 bins
        assert sorted(np.bincount(q[:, j].astype(int)).tolist()) == [12, 12, 13, 13]


def test_encoders():
    X = np.array([["red", "S"], ["green", "M"], ["red", "L"], ["blue", "M"]], dtype=object)
    np.testing.assert_array_equal(P.OneHotEncoder().fit_transform(X),
                                  skp.OneHotEncoder(sparse_output=False).fit_transform(X))
    np.testing.assert_array_equal(P.OneHotEncoder(drop="first").fit_transform(X),
                                  skp.OneHotEncoder(sparse_output=False, drop="first").fit_transform(X))
    enc = P.OneHotEncoder(handle_unknown="ignore").fit(X)
    assert enc.transform(np.array([["pink", "S"]], dtype=object)).sum() == 1
    with pytest.raises(ValueError, match="unknown"):
        P.OneHotEncoder().fit(X).transform(np.array([["pink", "S"]], dtype=object))
    np.testing.assert_array_equal(P.OneHotEncoder().fit(X).get_feature_names_out(),
                                  skp.OneHotEncoder().fit(X).get_feature_names_out())
    np.testing.assert_array_equal(P.OrdinalEncoder().fit_transform(X), skp.OrdinalEncoder().fit_transform(X))
    order = [["red", "green", "blue"], ["S", "M", "L"]]
    np.testing.assert_array_equal(P.OrdinalEncoder(categories=order).fit_transform(X),
                                  skp.OrdinalEncoder(categories=order).fit_transform(X))
    y = ["b", "a", "c", "a"]
    le = P.LabelEncoder().fit(y)
    np.testing.assert_array_equal(le.transform(y), skp.LabelEncoder().fit_transform(y))
    np.testing.assert_array_equal(le.inverse_transform([0, 2]), ["a", "c"])
    with pytest.raises(ValueError, match="unseen"):
        le.transform(["z"])


def test_feature_hasher_matches_sklearn():
    from sklearn.utils import murmurhash3_32
    for s in ["", "a", "ab", "abc", "abcd", "abcde", "dog=1", "ünïcødé"]:
        assert P.murmurhash3_32(s) == murmurhash3_32(s)
        assert P.murmurhash3_32(s, seed=7, positive=True) == murmurhash3_32(s, seed=7, positive=True)
    D = [{"dog": 1, "cat": 2, "elephant": 4}, {"dog": 2, "run": 5, "color": "red"}]
    for alt in (True, False):
        ours = P.FeatureHasher(16, alternate_sign=alt).transform(D)
        ref = skfe.FeatureHasher(16, alternate_sign=alt).transform(D).toarray()
        np.testing.assert_array_equal(ours, ref)
    S = [["a", "b", "a"], ["c"]]
    np.testing.assert_array_equal(P.FeatureHasher(8, input_type="string").transform(S),
                                  skfe.FeatureHasher(8, input_type="string").transform(S).toarray())


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 4), degree=st.integers(0, 3), inter=st.booleans(), bias=st.booleans())
def test_polynomial(d, degree, inter, bias):
    X = np.random.default_rng(d).normal(size=(6, d))
    if degree == 0 and not bias:
        return
    ours = P.PolynomialFeatures(degree, interaction_only=inter, include_bias=bias).fit(X)
    ref = skp.PolynomialFeatures(degree, interaction_only=inter, include_bias=bias).fit(X)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-12)
    np.testing.assert_array_equal(ours.powers_, ref.powers_)


def test_cyclical_time():
    t = np.array(["2024-01-06T23:00", "2024-01-07T00:00", "2024-12-31T12:30", "2024-03-04T06:00"],
                 dtype="datetime64[m]")
    f = P.cyclical_time_features(t)
    np.testing.assert_array_equal(f["hour"], [23, 0, 12, 6])
    np.testing.assert_array_equal(f["weekday"], [5, 6, 1, 0])  # Sat, Sun, Tue, Mon
    np.testing.assert_array_equal(f["month"], [1, 1, 12, 3])
    np.testing.assert_array_equal(f["is_weekend"], [1, 1, 0, 0])
    # 23:00 and 00:00 are neighbours on the circle
    d = np.hypot(f["hour_sin"][0] - f["hour_sin"][1], f["hour_cos"][0] - f["hour_cos"][1])
    assert d == pytest.approx(2 * np.sin(np.pi / 24))
    np.testing.assert_allclose(f["month_sin"] ** 2 + f["month_cos"] ** 2, 1.0)


def test_outliers():
    x = np.r_[np.arange(20.0), 100.0]
    assert np.flatnonzero(P.iqr_outliers(x)).tolist() == [20]
    assert np.flatnonzero(P.zscore_outliers(x, 3.0)).tolist() == [20]
    c = P.OutlierClipper("iqr").fit(x[:, None])
    q1, q3 = np.percentile(x, [25, 75])
    assert c.transform(x[:, None]).max() == pytest.approx(q3 + 1.5 * (q3 - q1))
    with pytest.raises(ValueError, match="NaN"):
        P.iqr_outliers([1.0, np.nan])


def test_smote():
    r = np.random.default_rng(0)
    X = np.r_[r.normal(0, 1, (40, 2)), r.normal(5, 0.5, (6, 2))]
    y = np.r_[np.zeros(40, int), np.ones(6, int)]
    Xr, yr = P.SMOTE(k_neighbors=3, random_state=0).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [40, 40]
    np.testing.assert_array_equal(Xr[:46], X)
    minority = X[6 * 0 + 40:]
    for p in Xr[46:]:  # every synthetic point lies on a segment between two minority samples
        ok = False
        for a in minority:
            for b in minority:
                if a is b:
                    continue
                ab, ap = b - a, p - a
                u = ap @ ab / (ab @ ab) if ab @ ab > 0 else -1
                if 0 <= u <= 1 and np.allclose(a + u * ab, p, atol=1e-9):
                    ok = True
        assert ok
    with pytest.raises(ValueError, match="at least 2"):
        P.SMOTE().fit_resample(np.zeros((3, 1)), [0, 0, 1])


def test_dedup_and_leakage():
    rows = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2]])
    assert sorted(P.exact_duplicates(rows)) == [[0, 2, 5], [1, 4]]
    assert P.exact_duplicates(["a", "b", "a"]) == [[0, 2]]
    base = "the quick brown fox jumps over the lazy dog near the river bank at dawn"
    texts = [base, base.replace("lazy", "lazzy"), "completely different sentence about linear algebra",
             base.upper(), "another unrelated line of text on statistics"]
    pairs = {(i, j) for i, j, _ in P.near_duplicates(texts, threshold=0.7)}
    assert (0, 1) in pairs and (0, 3) in pairs and (1, 3) in pairs
    assert not any(2 in p or 4 in p for p in pairs)
    mh = P.MinHash(256, seed=0)
    a, b = set(range(0, 100)), set(range(50, 150))  # Jaccard 50/150
    assert P.MinHash.jaccard(mh.signature(a), mh.signature(b)) == pytest.approx(1 / 3, abs=0.08)
    rep = P.leakage_check(rows[:4], np.array([[1, 2], [9, 9]]))
    assert rep["test_rows_in_train"] == [0] and rep["leak"]
    Xl = np.c_[np.arange(10.0), np.random.default_rng(0).normal(size=10)]
    assert P.leakage_check(Xl, Xl[:0] + 100, y_train=np.arange(10.0) * 2 + 1)["target_like_features"] == [0]


def test_estimator_contract():
    s = P.StandardScaler(with_mean=False)
    assert s.get_params() == {"with_mean": False, "with_std": True}
    c = clone(s.set_params(with_std=False))
    assert c.get_params() == {"with_mean": False, "with_std": False} and not hasattr(c, "mean_")
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        s.set_params(nope=1)
    with pytest.raises(ValueError, match="NaN"):
        P.StandardScaler().fit([[np.nan]])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        P.MinMaxScaler().fit([1.0, 2.0])
    with pytest.raises(ValueError, match="0 sample"):
        P.StandardScaler().fit(np.zeros((0, 2)))


def test_drops_into_sklearn_pipeline():
    from sklearn.base import clone as sk_clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    r = np.random.default_rng(0)
    X = r.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    ours = make_pipeline(P.StandardScaler(), P.PolynomialFeatures(2), LogisticRegression()).fit(X, y)
    ref = make_pipeline(skp.StandardScaler(), skp.PolynomialFeatures(2), LogisticRegression()).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)
    c = sk_clone(P.MinMaxScaler((0, 2)))
    assert c.get_params() == {"clip": False, "feature_range": (0, 2)}


# ---------------------------------------------------------------------------------------------
# scikit-learn's feature-name conventions: feature_names_in_, get_feature_names_out, set_output
# ---------------------------------------------------------------------------------------------
def _feature_frame():
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(1, 5, 40).astype(float), "income": rng.random(40) * 3,
                         "height": rng.random(40) + 1}, index=np.arange(100, 140))


_NAME_PAIRS = [
    ("StandardScaler", {}), ("MinMaxScaler", {}), ("SimpleImputer", {}), ("PowerTransformer", {}),
    ("KBinsDiscretizer", {"n_bins": 3, "encode": "ordinal"}), ("PolynomialFeatures", {"degree": 2}),
    ("OneHotEncoder", {}), ("OrdinalEncoder", {}),
]


@pytest.mark.parametrize("name, params", _NAME_PAIRS)
def test_feature_names_match_sklearn(name, params):
    import grimoire.preprocessing as gp
    import sklearn.preprocessing as skp
    from sklearn.impute import SimpleImputer as SkImputer

    X = _feature_frame()
    if name in ("OneHotEncoder", "OrdinalEncoder"):
        X = X[["age"]].astype(int).astype(str).assign(city=np.where(X["income"] > 1.5, "a", "b"))
    ours = getattr(gp, name)(**params).fit(X)
    sk_params = {**params, "sparse_output": False} if name == "OneHotEncoder" else params  # ours is dense
    theirs = (SkImputer if name == "SimpleImputer" else getattr(skp, name))(**sk_params).fit(X)
    np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    np.testing.assert_array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    np.testing.assert_array_equal(ours.get_feature_names_out(list(X.columns)),
                                  theirs.get_feature_names_out(list(X.columns)))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        ours.get_feature_names_out(["nope"] * X.shape[1])
    # set_output(transform="pandas"): a DataFrame with those columns and the input's index
    out = ours.set_output(transform="pandas").transform(X)
    ref = theirs.set_output(transform="pandas").transform(X)
    assert list(out.columns) == list(ref.columns) and out.index.equals(ref.index)
    np.testing.assert_allclose(out.to_numpy(dtype=float), ref.to_numpy(dtype=float), rtol=1e-6, atol=1e-9)
    assert isinstance(ours.set_output(transform="default").transform(X), np.ndarray)


def test_feature_names_from_arrays_and_mismatch_warnings():
    from grimoire.preprocessing import OneHotEncoder, StandardScaler

    X = _feature_frame()
    s = StandardScaler().fit(X.to_numpy())
    assert not hasattr(s, "feature_names_in_")
    assert list(s.get_feature_names_out()) == ["x0", "x1", "x2"]
    with pytest.warns(UserWarning, match="X has feature names, but StandardScaler was fitted without"):
        s.transform(X)
    s.fit(X)
    with pytest.raises(ValueError, match="The feature names should match those that were passed during fit"):
        s.transform(X[["income", "age", "height"]])
    enc = OneHotEncoder().fit(np.array([["a"], ["b"]], dtype=object))
    assert list(enc.get_feature_names_out()) == ["x0_a", "x0_b"]
    with pytest.raises(ValueError, match="transform must be 'default', 'pandas' or None"):
        enc.set_output(transform="polars!")


def test_set_output_follows_sklearn_config_context():
    import pandas as pd
    import sklearn
    from grimoire.preprocessing import StandardScaler

    X = _feature_frame()
    with sklearn.config_context(transform_output="pandas"):
        out = StandardScaler().fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(X.columns)
