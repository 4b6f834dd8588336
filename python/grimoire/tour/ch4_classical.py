"""Tour, primer 4.1-4.2: classical machine learning with grimoire.ml."""

from __future__ import annotations

import numpy as np

from .. import datasets, ml
from . import Tour, section


def _iris():
    try:
        from sklearn.datasets import load_iris
    except ImportError:  # the tour's extra brings scikit-learn; fall back to blobs without it
        X, y = datasets.make_blobs(150, centers=3, n_features=4, random_state=0)
        return X, y, [f"x{i}" for i in range(4)], ["0", "1", "2"]
    d = load_iris()
    return d.data, d.target, list(d.feature_names), list(d.target_names)


def _split(X, y, seed=0, frac=0.7):
    idx = np.random.default_rng(seed).permutation(len(y))
    cut = int(frac * len(y))
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


@section("4.1.1", "Linear and logistic regression", "grimoire.ml.linear_model")
def linear_logistic(t: Tour) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, size=(100, 1))
    y = 3.0 * X[:, 0] + 2.0 + rng.normal(size=100)
    t.say("y = 3 x + 2 + noise, 100 points:")
    gd = dict(solver="gd", random_state=0)
    for name, est in [("least squares (lstsq)", ml.LinearRegression()),
                      ("batch gradient descent", ml.LinearRegression(learning_rate=0.1, **gd)),
                      ("stochastic GD (batch 1)", ml.LinearRegression(batch_size=1, learning_rate=0.01,
                                                                      max_iter=50, **gd)),
                      ("mini-batch GD (batch 16)", ml.LinearRegression(batch_size=16, learning_rate=0.05,
                                                                       max_iter=200, **gd))]:
        est.fit(X, y)
        t.say(f"  {name:26s} slope {est.coef_[0]:.3f}  intercept {est.intercept_:.3f}")
    Xi, yi, names, classes = _iris()
    Xtr, ytr, Xte, yte = _split(Xi, yi)
    clf = ml.LogisticRegression(max_iter=500).fit(Xtr, ytr)
    t.say(f"logistic regression (softmax over 3 iris classes): held-out accuracy {clf.score(Xte, yte):.3f}")
    t.show("P(class | first test flower)", np.round(clf.predict_proba(Xte[:1]), 3))
    lasso = ml.Lasso(alpha=0.1).fit(Xi, Xi[:, 2])
    t.say(f"lasso (alpha 0.1) predicting petal length from all four: coefficients {np.round(lasso.coef_, 3)} "
          "(L1 zeroes what it does not need)")


@section("4.1.3", "Decision trees", "grimoire.ml.tree")
def decision_trees(t: Tour) -> None:
    X, y, names, classes = _iris()
    tree = ml.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    t.say("A depth-3 CART tree on iris (gini); its learned rules, readable as they are:")
    for line in ml.export_text(tree, feature_names=names, class_names=classes).splitlines():
        t.say("  " + line)
    t.show("feature importances (total gini decrease)",
           {n: round(float(v), 3) for n, v in zip(names, tree.feature_importances_, strict=True)})
    Xtr, ytr, Xte, yte = _split(X, y)
    for depth in (1, 2, 3, None):
        m = ml.DecisionTreeClassifier(max_depth=depth, random_state=0).fit(Xtr, ytr)
        t.say(f"max_depth={depth!s:4s}: {m.get_n_leaves():2d} leaves, train {m.score(Xtr, ytr):.3f}, "
              f"test {m.score(Xte, yte):.3f}")


@section("4.1.4", "Random forests", "grimoire.ml.ensemble")
def random_forests(t: Tour) -> None:
    X, y = datasets.load_digits()
    X = X.reshape(len(X), -1).astype(np.float64)
    Xtr, ytr, Xte, yte = _split(X, y)
    tree = ml.DecisionTreeClassifier(random_state=0).fit(Xtr, ytr)
    t.say(f"digits (8x8): one full tree, test accuracy {tree.score(Xte, yte):.3f}")
    for n in (20, 60):
        rf = ml.RandomForestClassifier(n_estimators=n, oob_score=True, random_state=0).fit(Xtr, ytr)
        t.say(f"random forest, {n:3d} trees (bootstrap + sqrt(64)=8 features per split): "
              f"test {rf.score(Xte, yte):.3f}, out-of-bag estimate {rf.oob_score_:.3f}")


@section("4.1.5", "Gradient boosting", "grimoire.ml.ensemble")
def gradient_boosting(t: Tour) -> None:
    X, y = datasets.make_moons(600, noise=0.3, random_state=0)
    Xtr, ytr, Xte, yte = _split(X, y)
    t.say("moons (noise 0.3): F_m = F_(m-1) + eta * tree fitted to the log-loss gradient")
    for lr, n in ((1.0, 20), (0.1, 20), (0.1, 200)):
        gb = ml.GradientBoostingClassifier(learning_rate=lr, n_estimators=n, max_depth=3, random_state=0)
        gb.fit(Xtr, ytr)
        t.say(f"learning_rate {lr:3.1f}, {n:3d} rounds: train loss {gb.train_score_[-1]:.3f}, "
              f"test accuracy {gb.score(Xte, yte):.3f}")
    es = ml.GradientBoostingClassifier(n_estimators=1000, n_iter_no_change=10, random_state=0).fit(Xtr, ytr)
    t.say(f"early stopping (10% held out, patience 10): stopped after {es.n_estimators_} of 1000 rounds, "
          f"test {es.score(Xte, yte):.3f}")


@section("4.2.1", "Clustering: k-means", "grimoire.ml.cluster")
def kmeans(t: Tour) -> None:
    X, y = datasets.make_blobs(600, centers=4, n_features=2, random_state=3)
    for k in (2, 3, 4, 5, 6):
        km = ml.KMeans(k, n_init=3, random_state=0).fit(X)
        t.say(f"blobs (4 true clusters), k={k}: inertia {km.inertia_:9.1f}  ({km.n_iter_} Lloyd iterations)")
    t.say("the elbow: inertia drops fast up to the true k, slowly after")
    Xi, yi, _, _ = _iris()
    km = ml.KMeans(3, random_state=0).fit(Xi)
    agree = max(np.mean(np.array(p)[km.labels_] == yi) for p in _perms(3))
    t.say(f"iris, k=3 (labels unseen): clusters match the species for {agree:.1%} of flowers")


def _perms(k):
    import itertools

    return list(itertools.permutations(range(k)))


@section("4.2.2", "Dimensionality reduction: PCA", "grimoire.ml.decomposition")
def pca(t: Tour) -> None:
    X = np.array([[2.0, 1.0], [4.0, 3.0], [6.0, 5.0]])
    p = ml.PCA().fit(X)
    t.show("X", X)
    t.show("mean (primer: [4, 3])", p.mean_)
    t.show("covariance (primer: [[4, 4], [4, 4]])", p.get_covariance())
    t.show("eigenvalues (primer: 8 and 0)", np.round(p.explained_variance_, 12))
    t.show("v1 (primer: [1/sqrt2, 1/sqrt2] up to sign)", p.components_[0])
    t.show("projections on v1 (primer: [-2 sqrt2, 0, 2 sqrt2] = [-2.828, 0, 2.828])", p.transform(X)[:, 0])
    Xd, _ = datasets.load_digits()
    Xd = Xd.reshape(len(Xd), -1).astype(np.float64)
    pd = ml.PCA(0.9).fit(Xd)
    t.say(f"digits (64 pixels): {pd.n_components_} components keep 90% of the variance; the first two "
          f"explain {pd.explained_variance_ratio_[:2].sum():.1%}")
