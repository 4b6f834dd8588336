"""scikit-learn's own estimator checks (``parametrize_with_checks``) on every grimoire.ml estimator.

The ensembles run with few trees so the whole file stays fast; the contract checked does not
depend on the number of trees. Expected failures are listed, with the reason, in EXPECTED_FAILED.
"""

import warnings

from grimoire.ml import (  # noqa: E402
    PCA,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ElasticNet,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    KMeans,
    Lasso,
    LinearRegression,
    LogisticRegression,
    RandomForestClassifier,
    RandomForestRegressor,
    Ridge,
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
]

# The same expectation scikit-learn itself records for its RandomForest* and KMeans: a bootstrap
# (forests) or the k-means++ seeding (KMeans) draws rows at random, and a row of weight 2 is drawn
# differently from two copies of a row, so the fitted models differ by design.
_RANDOM_ROWS = {"check_sample_weight_equivalence_on_dense_data":
                "sample_weight is not equivalent to removing/repeating samples (random row draws)."}
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    "RandomForestClassifier": _RANDOM_ROWS,
    "RandomForestRegressor": _RANDOM_ROWS,
    "KMeans": _RANDOM_ROWS,
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


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
