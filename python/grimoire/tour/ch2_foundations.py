"""Tour, primer 2.2.2-2.2.6 (determinants, vector spaces, eigen, SVD, convolution), 2.3 (calculus)
and 2.4 (probability and statistics)."""

from __future__ import annotations

import numpy as np

from . import Tour, pyplot, section


@section("2.2.2", "Determinants", "grimoire.linalg")
def determinants(t: Tour) -> None:
    from grimoire import linalg

    a = np.array([[1, 2], [2, 4]])
    t.show("A", a)
    t.show("det A = ad - bc (linalg.det_2x2; the primer: 0)", linalg.det_2x2(a))
    t.show("det A by LU with partial pivoting (linalg.det)", linalg.det(a))
    dep = linalg.linear_dependence(a)
    t.show("linearly dependent rows (linalg.linear_dependence)", dep.dependent_rows)
    t.say(f"row 1 = {dep.coefficients[1][0]:g} x row 0, so A squashes the plane onto a line: no inverse")
    m = np.array([[2, -3, 1], [2, 0, -1], [1, 4, 5]])
    t.show("Sarrus for [[2,-3,1],[2,0,-1],[1,4,5]] (linalg.det_sarrus)", linalg.det_sarrus(m))
    t.show("the same by LU (linalg.det)", round(linalg.det(m), 12))
    t.show("inverse of [[4,7],[2,6]] (linalg.inv)", linalg.inv([[4, 7], [2, 6]]))


@section("2.2.3", "Vector spaces: distances and similarity", "grimoire.linalg")
def vector_spaces(t: Tour) -> None:
    from grimoire import linalg

    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 6.0, 3.0])
    t.show("euclidean([1,2,3], [4,6,3]) = sqrt(9 + 16 + 0)", linalg.euclidean(x, y))
    t.show("cosine_similarity([1,2,3], [4,6,3])", round(linalg.cosine_similarity(x, y), 6))
    t.show("cosine_similarity([1,2,3], [2,4,6]) (same direction, any length)",
           linalg.cosine_similarity(x, 2 * x))
    pts = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    t.show("pairwise_distances of 5 points (core kernel; the diagonal is exactly 0)",
           np.round(linalg.pairwise_distances(pts), 3))
    t.say("word vectors and the king - man + woman analogy: see section 3.6 (grimoire.text)")


@section("2.2.4", "Eigenvectors and eigenvalues", "grimoire.linalg")
def eigen(t: Tour) -> None:
    from grimoire import linalg

    a = np.array([[2.0, 1.0], [1.0, 2.0]])
    w, v = linalg.eigh(a)
    t.show("A", a)
    t.show("eigenvalues (linalg.eigh: tridiagonal QL in the core)", w)
    t.show("eigenvectors (columns)", np.round(v, 6))
    t.show("A v - lambda v (should be 0)", np.round(a @ v - v * w, 12) + 0.0)
    r = np.array([[0.0, -1.0], [1.0, 0.0]])
    t.show("a 90 degree rotation has no real eigenvector: eig gives", linalg.eig(r)[0])
    t.show("det(A - lambda I) at lambda = 3 (step 2 of the primer's recipe)", linalg.det(a - 3 * np.eye(2)))


@section("2.2.5", "Singular value decomposition", "grimoire.linalg")
def svd_section(t: Tour) -> None:
    from grimoire import linalg

    rng = np.random.default_rng(0)
    m = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 5)) + 0.01 * rng.standard_normal((6, 5))
    u, s, vh = linalg.svd(m)
    t.show("M (6x5, nearly rank 2)", np.round(m, 2))
    t.show("U (6x6), Sigma, V^T (5x5): singular values", np.round(s, 4))
    t.show("max |M - U Sigma V^T|", f"{np.max(np.abs((u[:, :5] * s) @ vh - m)):.1e}")
    for k in (1, 2, 3):
        err = np.linalg.norm(m - linalg.low_rank_approximation(m, k))
        t.say(f"rank-{k} approximation: ||M - M_k||_F = {err:.4f} (= sqrt of the dropped s_i^2)")


@section("2.2.6", "Matrix convolution", "grimoire.linalg")
def convolution(t: Tour) -> None:
    from grimoire import linalg

    t.show("[1 2 3 4] * [1 0 -1] (linalg.convolve, full; the primer: [1 2 2 2 -3 -4])",
           linalg.convolve([1, 2, 3, 4], [1, 0, -1]))
    t.show("cross-correlation instead (no flip; linalg.correlate, full)",
           linalg.correlate([1, 2, 3, 4], [1, 0, -1], mode="full"))
    m = np.zeros((4, 4))
    m[1:3, 1:3] = [[1, 2], [3, 4]]
    k = np.array([[1, 0], [0, -1]])
    t.show("M (zero-padded)", m)
    t.show("K", k)
    t.show("M * K (linalg.convolve2d: flip K, slide; the primer: [[1 2 0] [3 3 -2] [0 -3 -4]])",
           linalg.convolve2d(m, k))
    t.show("the same from the unpadded 2x2 with padding=1", linalg.convolve2d([[1, 2], [3, 4]], k, padding=1))
    t.show("stride 2 keeps every other output", linalg.convolve2d(m, k, stride=2))
    t.show("cross-correlation (what a CNN layer computes; linalg.correlate2d)", linalg.correlate2d(m, k))


