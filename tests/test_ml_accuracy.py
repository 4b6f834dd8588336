"""Accuracy parity: 5-fold cross-validated accuracy (R^2 on diabetes) of each grimoire.ml estimator
within 1 point of the scikit-learn estimator with the same hyperparameters, on scikit-learn's bundled
datasets. Randomised estimators are averaged over a few seeds on both sides, so the comparison is of
the algorithms, not of one random draw."""

import numpy as np
import pytest
from grimoire import ml  # noqa: E402
from sklearn import ensemble as ske  # noqa: E402
from sklearn import linear_model as skl  # noqa: E402
from sklearn import tree as skt  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

CLASSIFICATION = [load_iris, load_wine, load_breast_cancer, load_digits]
SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def one_thread():
    """One thread for both libraries: the comparison is of accuracy, and OpenMP libraries slow to a
    crawl when the machine's cores are shared."""
    import grimoire
    from threadpoolctl import threadpool_limits

    before = grimoire.get_num_threads()
    grimoire.set_num_threads(1)
    with threadpool_limits(1):
        yield
    grimoire.set_num_threads(before)


def cv_score(make, X, y, seeds, classifier=True):
    cv = (StratifiedKFold if classifier else KFold)(5, shuffle=True, random_state=0)
    return np.mean([cross_val_score(make(s), X, y, cv=cv).mean() for s in seeds])


CLASSIFIERS = {
    "tree": (lambda s: ml.DecisionTreeClassifier(min_samples_leaf=3, random_state=s),
             lambda s: skt.DecisionTreeClassifier(min_samples_leaf=3, random_state=s), SEEDS),
    "forest": (lambda s: ml.RandomForestClassifier(n_estimators=20, random_state=s),
               lambda s: ske.RandomForestClassifier(n_estimators=20, random_state=s), SEEDS),
    # the same algorithm (second-order histogram boosting, best-first 31-leaf trees) in sklearn:
    "boosting": (lambda s: ml.GradientBoostingClassifier(n_estimators=20, max_depth=None, max_leaf_nodes=31,
                                                         min_samples_leaf=20),
                 lambda s: ske.HistGradientBoostingClassifier(max_iter=20, early_stopping=False), (0,)),
    "logistic": (lambda s: make_pipeline(StandardScaler(), ml.LogisticRegression(max_iter=500)),
                 lambda s: make_pipeline(StandardScaler(), skl.LogisticRegression(max_iter=500)), (0,)),
}


@pytest.mark.slow
@pytest.mark.parametrize("loader", CLASSIFICATION, ids=lambda f: f.__name__[5:])
@pytest.mark.parametrize("kind", list(CLASSIFIERS))
def test_classifier_accuracy_parity(kind, loader):
    X, y = loader(return_X_y=True)
    ours, ref, seeds = CLASSIFIERS[kind]
    a, b = cv_score(ours, X, y, seeds), cv_score(ref, X, y, seeds)
    assert a >= b - 0.01, f"{kind} on {loader.__name__}: grimoire {a:.4f} vs sklearn {b:.4f}"


REGRESSORS = {
    "linear": (lambda s: ml.LinearRegression(), lambda s: skl.LinearRegression(), (0,)),
    "ridge": (lambda s: ml.Ridge(1.0), lambda s: skl.Ridge(1.0), (0,)),
    "lasso": (lambda s: ml.Lasso(0.1), lambda s: skl.Lasso(0.1), (0,)),
    "elasticnet": (lambda s: ml.ElasticNet(0.001, l1_ratio=0.5),
                   lambda s: skl.ElasticNet(0.001, l1_ratio=0.5), (0,)),
    "tree": (lambda s: ml.DecisionTreeRegressor(max_depth=3, random_state=s),
             lambda s: skt.DecisionTreeRegressor(max_depth=3, random_state=s), SEEDS),
    "forest": (lambda s: ml.RandomForestRegressor(n_estimators=20, min_samples_leaf=5, random_state=s),
               lambda s: ske.RandomForestRegressor(n_estimators=20, min_samples_leaf=5, random_state=s),
               SEEDS),
    "boosting": (lambda s: ml.GradientBoostingRegressor(n_estimators=50, max_depth=2),
                 lambda s: ske.GradientBoostingRegressor(n_estimators=50, max_depth=2), (0,)),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(REGRESSORS))
def test_regressor_r2_parity_on_diabetes(kind):
    X, y = load_diabetes(return_X_y=True)
    ours, ref, seeds = REGRESSORS[kind]
    a, b = cv_score(ours, X, y, seeds, classifier=False), cv_score(ref, X, y, seeds, classifier=False)
    assert a >= b - 0.01, f"{kind}: grimoire R^2 {a:.4f} vs sklearn {b:.4f}"
