"""``grimoire bench ml``: grimoire.ml's estimators beside scikit-learn (and LightGBM).

Each row: fit seconds (medians over rounds, each fit in its own process, the libraries
alternating: :func:`grimoire.bench.compare_in_processes`), one predict's seconds and the held-out
score (accuracy, or R^2 / inertia / explained variance where noted), with the median of the
paired ratios of the peer's fit time to ours (> 1: grimoire is faster). Same threads for everybody:
``--threads`` (default: grimoire's setting) goes to grimoire, to scikit-learn's ``n_jobs`` and to
LightGBM's ``n_jobs``. ``--small`` divides the sizes by 10 for a quick run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from .. import get_num_threads, set_num_threads
from . import compare_in_processes, emit, isa_of


def _data(n: int, d: int, seed: int = 0, classes: int = 2):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=max(2, d // 2), n_redundant=d // 4,
                               n_classes=classes, random_state=seed)
    cut = int(0.8 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def _models(task: str, lib: str, threads: int, small: bool):
    """The estimator ``lib`` fits for ``task``."""
    from sklearn import cluster, decomposition, ensemble, linear_model

    from .. import ml

    if task == "forest":
        kw = dict(n_estimators=100 // (5 if small else 1), n_jobs=threads, random_state=0)
        return ml.RandomForestClassifier(**kw) if lib == "grimoire" else ensemble.RandomForestClassifier(**kw)
    if task == "boosting":
        if lib == "grimoire":
            return ml.GradientBoostingClassifier(n_estimators=ROUNDS, max_depth=None, max_leaf_nodes=31,
                                                 min_samples_leaf=20, learning_rate=0.1, random_state=0)
        if lib == "sklearn(Hist)":
            return ensemble.HistGradientBoostingClassifier(max_iter=ROUNDS, max_leaf_nodes=31,
                                                           early_stopping=False, random_state=0)
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=ROUNDS, num_leaves=31, learning_rate=0.1,
                                       min_child_samples=20, n_jobs=threads, verbose=-1)
    if task == "kmeans":
        return (ml.KMeans if lib == "grimoire" else cluster.KMeans)(8, n_init=1, random_state=0)
    if task == "pca":
        return (ml.PCA if lib == "grimoire" else decomposition.PCA)(10)
    return (ml.LogisticRegression if lib == "grimoire" else linear_model.LogisticRegression)(max_iter=200)


def _task_data(task: str, small: bool):
    """(X_train, y_train, X_test, y_test) of a task (y None for the unsupervised ones)."""
    scale = 10 if small else 1
    rng = np.random.default_rng(0)
    if task == "kmeans":
        centres = rng.normal(scale=4.0, size=(8, 16))
        X = centres[rng.integers(0, 8, 1_000_000 // scale)] + rng.normal(size=(1_000_000 // scale, 16))
        return X, None, X, None
    if task == "pca":
        X = rng.normal(size=(100_000 // scale, 100)) @ rng.normal(size=(100, 100))
        return X, None, X, None
    n, d, seed = {"forest": (100_000, 20, 0), "boosting": (100_000, 20, 1),
                  "logistic": (100_000, 50, 2)}[task]
    return _data(n // scale, d, seed=seed)


def fit(task: str, lib: str, threads: int, small: bool) -> tuple[Callable[[], object], Callable[[], object]]:
    """A fit of ``lib``'s estimator for ``task``; its report: one predict's seconds and the score."""
    import time

    Xtr, ytr, Xte, yte = _task_data(task, small)
    model = _models(task, lib, threads, small)

    def report():
        start = time.perf_counter()
        pred = model.predict(Xte) if yte is not None or task == "kmeans" else model.transform(Xte)
        seconds = time.perf_counter() - start
        if task == "kmeans":
            score = f"inertia {model.inertia_:.6g}"
        elif task == "pca":
            score = f"expl.var {model.explained_variance_ratio_.sum():.6f}"
        else:
            score = f"acc {np.mean(pred == yte):.4f}"
        return {"predict_s": seconds, "score": score}

    return (lambda: model.fit(Xtr, ytr)), report


TASKS = {"forest": "RandomForest {trees} trees, {n}x20",
         "boosting": "GradientBoosting 100 rounds, 31 leaves, {n}x20",
         "kmeans": "KMeans k=8, {n}x16", "pca": "PCA 10 of 100, {n}x100",
         "logistic": "LogisticRegression L2, {n}x50"}
SIZES = {"forest": 80_000, "boosting": 80_000, "kmeans": 1_000_000, "pca": 100_000, "logistic": 80_000}
FAMILY = {"forest": "tree", "boosting": "tree", "kmeans": "cluster", "pca": "linalg", "logistic": "gemm"}
ROUNDS = 100


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="grimoire bench ml", description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="sizes / 10, for a quick run")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    p.add_argument("--only", nargs="*", default=None, help="subset of: " + " ".join(TASKS))
    args = p.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("grimoire bench ml needs scikit-learn (pip install 'ml-grimoire[bench]')") from None
    threads = args.threads or get_num_threads()
    set_num_threads(threads)
    scale = 10 if args.small else 1
    for task in args.only or TASKS:
        libs = ["grimoire", "sklearn"]
        if task == "boosting":
            libs = ["grimoire", "sklearn(Hist)"] + (["lightgbm"] if _has("lightgbm") else [])
        work = {lib: (__name__, "fit", {"task": task, "lib": lib, "threads": threads, "small": args.small})
                for lib in libs}
        c = compare_in_processes(work, repeats=args.repeats, threads=threads, warmup=0, min_time=0.0)
        name = TASKS[task].format(n=SIZES[task] // scale, trees=100 // (5 if args.small else 1))
        rows = [[name, lib, c.seconds[lib], c.extra[lib]["predict_s"], c.extra[lib]["score"],
                 c.ratio[lib]] for lib in libs]
        emit(f"grimoire bench ml: {threads} threads for all, medians of {args.repeats} alternating "
             "rounds in separate processes" + (" (--small)" if args.small else ""),
             ["task", "library", "fit s", "predict s (last round)", "held-out score",
              "fit time / grimoire's"], rows, isa=isa_of(FAMILY[task]))


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
