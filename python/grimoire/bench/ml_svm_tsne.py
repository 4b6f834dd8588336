"""``grimoire bench ml_svm_tsne``: SVC (RBF) and Barnes-Hut t-SNE beside scikit-learn, one process.

SVC on 10k x 20 (a non-linear two-class rule, 80/20 split: fit time and held-out accuracy);
TSNE on 5k x 50 (10 Gaussian blobs: fit time, trustworthiness with 5 neighbours, KL).
``--small`` divides the sizes (2k x 20, 1k x 50) for a quick look. Same threads for both sides.
"""

from __future__ import annotations

import argparse

import numpy as np

from . import compare, table


def _svc_data(n: int, d: int = 20):
    rng = np.random.RandomState(0)
    X = rng.randn(n, d)
    y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.3 * rng.randn(n) > 0).astype(int)
    cut = int(0.8 * n)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def _tsne_data(n: int, d: int = 50):
    rng = np.random.RandomState(0)
    centers = rng.randn(10, d) * 4
    return centers[rng.randint(0, 10, n)] + rng.randn(n, d)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench ml_svm_tsne")
    parser.add_argument("--small", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    from sklearn import manifold, svm

    from grimoire.ml import SVC, TSNE

    n_svc, n_tsne = (2000, 1000) if args.small else (10000, 5000)
    rows = []
    Xtr, ytr, Xte, yte = _svc_data(n_svc)
    fitted = {}

    def fit(name, make):
        def run():
            fitted[name] = make().fit(Xtr, ytr)
        return run

    times = compare({"grimoire": fit("grimoire", SVC), "sklearn": fit("sklearn", svm.SVC)},
                    repeats=args.repeats, min_time=0.0, warmup=0)
    for name in ("grimoire", "sklearn"):
        acc = float((fitted[name].predict(Xte) == yte).mean())
        rows.append([f"SVC rbf {n_svc}x20", name, times[name], times[name] / times["sklearn"],
                     f"acc {acc:.4f}", len(fitted[name].support_)])
    X = _tsne_data(n_tsne)
    emb = {}

    def tsne(name, make):
        def run():
            emb[name] = make(random_state=0).fit(X)
        return run

    times = compare({"grimoire": tsne("grimoire", TSNE), "sklearn": tsne("sklearn", manifold.TSNE)},
                    repeats=args.repeats, min_time=0.0, warmup=0)
    for name in ("grimoire", "sklearn"):
        tw = manifold.trustworthiness(X, emb[name].embedding_, n_neighbors=5)
        rows.append([f"TSNE {n_tsne}x50", name, times[name], times[name] / times["sklearn"],
                     f"trust {tw:.4f}", f"KL {emb[name].kl_divergence_:.3f}"])
    print(table(["task", "impl", "fit s (median)", "vs sklearn", "quality", "extra"], rows))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