_pyplot = pyplot  # the tour's one matplotlib loader


def _two_wells(p):
    """A surface with a global minimum near x = -1 and a local one near x = +1."""
    x, y = p[0], p[1]
    return (x * x - 1) ** 2 + 0.3 * x + y * y


@section("2.3.1", "Gradient descent", "grimoire.optim.descent")
def gradient_descent_section(t: Tour) -> None:
    from grimoire.optim import descent

    runs = {}
    for start in ([1.6, 1.2], [-0.2, -1.2]):
        res = descent.gradient_descent(_two_wells, start, lr=0.05, n_steps=200)
        runs[tuple(start)] = res
        t.say(f"start {start}: ends at ({res.x[0]:+.4f}, {res.x[1]:+.4f}), f = {res.values[-1]:+.4f} "
              f"after {len(res.path) - 1} steps")
    t.say("the same algorithm finds the global minimum from one start and a local one from the other")
    for lr in (0.01, 0.1, 0.6):
        res = descent.gradient_descent(lambda p: float(p @ p), [1.0, 1.0], lr=lr, n_steps=20)
        t.say(f"f = x^2 + y^2, eta = {lr}: |x| after 20 steps = {np.linalg.norm(res.x):.3g}"
              + ("  (overshoots: each step flips the sign)" if lr > 0.5 else ""))
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(300), rng.standard_normal((300, 1))]
    y = X @ np.array([1.0, 3.0]) + 0.3 * rng.standard_normal(300)
    for name, bs, lr in (("batch", None, 0.1), ("stochastic", 1, descent.inverse_time_decay(0.05, 0.01)),
                         ("mini-batch (32)", 32, 0.1)):
        res = descent.minibatch_descent(descent.mse_gradient, np.zeros(2), X, y, batch_size=bs, epochs=20,
                                        lr=lr, random_state=0)
        t.say(f"{name:>16} GD on y = 1 + 3x + noise: w = {np.round(res.x, 3)}, {len(res.path) - 1} updates, "
              f"final MSE {res.values[-1]:.4f}")
    up = descent.gradient_ascent(lambda p: -float((p[0] - 2) ** 2), [0.0], lr=0.1, n_steps=100)
    t.say(f"gradient ascent on -(x - 2)^2 climbs to x = {up.x[0]:.4f}")
    plt = _pyplot()
    if plt is None:
        t.say("(matplotlib is not installed: the plot of the descent paths is skipped)")
        return
    xs, ys = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1.5, 1.5, 150))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.contour(xs, ys, _two_wells(np.array([xs, ys])), levels=30, cmap="viridis")
    for start, res in runs.items():
        ax.plot(res.path[:, 0], res.path[:, 1], ".-", ms=3, label=f"start {list(start)}")
    ax.annotate("global minimum", (-1.04, 0.0), (-1.9, 0.6), arrowprops={"arrowstyle": "->"})
    ax.annotate("local minimum", (0.96, 0.0), (0.9, -1.0), arrowprops={"arrowstyle": "->"})
    ax.set_title("Gradient descent: local vs global minimum")
    ax.legend()
    path = t.plot_path("2.3.1_descent_paths.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    t.say(f"plot: {path}")


@section("2.3.2", "Chain rule and partial derivatives", "grimoire.calculus")
def chain_rule_section(t: Tour) -> None:
    from grimoire import calculus

    prod, direct = calculus.chain_rule(np.sin, lambda u: u * u, 0.7)
    t.say(f"y = sin(x^2) at x = 0.7: f'(g(x)) g'(x) = {prod:.10f}, d/dx directly = {direct:.10f}, "
          f"exact 2x cos(x^2) = {2 * 0.7 * np.cos(0.49):.10f}")

    def f(x, y):
        return x**3 + 2 * x * y + y

    for x, y in ((1.0, 2.0), (-1.0, 0.5)):
        dx = calculus.partial_derivative(f, [x, y], 0)
        dy = calculus.partial_derivative(f, [x, y], 1)
        t.say(f"f = x^3 + 2xy + y at ({x}, {y}): df/dx = {dx:.8f} (3x^2 + 2y = {3 * x * x + 2 * y}), "
              f"df/dy = {dy:.8f} (2x + 1 = {2 * x + 1})")


@section("2.4.1", "Essential distributions", "grimoire.stats")
def distributions(t: Tour) -> None:
    from grimoire import stats

    t.say(f"Bernoulli(0.3): P(1) = {stats.bernoulli(0.3).pmf(1)}, P(0) = {stats.bernoulli(0.3).pmf(0)}")
    t.say(f"fair die randint(1, 7): P(each face) = {stats.randint(1, 7).pmf(3):.4f}")
    t.say(f"Binomial(10, 0.5): P(X = 5) = {stats.binom(10, 0.5).pmf(5):.6f}, P(X <= 3) = "
          f"{stats.binom(10, 0.5).cdf(3):.6f}")
    t.say(f"Poisson(3): P(X = 2) = e^-3 3^2 / 2! = {stats.poisson(3).pmf(2):.6f}")
    t.say(f"Geometric(0.2): P(first success on trial 3) = 0.8^2 0.2 = {stats.geom(0.2).pmf(3):.4f}")
    t.say("Negative binomial(3, 0.5): P(2 failures before the 3rd success) = "
          f"{stats.nbinom(3, 0.5).pmf(2):.4f}")
    t.say(f"Normal(0, 1): pdf(0) = {stats.norm().pdf(0):.6f}, P(|Z| < 1.96) = "
          f"{stats.norm().cdf(1.96) - stats.norm().cdf(-1.96):.4f}, "
          f"ppf(0.975) = {stats.norm().ppf(0.975):.6f}")
    sample = stats.norm(5, 2).rvs(2000, random_state=0)
    fit = stats.norm.fit(sample)
    t.say(f"fit Normal to 2000 draws of N(5, 2): loc = {fit.loc:.3f}, scale = {fit.scale:.3f}")
    for n in (1, 2, 12):
        _, ks = stats.clt_demo(n, 20000, random_state=0)
        t.say(f"CLT: sum of {n:>2} uniforms, Kolmogorov-Smirnov distance to N(0,1) = {ks:.4f}")
    plt = _pyplot()
    if plt is None:
        t.say("(matplotlib is not installed: the CLT plot is skipped)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    grid = np.linspace(-4, 4, 200)
    for ax, n in zip(axes, (1, 2, 12), strict=True):
        z, _ = stats.clt_demo(n, 20000, random_state=0)
        ax.hist(z, bins=60, density=True, alpha=0.6)
        ax.plot(grid, stats.norm().pdf(grid), "k")
        ax.set_title(f"sum of {n} uniform(s)")
    path = t.plot_path("2.4.1_clt.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    t.say(f"plot: {path}")


@section("2.4.2", "Bayes' theorem", "grimoire.stats")
def bayes_section(t: Tour) -> None:
    from grimoire import stats

    t.say(f"P(snow) = 0.3, P(clouds | snow) = 0.7, P(clouds) = 0.5  ->  P(snow | clouds) = "
          f"{stats.bayes(0.3, 0.7, 0.5)} (the primer: 0.42)")
    post = stats.posterior([0.5, 0.5], [0.8, 0.3])
    t.say(f"discrete update, two hypotheses with likelihoods 0.8 and 0.3: posterior {np.round(post, 4)}")


@section("2.4.3", "Hypothesis testing", "grimoire.stats")
def hypothesis_section(t: Tour) -> None:
    from grimoire import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 1.0, 30), rng.normal(0.6, 1.5, 30)
    t.say(f"one-sample t (H0: mean 0): {stats.ttest_1samp(a, 0.0)}")
    t.say(f"Welch two-sample t: {stats.ttest_ind(a, b, equal_var=False)}")
    t.say(f"exact binomial, 9 heads in 10 tosses: p = {stats.binomtest(9, 10).pvalue:.5f}")
    p_chi = stats.chi2_contingency([[10, 20], [30, 25]]).pvalue
    t.say(f"chi-square independence [[10, 20], [30, 25]]: p = {p_chi:.4f}")
    p_perm = stats.permutation_test(a, b, n_resamples=1999, random_state=0).pvalue
    t.say(f"permutation test of the means: p = {p_perm:.4f}")
    out = stats.power_by_simulation(effect=0.8, n=20, n_sims=400, random_state=0)
    t.say(f"by simulation (t-test, n = 20 per group, effect 0.8 sd, alpha = 0.05): type I error "
          f"{out['type_i_error']:.3f}, power {out['power']:.3f}, type II error {out['type_ii_error']:.3f}")


@section("2.4.4", "Maximum likelihood estimation", "grimoire.stats")
def mle_section(t: Tour) -> None:
    import math

    from grimoire import stats

    x = stats.norm(2.0, 0.5).rvs(400, random_state=1)
    theta = stats.mle(lambda d, th: stats.norm(th[0], math.exp(th[1])).logpdf(d), x, [0.0, 0.0])
    t.say(f"minimising the negative log-likelihood: mu = {theta[0]:.6f}, sigma = {math.exp(theta[1]):.6f}")
    t.say(f"closed form: sample mean = {x.mean():.6f}, biased sd sqrt(sum (x - mean)^2 / n) = {x.std():.6f}")
    lam = stats.poisson.fit(stats.poisson(4.0).rvs(500, random_state=2)).mu
    t.say(f"Poisson MLE is the sample mean: {lam:.4f}")
