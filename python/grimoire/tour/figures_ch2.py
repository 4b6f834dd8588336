"""Tour figures of chapter 2 (mathematical foundations), each computed by grimoire, and the
section 2.1.1 (asymptotic analysis, measured on grimoire's own algorithms)."""

from __future__ import annotations

import time
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from . import Tour, figure, section

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


def _timed(fn, *args, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def _asymptotics(quick: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Measured seconds against n for grimoire algorithms of known complexity."""
    from grimoire import kernels, linalg

    rng = np.random.default_rng(0)
    out = {}
    ns = np.array([2**k for k in range(14, 20 if quick else 21)])
    out["softmax, O(n)"] = (
        ns,
        np.array([_timed(kernels.softmax, rng.standard_normal((1, n)).astype(np.float32)) for n in ns]),
    )
    ns = np.array([500, 1000, 1500, 2000] if quick else [500, 1000, 1500, 2000, 3000])
    points = [rng.standard_normal((n, 16)).astype(np.float32) for n in ns]
    out["pairwise distances, O(n^2)"] = (
        ns,
        np.array([_timed(kernels.pairwise_distances, x, x) for x in points]),
    )
    ns = np.array([128, 192, 256, 384, 512])
    out["LU determinant, O(n^3)"] = (
        ns,
        np.array([_timed(linalg.det, np.eye(n) + 0.01 * rng.standard_normal((n, n))) for n in ns]),
    )
    return out


@section("2.1.1", "Asymptotic analysis, measured", "grimoire.kernels, grimoire.linalg")
def asymptotic_analysis(t: Tour) -> None:
    data = _asymptotics(t.quick)
    t.say("fitted exponent k of time ~ n^k (log-log slope) on grimoire's own algorithms:")
    for name, (ns, secs) in data.items():
        k = np.polyfit(np.log(ns), np.log(secs), 1)[0]
        t.show(f"  {name}", f"k = {k:.2f}")
    t._asymptotics = data  # the figure reuses the measurements


@figure(1, "Asymptotic Analysis Visualized", "2.1.1")
def fig_asymptotic(t: Tour, plt: ModuleType) -> MplFigure:
    data = getattr(t, "_asymptotics", None) or _asymptotics(True)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (name, (ns, secs)) in zip(axes, data.items(), strict=True):
        k = int(name.split("^")[1].rstrip(")")) if "^" in name else 1
        ax.loglog(ns, secs * 1e3, "o", label="measured")
        c = np.median(secs / ns.astype(float) ** k)
        ax.loglog(ns, c * ns.astype(float) ** k * 1e3, "--", label=f"c n^{k}")
        ax.set_title(name)
        ax.set_xlabel("n")
        ax.set_ylabel("ms")
        ax.legend()
    return fig


@figure(2, "Vector Space Relationships", "2.2.3")
def fig_vectors(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import linalg

    u, v = np.array([3.0, 1.0]), np.array([1.0, 2.0])
    s = linalg.add(u, v)
    proj = linalg.scalar_multiply(linalg.dot(u, v) / linalg.dot(v, v), v)
    cos = linalg.dot(u, v) / np.sqrt(linalg.dot(u, u) * linalg.dot(v, v))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for vec, name, color in ((u, "u", "C0"), (v, "v", "C1"), (s, "u + v", "C2"), (proj, "proj_v u", "C3")):
        ax.annotate("", vec, (0, 0), arrowprops={"arrowstyle": "->", "color": color, "lw": 2})
        ax.text(*(vec * 1.05), name, color=color)
    ax.plot([u[0], proj[0]], [u[1], proj[1]], "k:", lw=1)
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-0.5, 3.5)
    ax.set_aspect("equal")
    ax.set_title(f"u . v = {linalg.dot(u, v):.0f}, cos(u, v) = {cos:.3f}")
    ax.grid(alpha=0.3)
    return fig


@figure(3, "Linear Transformation", "2.2.4")
def fig_linear_map(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import linalg, matmul

    a = np.array([[2.0, 1.0], [1.0, 1.5]])
    values, vectors = linalg.eigh(a)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    grid = np.linspace(-1, 1, 9)
    for ax, m, title in ((axes[0], np.eye(2), "the unit grid"), (axes[1], a, "after A = [[2, 1], [1, 1.5]]")):
        for g in grid:
            line = matmul(m, np.stack([np.full(50, g), np.linspace(-1, 1, 50)]))
            ax.plot(line[0], line[1], color="0.7", lw=0.8)
            line = matmul(m, np.stack([np.linspace(-1, 1, 50), np.full(50, g)]))
            ax.plot(line[0], line[1], color="0.7", lw=0.8)
        for lam, vec, color in zip(values, vectors.T, ("C3", "C0"), strict=True):
            end = matmul(m, vec)
            ax.annotate("", end, (0, 0), arrowprops={"arrowstyle": "->", "color": color, "lw": 2})
            if m is a:
                ax.text(*(end * 1.1), f"A v = {lam:.2f} v", color=color)
        ax.set_aspect("equal")
        ax.set_title(title)
    return fig


@figure(4, "Gradient Descent", "2.3.1")
def fig_gradient_descent(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.optim import descent

    def bowl(p):
        return float(p[0] ** 2 + 4 * p[1] ** 2)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    xs, ys = np.meshgrid(np.linspace(-3, 3, 120), np.linspace(-2, 2, 100))
    axes[0].contour(xs, ys, xs**2 + 4 * ys**2, levels=20, cmap="viridis")
    for lr in (0.05, 0.2, 0.24):
        res = descent.gradient_descent(bowl, [-2.8, 1.5], lr=lr, n_steps=30)
        axes[0].plot(res.path[:, 0], res.path[:, 1], ".-", ms=3, label=f"eta = {lr}")
        axes[1].semilogy(np.maximum(res.values, 1e-12), label=f"eta = {lr}")
    axes[0].set_title("steps down the loss surface x^2 + 4y^2")
    axes[0].legend()
    axes[1].set_title("loss per step")
    axes[1].set_xlabel("step")
    axes[1].legend()
    return fig


@figure(5, "Probability Distributions Visualized", "2.4.1")
def fig_distributions(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import stats

    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    k = np.arange(0, 21)
    for ax, (name, dist) in zip(
        axes[0],
        (
            ("binom(20, 0.3)", stats.binom(20, 0.3)),
            ("poisson(4)", stats.poisson(4)),
            ("geom(0.25)", stats.geom(0.25)),
        ),
        strict=True,
    ):
        ax.bar(k, dist.pmf(k), color="C0")
        ax.set_title(f"pmf of {name}")
    x = np.linspace(-5, 5, 400)
    axes[1, 0].plot(x, stats.norm(0, 1).pdf(x), label="normal(0, 1)")
    for df in (1, 3, 30):
        axes[1, 0].plot(x, stats.t(df).pdf(x), "--", label=f"t({df})")
    axes[1, 0].legend()
    axes[1, 0].set_title("pdf: normal and Student's t")
    x = np.linspace(0.01, 15, 400)
    for df in (2, 4, 8):
        axes[1, 1].plot(x, stats.chi2(df).pdf(x), label=f"chi2({df})")
    axes[1, 1].legend()
    axes[1, 1].set_title("pdf: chi-squared")
    x = np.linspace(-0.5, 1.5, 400)
    axes[1, 2].plot(x, stats.uniform(0, 1).pdf(x), label="uniform(0, 1) pdf")
    axes[1, 2].plot(x, stats.norm(0.5, 0.2).cdf(x), label="normal(0.5, 0.2) cdf")
    axes[1, 2].legend()
    axes[1, 2].set_title("pdf and cdf")
    fig.tight_layout()
    return fig
