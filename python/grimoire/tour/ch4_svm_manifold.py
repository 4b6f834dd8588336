"""Tour, primer 4.1.2 (support vector machines) and 4.2.2.1 (t-SNE on digits)."""

from __future__ import annotations

import numpy as np

from grimoire import datasets

from . import Tour, section


def _kfold_accuracy(make, X, y, k: int = 5, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(len(y)), k)
    accs = []
    for f in folds:
        train = np.setdiff1d(np.arange(len(y)), f)
        mu, sd = X[train].mean(axis=0), X[train].std(axis=0) + 1e-12
        model = make().fit((X[train] - mu) / sd, y[train])
        accs.append(float((model.predict((X[f] - mu) / sd) == y[f]).mean()))
    return float(np.mean(accs))


@section("4.1.2", "Support vector machines: margin and support vectors", "grimoire.ml.svm")
def support_vector_machines(t: Tour) -> None:
    from grimoire.ml import SVC

    X, y = datasets.make_blobs(60, centers=2, cluster_std=0.8, random_state=3)
    svm = SVC(kernel="linear", C=10.0).fit(X, y)
    w, b = svm.coef_[0], svm.intercept_[0]
    t.say("Linear SVM on two 2-D blobs: the widest street w.x + b = +-1 between the classes.")
    t.show("w", np.round(w, 4))
    t.show("b", round(float(b), 4))
    t.show("margin width 2 / ||w||", round(float(2 / np.linalg.norm(w)), 4))
    t.show("support vectors (the points on or inside the margin)", np.round(svm.support_vectors_, 3))
    signs = np.where(y[svm.support_] == svm.classes_[1], 1, -1)
    t.show("y_i (w.x_i + b) at the support vectors (1 on the margin, < 1 inside)",
           np.round(signs * svm.decision_function(X[svm.support_]), 3))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=18)
        ax.scatter(*svm.support_vectors_.T, s=90, facecolors="none", edgecolors="k", label="support vectors")
        xs = np.linspace(X[:, 0].min(), X[:, 0].max(), 50)
        for off, style in ((0, "-"), (1, "--"), (-1, "--")):
            ax.plot(xs, (off - b - w[0] * xs) / w[1], "k" + style, lw=1)
        ax.set_ylim(X[:, 1].min() - 1, X[:, 1].max() + 1)
        ax.legend(loc="best")
        path = t.plot_path("svm_margin.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        t.say(f"plot: {path}")
    except ImportError:
        t.say("(matplotlib not installed: no plot)")
    try:
        from sklearn.datasets import load_breast_cancer

        Xb, yb = load_breast_cancer(return_X_y=True)
        name = "breast cancer (569 x 30)"
    except ImportError:
        Xb, yb = datasets.make_moons(400, noise=0.25, random_state=0)
        name = "two moons (sklearn not installed)"
    for kernel in ("linear", "rbf"):
        acc = _kfold_accuracy(lambda k=kernel: SVC(kernel=k), Xb, yb)
        t.show(f"{name}: 5-fold accuracy, standardised, SVC(kernel={kernel!r})", round(acc, 4))


@section("4.2.2.1", "t-SNE and UMAP on digits", "grimoire.ml.manifold, grimoire.ml.umap")
def tsne_digits(t: Tour) -> None:
    from grimoire.ml import TSNE, UMAP

    X, y = datasets.load_digits()
    n = 300 if t.quick else 500
    X, y = X[:n], y[:n]
    tsne = TSNE(perplexity=30, random_state=0)
    emb = tsne.fit_transform(X)
    t.show(f"t-SNE of {n} digits (64-D -> 2-D): final KL(P || Q)", round(tsne.kl_divergence_, 4))
    umap_emb = UMAP(n_neighbors=15, min_dist=0.1, random_state=0).fit_transform(X)

    def same_label_fraction(emb):
        # How well a 2-D map keeps neighbours: the fraction of 5-NN in 2-D that share the digit label.
        d = ((emb[:, None, :] - emb[None]) ** 2).sum(axis=2)
        np.fill_diagonal(d, np.inf)
        nn = np.argsort(d, axis=1)[:, :5]
        return round(float((y[nn] == y[:, None]).mean()), 4)

    t.show("t-SNE: fraction of 2-D 5-nearest neighbours with the same digit", same_label_fraction(emb))
    t.show("UMAP:  fraction of 2-D 5-nearest neighbours with the same digit", same_label_fraction(umap_emb))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 5))
        for ax, e, name in ((axes[0], emb, "t-SNE"), (axes[1], umap_emb, "UMAP")):
            sc = ax.scatter(e[:, 0], e[:, 1], c=y, cmap="tab10", s=8)
            ax.set_title(f"{name} of {n} digits")
        fig.colorbar(sc, ax=axes, label="digit")
        path = t.plot_path("tsne_umap_digits.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        t.say(f"plot: {path}")
    except ImportError:
        t.say("(matplotlib not installed: no plot)")
