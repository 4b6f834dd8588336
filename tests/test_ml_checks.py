"""scikit-learn's own estimator checks (``parametrize_with_checks``) on every grimoire.ml estimator.

The ensembles run with few trees so the whole file stays fast; the contract checked does not
depend on the number of trees. Expected failures are declared by the estimators themselves.
"""

import warnings

from grimoire.ml import (  # noqa: E402
    PCA,
    SVC,
    TSNE,
    UMAP,
    AgglomerativeClustering,
    BisectingKMeans,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ElasticNet,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    KMeans,
    Lasso,
    LinearRegression,
    LinearSVC,
    LogisticRegression,
    RandomForestClassifier,
    RandomForestRegressor,
    Ridge,
)
from grimoire.ml.base import expected_failed_checks  # noqa: E402
from grimoire.preprocessing import (  # noqa: E402
    KBinsDiscretizer,
    LogTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    OutlierClipper,
    PolynomialFeatures,
    PowerTransformer,
    SimpleImputer,
    StandardScaler,
)
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

ESTIMATORS = [
    DecisionTreeClassifier(random_state=0),
    DecisionTreeRegressor(random_state=0),
    RandomForestClassifier(n_estimators=5, random_state=0),
    RandomForestRegressor(n_estimators=5, random_state=0),
    GradientBoostingClassifier(n_estimators=5, random_state=0),
    GradientBoostingRegressor(n_estimators=5, random_state=0),
    KMeans(n_clusters=3, random_state=0),
    PCA(),
    LinearRegression(),
    Ridge(),
    Lasso(alpha=0.01),
    ElasticNet(alpha=0.01),
    LogisticRegression(),
    SVC(),
    LinearSVC(random_state=0),
    AgglomerativeClustering(),
    AgglomerativeClustering(linkage="single"),
    BisectingKMeans(3, random_state=0),
    TSNE(perplexity=2, max_iter=250, random_state=0),
    UMAP(n_neighbors=5, n_epochs=30, random_state=0),
    # the preprocessing transformers (OneHotEncoder as scikit-learn checks its own: unknown
    # categories ignored, since the checks transform data with categories unseen at fit)
    SimpleImputer(),
    StandardScaler(),
    MinMaxScaler(),
    LogTransformer(),
    PowerTransformer(),
    KBinsDiscretizer(n_bins=3),
    KBinsDiscretizer(n_bins=3, encode="onehot"),
    OneHotEncoder(handle_unknown="ignore"),
    OrdinalEncoder(),
    PolynomialFeatures(),
    OutlierClipper(),
]

# Expected failures are declared by each estimator (ml.base: `_expected_failed_checks`, with the
# reason), not listed here: a check that fails and is not declared fails this test.

# grimoire's estimators implement the contract without inheriting sklearn.base.BaseEstimator (the
# runtime needs only NumPy); sklearn warns about that when it collects the checks, nothing more.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
    checks = parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)


@checks
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
        check(estimator)


# Outside the contract check_estimator tests (an estimator fitted on a 2-D float X). scikit-learn
# tags its own LabelEncoder/FeatureHasher so the checks skip them; grimoire's do not declare those
# input tags yet (issue 12 item 7, left open), and SMOTE is a sampler (fit_resample).
NOT_CHECKED = {
    "LabelEncoder": "fits y (1-D labels), not X",
    "FeatureHasher": "takes dicts or strings, not a 2-D array",
    "SMOTE": "a sampler (fit_resample), imbalanced-learn's contract",
}


def test_every_estimator_and_transformer_is_checked():
    import grimoire.ml
    import grimoire.preprocessing
    from grimoire.ml.base import BaseEstimator

    public = {obj for mod in (grimoire.ml, grimoire.preprocessing) for obj in
              (getattr(mod, name) for name in getattr(mod, "__all__", dir(mod)))
              if isinstance(obj, type) and issubclass(obj, BaseEstimator) and obj is not BaseEstimator}
    checked = {type(e) for e in ESTIMATORS}
    missing = sorted(c.__name__ for c in public - checked if c.__name__ not in NOT_CHECKED)
    assert not missing, f"add these to ESTIMATORS: {missing}"
