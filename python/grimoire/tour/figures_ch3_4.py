"""Tour figures of chapters 3 and 4 (ML foundations, classical ML, reinforcement learning), each
computed by grimoire, and section 3.5 (the curse of dimensionality)."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from . import Tour, figure, section

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


def _grid(X: np.ndarray, steps: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = X.min(0) - 0.5, X.max(0) + 0.5
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return xs, ys, np.c_[xs.ravel(), ys.ravel()]


def _moons(n: int = 300, noise: float = 0.25, seed: int = 0):
    from sklearn.datasets import make_moons  # data only; the models are grimoire's

    return make_moons(n, noise=noise, random_state=seed)


@section("3.5", "The curse of dimensionality", "grimoire.kernels.pairwise_distances, grimoire.ml")
def curse_of_dimensionality(t: Tour) -> None:
    from grimoire.kernels import pairwise_distances

    rng = np.random.default_rng(0)
    dims = (2, 10, 100, 1000)
    t.say("relative contrast (max - min) / min of the distances from one point to 500 uniform points:")
    contrast = []
    for d in dims:
        x = rng.random((501, d)).astype(np.float32)
        dist = pairwise_distances(x[:1], x[1:])[0]
        contrast.append((dist.max() - dist.min()) / dist.min())
        t.show(f"  d = {d:>4}", f"{contrast[-1]:.3f}")
    t.say("k-NN accuracy (k = 5) on two Gaussian classes whose means differ in 2 coordinates,")
    t.say("with more and more irrelevant noise coordinates (400 train, 400 test points):")
    accs = []
    for d in dims:
        x = rng.standard_normal((800, d)).astype(np.float32)
        y = rng.integers(0, 2, 800)
        x[:, :2] += 1.5 * y[:, None]
        dist = pairwise_distances(x[400:], x[:400])
        votes = y[:400][np.argsort(dist, axis=1)[:, :5]].mean(1) > 0.5
        accs.append(float((votes == y[400:]).mean()))
        t.show(f"  d = {d:>4}", f"accuracy {accs[-1]:.3f}")
    t._curse = (dims, contrast, accs)


@figure(6, "Tokenization process including handling of contractions", "3.6")
def fig_tokens(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.text import word_tokenize

    text = "I can't believe it's already 5 o'clock, isn't it?"
    tokens = word_tokenize(text)
    fig, ax = plt.subplots(figsize=(11, 2.6))
    ax.text(0.01, 0.8, f'"{text}"', fontsize=13, transform=ax.transAxes)
    x = 0.01
    for i, tok in enumerate(tokens):
        w = 0.012 * len(tok) + 0.025
        ax.add_patch(
            plt.Rectangle((x, 0.25), w, 0.28, transform=ax.transAxes, color=f"C{i % 10}", alpha=0.35)
        )
        ax.text(x + w / 2, 0.39, tok, ha="center", va="center", fontsize=11, transform=ax.transAxes)
        ax.text(x + w / 2, 0.1, str(i), ha="center", fontsize=8, color="0.4", transform=ax.transAxes)
        x += w + 0.008
    ax.set_title(f"grimoire.text.word_tokenize: {len(tokens)} tokens (contractions split: ca + n't, it + 's)")
    ax.axis("off")
    return fig


@figure(7, "Linear Regression: the best-fitting line by least squares", "4.1.1")
def fig_linear_regression(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import LinearRegression

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 30)
    y = 1.5 * x + 2 + rng.normal(0, 2, 30)
    model = LinearRegression().fit(x[:, None], y)
    pred = model.predict(x[:, None])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.vlines(x, pred, y, color="C3", lw=0.8, label="residuals")
    ax.scatter(x, y, s=15, label="data")
    xs = np.linspace(0, 10, 2)
    ax.plot(xs, model.predict(xs[:, None]), "k", label=f"y = {model.coef_[0]:.2f} x + {model.intercept_:.2f}")
    ax.legend()
    return fig


@figure(8, "Logistic Regression: a sigmoid maps features to P(class 1)", "4.1.1")
def fig_logistic(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import LogisticRegression

    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(-1.5, 1, 60), rng.normal(1.5, 1, 60)]
    y = np.r_[np.zeros(60), np.ones(60)]
    model = LogisticRegression().fit(x[:, None], y)
    xs = np.linspace(-5, 5, 300)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x, y + rng.normal(0, 0.02, x.size), c=y, cmap="coolwarm", s=12)
    ax.plot(xs, model.predict_proba(xs[:, None])[:, 1], "k", label="P(y = 1 | x)")
    ax.axhline(0.5, color="0.5", ls=":")
    ax.legend()
    return fig


@figure(9, "Support Vector Machine: maximum margin, support vectors circled", "4.1.2")
def fig_svm(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import SVC

    rng = np.random.default_rng(3)
    X = np.r_[rng.normal([-2, -2], 0.8, (40, 2)), rng.normal([2, 2], 0.8, (40, 2))]
    y = np.r_[np.zeros(40), np.ones(40)]
    svm = SVC(kernel="linear", C=10.0).fit(X, y)
    xs, ys, pts = _grid(X)
    z = svm.decision_function(pts).reshape(xs.shape)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.contour(xs, ys, z, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"])
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=15)
    sv = svm.support_vectors_
    ax.scatter(sv[:, 0], sv[:, 1], s=120, facecolors="none", edgecolors="red", label="support vectors")
    ax.legend()
    return fig


@figure(10, "The Kernel Trick: not separable in 2-D, separable after the lift", "4.1.2")
def fig_kernel_trick(t: Tour, plt: ModuleType) -> MplFigure:
    from sklearn.datasets import make_circles

    from grimoire.ml import SVC

    X, y = make_circles(200, factor=0.4, noise=0.08, random_state=0)
    svm = SVC(kernel="rbf", gamma=2.0).fit(X, y)
    xs, ys, pts = _grid(X)
    z = svm.decision_function(pts).reshape(xs.shape)
    fig = plt.figure(figsize=(11, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    ax.contourf(xs, ys, z, levels=20, cmap="coolwarm", alpha=0.4)
    ax.contour(xs, ys, z, levels=[0], colors="k")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=10)
    ax.set_title(f"RBF SVC decision boundary (training accuracy {svm.score(X, y):.2f})")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    ax3.scatter(X[:, 0], X[:, 1], (X**2).sum(1), c=y, cmap="coolwarm", s=10)
    ax3.set_title("lifted by z = x1^2 + x2^2: a plane separates")
    return fig


@figure(11, "Decision Tree Structure", "4.1.3")
def fig_tree(t: Tour, plt: ModuleType) -> MplFigure:
    from sklearn.datasets import load_iris

    from grimoire.ml import DecisionTreeClassifier

    data = load_iris()
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(data.data, data.target).tree_
    fig, ax = plt.subplots(figsize=(12, 5))
    depth = {0: 0}
    xpos: dict[int, float] = {}
    leaves = [i for i in range(tree.node_count) if tree.children_left[i] < 0]

    def place(i: int) -> float:  # leaves evenly spaced, parents centred over their children
        if tree.children_left[i] < 0:
            xpos[i] = leaves.index(i)
        else:
            for c in (tree.children_left[i], tree.children_right[i]):
                depth[c] = depth[i] + 1
            xpos[i] = (place(tree.children_left[i]) + place(tree.children_right[i])) / 2
        return xpos[i]

    place(0)
    for i in range(tree.node_count):
        if tree.children_left[i] >= 0:
            for c in (tree.children_left[i], tree.children_right[i]):
                ax.plot([xpos[i], xpos[c]], [-depth[i], -depth[c]], "k-", lw=0.8)
            label = f"{data.feature_names[tree.feature[i]]}\n<= {tree.threshold[i]:.2f}"
            color = "wheat"
        else:
            label = data.target_names[int(np.argmax(tree.value[i]))]
            color = "lightgreen"
        ax.text(
            xpos[i],
            -depth[i],
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": color},
        )
    ax.axis("off")
    return fig


@figure(12, "Random Forest: individual trees vs the smoother ensemble", "4.1.4")
def fig_forest(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import RandomForestClassifier

    X, y = _moons()
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    xs, ys, pts = _grid(X)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for est in forest.estimators_[:4]:
        axes[0].contour(
            xs, ys, est.predict(pts).reshape(xs.shape), levels=[0.5], linestyles="--", colors="0.4"
        )
    axes[0].scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=8)
    axes[0].set_title("4 of the 50 trees (dashed)")
    proba = forest.predict_proba(pts)[:, 1].reshape(xs.shape)
    axes[1].contourf(xs, ys, proba, levels=20, cmap="coolwarm", alpha=0.4)
    axes[1].contour(xs, ys, proba, levels=[0.5], colors="red")
    axes[1].scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=8)
    axes[1].set_title("the ensemble's boundary (red)")
    return fig


@figure(13, "Gradient Boosting: each model corrects the last one's errors", "4.1.5")
def fig_boosting(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import GradientBoostingRegressor

    rng = np.random.default_rng(4)
    x = np.sort(rng.uniform(0, 6, 120))
    y = np.sin(x) + 0.3 * x + rng.normal(0, 0.15, x.size)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, rounds in zip(axes, (1, 3, 50), strict=True):
        model = GradientBoostingRegressor(n_estimators=rounds, learning_rate=0.5, max_depth=2).fit(
            x[:, None], y
        )
        ax.scatter(x, y, s=8, color="0.5")
        ax.plot(x, model.predict(x[:, None]), "C3", lw=2)
        ax.set_title(f"after {rounds} round{'s' if rounds > 1 else ''}")
    return fig


@figure(14, "K-means Clustering Visualized", "4.2.1")
def fig_kmeans(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import KMeans

    rng = np.random.default_rng(5)
    X = np.r_[
        rng.normal([0, 0], 0.6, (80, 2)), rng.normal([3, 3], 0.6, (80, 2)), rng.normal([0, 4], 0.6, (80, 2))
    ]
    init = X[[0, 1, 2]]  # a poor start, so the iterations show
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    for ax, it in zip(axes, (1, 2, 3, 10), strict=True):
        km = KMeans(3, init=init, n_init=1, max_iter=it, tol=0.0).fit(X)
        ax.scatter(X[:, 0], X[:, 1], c=km.labels_, cmap="viridis", s=8)
        ax.scatter(*km.cluster_centers_.T, marker="X", s=150, c="red")
        ax.set_title(f"iteration {it}")
    return fig


@figure(15, "PCA Visualized", "4.2.2")
def fig_pca(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import PCA

    rng = np.random.default_rng(6)
    X = rng.multivariate_normal([0, 0], [[3, 1.6], [1.6, 1.2]], 300)
    pca = PCA(2).fit(X)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(X[:, 0], X[:, 1], s=6, alpha=0.5)
    for comp, var, color in zip(pca.components_, pca.explained_variance_, ("C3", "C2"), strict=True):
        end = pca.mean_ + 2 * np.sqrt(var) * comp
        ax.annotate("", end, pca.mean_, arrowprops={"arrowstyle": "->", "color": color, "lw": 2.5})
    ratio = pca.explained_variance_ratio_
    ax.set_title(f"principal axes: {ratio[0]:.0%} and {ratio[1]:.0%} of the variance")
    ax.set_aspect("equal")
    return fig


def _digits(n: int = 400):
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data[:n].astype(np.float32), d.target[:n]


@figure(16, "t-SNE Visualized", "4.2.2.1")
def fig_tsne(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import TSNE

    X, y = _digits()
    emb = TSNE(2, perplexity=30, random_state=0).fit_transform(X)
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(emb[:, 0], emb[:, 1], c=y, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, label="digit")
    ax.set_title("400 handwritten digits (64 pixels) in 2-D by t-SNE")
    return fig


@figure(17, "UMAP Visualized", "4.2.2.1")
def fig_umap(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.ml import UMAP

    X, y = _digits()
    emb = UMAP(n_neighbors=15, random_state=0).fit_transform(X)
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(emb[:, 0], emb[:, 1], c=y, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, label="digit")
    ax.set_title("the same digits by UMAP")
    return fig


_ARROWS = {0: (0, -0.3), 1: (0.3, 0), 2: (0, 0.3), 3: (-0.3, 0)}  # GridWorld MOVES: up, right, down, left


def _gridworld():
    from grimoire.rl import GridWorld, QLearning

    env = GridWorld((3, 3))
    agent = QLearning(random_state=0).fit(env, n_episodes=300)
    return env, agent


@figure(18, "RL Visualized: the agent acts, the environment returns a state and a reward", "4.3.1")
def fig_rl_loop(t: Tour, plt: ModuleType) -> MplFigure:
    env, agent = _gridworld()
    state, _ = env.reset(seed=0)
    trace, rewards = [env._cell], []
    for _ in range(10):
        state, reward, terminated, truncated, _ = env.step(int(agent.policy()[state]))
        trace.append(env._cell)
        rewards.append(reward)
        if terminated or truncated:
            break
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.set_xlim(-0.5, 2.5)
    ax.set_ylim(2.5, -0.5)
    ax.set_xticks(range(3))
    ax.set_yticks(range(3))
    ax.grid(True)
    rows, cols = zip(*trace, strict=True)
    ax.plot(cols, rows, "o-", color="C0")
    for k, (r, c) in enumerate(trace):
        ax.text(c + 0.1, r - 0.15, f"s{k}", fontsize=9)
    ax.set_title("one episode: state s_t -> action -> s_{t+1}")
    axes[1].step(range(1, len(rewards) + 1), np.cumsum(rewards), where="mid")
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("return so far")
    axes[1].set_title("rewards returned by the environment")
    return fig


@figure(19, "Q-learning Visualized: arrows follow the highest-value action", "4.3.1")
def fig_qlearning(t: Tour, plt: ModuleType) -> MplFigure:
    env, agent = _gridworld()
    q = agent.q_table_.reshape(3, 3, -1)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(q.max(-1), cmap="Greens")
    for r in range(3):
        for c in range(3):
            ax.text(c, r + 0.3, f"{q[r, c].max():.1f}", ha="center", fontsize=9)
            if (r, c) != env.goal:
                dx, dy = _ARROWS[int(q[r, c].argmax())]
                ax.annotate(
                    "", (c + dx, r + dy), (c, r), arrowprops={"arrowstyle": "->", "color": "blue", "lw": 2}
                )
    ax.set_title("max_a Q(s, a) and the greedy action per cell")
    return fig


@figure(20, "Actor-Critic: the actor's policy and the critic's values", "4.3.2")
def fig_actor_critic(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.rl import ActorCritic, GridWorld

    env = GridWorld((3, 3))
    agent = ActorCritic(random_state=0).fit(env, n_episodes=300)
    z = agent.theta_ - agent.theta_.max(1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].imshow(probs, aspect="auto", cmap="Blues")
    axes[0].set_xticks(range(4), ["up", "right", "down", "left"])
    axes[0].set_ylabel("state")
    axes[0].set_title("actor: pi(a | s)")
    im = axes[1].imshow(agent.values_.reshape(3, 3), cmap="Greens")
    fig.colorbar(im, ax=axes[1])
    axes[1].set_title("critic: V(s)")
    axes[2].plot(agent.episode_returns_)
    axes[2].set_xlabel("episode")
    axes[2].set_title("return per episode")
    return fig
