"""``grimoire bench ml``: grimoire.ml's estimators beside scikit-learn (and LightGBM) in one process.

Each row: fit and predict seconds (medians of interleaved runs, :func:`grimoire.bench.compare`)
and the held-out score (accuracy, or R^2 / inertia / explained variance where noted), with the
ratio of scikit-learn's fit time to ours (> 1: grimoire is faster). Same threads for everybody:
``--threads`` (default: grimoire's setting) goes to grimoire, to scikit-learn's ``n_jobs`` and to
LightGBM's ``n_jobs``. ``--small`` divides the sizes by 10 for a quick run.
"""

from __future__ import annotations

import argparse

import numpy as np

from .. import get_num_threads, set_num_threads
from . import compare, table


def _data(n: int, d: int, seed: int = 0, classes: int = 2):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=max(2, d // 2), n_redundant=d // 4,
                               n_classes=classes, random_state=seed)
    cut = int(0.8 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def _row(name, fits: dict, predicts: dict, scores: dict, repeats: int) -> list[list[object]]:
    """Times fits then predictions (the fitted models of the last timed fit), then scores them;
    ``scores`` maps each library to a callable giving its score's text."""
    t_fit = compare(fits, repeats=repeats, min_time=0.0, warmup=0)
    t_pred = compare(predicts, repeats=repeats, min_time=0.0, warmup=0)
    scores = {k: f() for k, f in scores.items()}
    ours = t_fit["grimoire"]
    rows = []
    for who in fits:
        rows.append([name, who, t_fit[who], t_pred[who], scores[who], t_fit[who] / ours])
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="grimoire bench ml", description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="sizes / 10, for a quick run")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", nargs="*", default=None,
                   help="subset of: forest boosting kmeans pca logistic")
    args = p.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("grimoire bench ml needs scikit-learn (pip install 'ml-grimoire[bench]')") from None
    from sklearn import cluster, decomposition, ensemble, linear_model

    from .. import ml

    threads = args.threads or get_num_threads()
    set_num_threads(threads)
    scale = 10 if args.small else 1
    only = set(args.only or ["forest", "boosting", "kmeans", "pca", "logistic"])
    rows: list[list[object]] = []
    r = args.repeats

    if "forest" in only:
        n_trees = 100 // (5 if args.small else 1)
        Xtr, ytr, Xte, yte = _data(100_000 // scale, 20)
        kw = dict(n_estimators=n_trees, n_jobs=threads, random_state=0)
        models = {"grimoire": ml.RandomForestClassifier(**kw),
                  "sklearn": ensemble.RandomForestClassifier(**kw)}
        rows += _bench(f"RandomForest {n_trees} trees, {len(Xtr)}x20", models, Xtr, ytr, Xte, yte, r)

    if "boosting" in only:
        Xtr, ytr, Xte, yte = _data(100_000 // scale, 20, seed=1)
        rounds = 100
        models = {
            "grimoire": ml.GradientBoostingClassifier(n_estimators=rounds, max_depth=None, max_leaf_nodes=31,
                                                      min_samples_leaf=20, learning_rate=0.1, random_state=0),
            "sklearn(Hist)": ensemble.HistGradientBoostingClassifier(max_iter=rounds, max_leaf_nodes=31,
                                                                     early_stopping=False, random_state=0),
        }
        try:
            import lightgbm

            models["lightgbm"] = lightgbm.LGBMClassifier(n_estimators=rounds, num_leaves=31,
                                                         learning_rate=0.1, min_child_samples=20,
                                                         n_jobs=threads, verbose=-1)
        except ImportError:
            pass
        rows += _bench(f"GradientBoosting {rounds} rounds, 31 leaves, {len(Xtr)}x20", models,
                       Xtr, ytr, Xte, yte, r)

    if "kmeans" in only:
        rng = np.random.default_rng(0)
        n = 1_000_000 // scale
        centres = rng.normal(scale=4.0, size=(8, 16))
        X = centres[rng.integers(0, 8, n)] + rng.normal(size=(n, 16))
        models = {"grimoire": ml.KMeans(8, n_init=1, random_state=0),
                  "sklearn": cluster.KMeans(8, n_init=1, random_state=0)}
        fits = {k: (lambda m=m: m.fit(X)) for k, m in models.items()}
        preds = {k: (lambda m=m: m.predict(X)) for k, m in models.items()}
        scores = {k: (lambda m=m: f"inertia {m.inertia_:.6g}") for k, m in models.items()}
        rows += _row(f"KMeans k=8, {n}x16", fits, preds, scores, r)

    if "pca" in only:
        rng = np.random.default_rng(0)
        n = 100_000 // scale
        X = rng.normal(size=(n, 100)) @ rng.normal(size=(100, 100))
        models = {"grimoire": ml.PCA(10), "sklearn": decomposition.PCA(10)}
        fits = {k: (lambda m=m: m.fit(X)) for k, m in models.items()}
        preds = {k: (lambda m=m: m.transform(X)) for k, m in models.items()}
        scores = {k: (lambda m=m: f"expl.var {m.explained_variance_ratio_.sum():.6f}")
                  for k, m in models.items()}
        rows += _row(f"PCA 10 of 100, {n}x100", fits, preds, scores, r)

    if "logistic" in only:
        Xtr, ytr, Xte, yte = _data(100_000 // scale, 50, seed=2)
        models = {"grimoire": ml.LogisticRegression(max_iter=200),
                  "sklearn": linear_model.LogisticRegression(max_iter=200)}
        rows += _bench(f"LogisticRegression L2, {len(Xtr)}x50", models, Xtr, ytr, Xte, yte, r)

    print(f"grimoire bench ml: {threads} threads, medians of {r} interleaved runs"
          + (" (--small)" if args.small else ""))
    print(table(["task", "library", "fit s", "predict s", "held-out score", "fit time / grimoire's"], rows))


def _bench(name, models, Xtr, ytr, Xte, yte, repeats):
    fits = {k: (lambda m=m: m.fit(Xtr, ytr)) for k, m in models.items()}
    preds = {k: (lambda m=m: m.predict(Xte)) for k, m in models.items()}
    scores = {k: (lambda m=m: f"acc {np.mean(m.predict(Xte) == yte):.4f}") for k, m in models.items()}
    return _row(name, fits, preds, scores, repeats)
