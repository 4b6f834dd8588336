"""``grimoire bench ml_svm_tsne``: SVC (RBF) and Barnes-Hut t-SNE beside scikit-learn, each fit in
its own process, alternating.

SVC on 10k x 20 (a non-linear two-class rule, 80/20 split: fit time and held-out accuracy);
TSNE on 5k x 50 (10 Gaussian blobs: fit time, trustworthiness with 5 neighbours, KL).
``--small`` divides the sizes (2k x 20, 1k x 50) for a quick look. Same threads for both sides.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from . import compare_in_processes, emit, isa_of


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


def svc(lib: str, n: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """A fit of ``lib``'s RBF SVC on n points; its report: held-out accuracy and support vectors."""
    from sklearn import svm

    from grimoire.ml import SVC

    Xtr, ytr, Xte, yte = _svc_data(n)
    model = SVC() if lib == "grimoire" else svm.SVC()
    return (lambda: model.fit(Xtr, ytr)), lambda: {
        "quality": f"acc {float((model.predict(Xte) == yte).mean()):.4f}", "extra": len(model.support_)}


def tsne(lib: str, n: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """A fit of ``lib``'s Barnes-Hut t-SNE on n points; its report: trustworthiness (5 neighbours) and KL."""
    from sklearn import manifold

    from grimoire.ml import TSNE

    X = _tsne_data(n)
    model = (TSNE if lib == "grimoire" else manifold.TSNE)(random_state=0)

    def report():
        tw = manifold.trustworthiness(X, model.embedding_, n_neighbors=5)
        return {"quality": f"trust {tw:.4f}", "extra": f"KL {model.kl_divergence_:.3f}"}

    return (lambda: model.fit(X)), report


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench ml_svm_tsne")
    parser.add_argument("--small", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds, one process each")
    args = parser.parse_args(argv)
    n_svc, n_tsne = (2000, 1000) if args.small else (10000, 5000)
    rows = []
    for what, n, task in ((f"SVC rbf {n_svc}x20", n_svc, "svc"), (f"TSNE {n_tsne}x50", n_tsne, "tsne")):
        work = {lib: (__name__, task, {"lib": lib, "n": n}) for lib in ("grimoire", "sklearn")}
        c = compare_in_processes(work, repeats=args.repeats, warmup=0, min_time=0.0)
        for name in ("grimoire", "sklearn"):
            rows.append([what, name, c.seconds[name], c.ratio[name], c.extra[name]["quality"],
                         c.extra[name]["extra"]])
    emit(f"SVC and t-SNE, each fit in its own process, {args.repeats} alternating round(s)",
         ["task", "impl", "fit s (median)", "fit time / grimoire's", "quality", "extra"], rows,
         isa=isa_of("svm"))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
