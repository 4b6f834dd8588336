"""Tour figures of chapters 5 to 7 (neural networks, training and evaluation, advanced topics),
each computed by grimoire; the architecture diagrams (21, 22, 28, 39) are drawn from the
model's own modules and shapes."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from . import Tour, figure, section

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


def _layer_diagram(ax, sizes: list[int], labels: list[str], title: str, max_nodes: int = 8) -> None:
    """Nodes per layer (at most ``max_nodes`` drawn, the true width written) and all edges."""
    xs = np.arange(len(sizes))
    pos = []
    for x, n in zip(xs, sizes, strict=True):
        k = min(n, max_nodes)
        ys = np.linspace(-(k - 1) / 2, (k - 1) / 2, k)
        pos.append(ys)
        ax.scatter(np.full(k, x), ys, s=250, zorder=3, color="C0" if x in (0, len(sizes) - 1) else "C1")
    for x in xs[:-1]:
        for y0 in pos[x]:
            for y1 in pos[x + 1]:
                ax.plot([x, x + 1], [y0, y1], color="0.75", lw=0.5, zorder=1)
    for x, n, label in zip(xs, sizes, labels, strict=True):
        ax.text(x, -max_nodes / 2 - 0.6, f"{label}\n({n})", ha="center", va="top", fontsize=9)
    ax.set_title(title)
    ax.axis("off")


def _widths(model) -> tuple[list[int], list[str]]:
    from grimoire import nn

    sizes, labels = [], []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            if not sizes:
                sizes.append(m.in_features)
                labels.append("input")
            sizes.append(m.out_features)
            labels.append("Linear")
    labels[-1] = "output"
    return sizes, labels


@figure(21, "Basic Perceptron: y = f(w1 x1 + w2 x2 + w3 x3 + b)", "5.1.1")
def fig_perceptron(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.nn import Perceptron

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 > 0).astype(int)
    p = Perceptron(max_iter=50).fit(X, y)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, w in enumerate(p.coef_):
        yi = 1 - i
        ax.annotate("", (2, 0), (0, yi), arrowprops={"arrowstyle": "->", "color": "C0"})
        ax.text(
            0, yi, f"x{i + 1}", ha="right", va="center", fontsize=12, bbox={"boxstyle": "circle", "fc": "w"}
        )
        ax.text(1, yi / 2 + 0.1, f"w{i + 1} = {w:.2f}", fontsize=9)
    ax.text(
        2,
        0,
        f"sum + b\nb = {float(p.intercept_):.2f}",
        ha="center",
        va="center",
        bbox={"boxstyle": "round", "fc": "wheat"},
    )
    ax.annotate("", (3.5, 0), (2.5, 0), arrowprops={"arrowstyle": "->"})
    ax.text(3.6, 0, f"y = step(.)\naccuracy {p.score(X, y):.2f}", va="center")
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(-1.5, 1.5)
    ax.axis("off")
    return fig


def _xor_mlp():
    from grimoire import autograd as ag
    from grimoire import nn, optim
    from grimoire.autograd import Tensor

    ag.manual_seed(0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        loss = nn.functional.cross_entropy(model(Tensor(X)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, X, y


@figure(22, "Multi-Layer Perceptron: input, hidden and output layers", "5.1.2")
def fig_mlp(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import nn

    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3))
    sizes, labels = _widths(model)
    fig, ax = plt.subplots(figsize=(8, 5))
    _layer_diagram(
        ax,
        sizes,
        labels,
        f"{model.num_parameters()} parameters: " + " -> ".join(type(m).__name__ for m in model.children()),
    )
    return fig


@figure(23, "The XOR Problem: no line separates it, a small MLP does", "5.1.2")
def fig_xor(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor, no_grad

    model, X, y = _xor_mlp()
    xs, ys = np.meshgrid(np.linspace(-0.5, 1.5, 150), np.linspace(-0.5, 1.5, 150))
    with no_grad():
        logits = model(Tensor(np.c_[xs.ravel(), ys.ravel()].astype(np.float32))).data
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xs, ys, logits.argmax(1).reshape(xs.shape), alpha=0.3, cmap="coolwarm")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=200, edgecolors="k")
    ax.set_title("the MLP's decision regions on XOR")
    return fig


@figure(24, "Activation Functions and their derivatives", "5.1.2")
def fig_activations(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor

    x = np.linspace(-4, 4, 401).astype(np.float32)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("relu", "sigmoid", "tanh", "gelu", "silu"):
        xt = Tensor(x, requires_grad=True)
        y = getattr(xt, name)()
        y.sum().backward()  # d/dx of an elementwise function: the gradient of the sum
        scale = 3.0 if name == "sigmoid" else 1.0  # the primer scales sigmoid by 3
        axes[0].plot(x, scale * y.data, label=f"{'3 ' if scale == 3 else ''}{name}(x)")
        axes[1].plot(x, xt.grad, label=f"{name}'(x)")
    axes[0].set_title("f(x)")
    axes[1].set_title("f'(x) by autograd")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    return fig


@figure(25, "Backpropagation: gradient magnitudes flowing back through an MLP", "5.1.3")
def fig_backprop(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import autograd as ag
    from grimoire import nn
    from grimoire.autograd import Tensor

    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 16)).astype(np.float32), rng.integers(0, 4, 64)
    fig, ax = plt.subplots(figsize=(8, 4))
    for act in ("Sigmoid", "ReLU"):
        layers = []
        for _ in range(6):
            layers += [nn.Linear(16, 16), getattr(nn, act)()]
        model = nn.Sequential(*layers, nn.Linear(16, 4))
        nn.functional.cross_entropy(model(Tensor(x)), y).backward()
        norms = [float(np.linalg.norm(m.weight.grad)) for m in model.modules() if isinstance(m, nn.Linear)]
        ax.semilogy(range(1, len(norms) + 1), norms, "o-", label=f"{act} hidden layers")
    ax.set_xlabel("layer (1 = input side; backward flows right to left)")
    ax.set_ylabel("||dL/dW||")
    ax.legend()
    return fig


@figure(26, "Convolutions in CNNs: the first layer's feature maps", "5.2.1")
def fig_feature_maps(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor, no_grad
    from grimoire.nn.zoo import digits_split, train_digits_cnn

    model = train_digits_cnn(epochs=1, width=8, n_train=600)["model"]
    digit = digits_split()[0][:1]
    conv = model[0]
    with no_grad():
        maps = conv(Tensor(digit)).data[0]
    fig, axes = plt.subplots(2, 9, figsize=(14, 3.4))
    axes[0, 0].imshow(digit[0, 0], cmap="gray_r")
    axes[0, 0].set_title("input")
    axes[1, 0].axis("off")
    for k in range(8):
        axes[0, k + 1].imshow(conv.weight.data[k, 0], cmap="RdBu")
        axes[0, k + 1].set_title(f"filter {k}", fontsize=8)
        axes[1, k + 1].imshow(maps[k], cmap="viridis")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


@figure(27, "Example 2x2 Max Pooling operation", "5.2.2")
def fig_max_pool(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.kernels import max_pool2d

    x = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [7, 2, 8, 1], [3, 4, 2, 9]], np.float32)
    out = max_pool2d(x[None, None], 2)
    out = out[0] if isinstance(out, tuple) else out
    out = np.asarray(out).reshape(2, 2)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, m, title in ((axes[0], x, "input 4x4"), (axes[1], out, "max_pool2d(2): 2x2")):
        ax.imshow(
            np.kron(np.arange(4).reshape(2, 2), np.ones((m.shape[0] // 2, m.shape[0] // 2))), cmap="Pastel1"
        )
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=14)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


@figure(28, "ResNet Architecture with Skip Connections", "5.2.3")
def fig_resnet(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor, no_grad
    from grimoire.nn.blocks import BasicBlock

    block = BasicBlock(16, 32, stride=2)
    with no_grad():
        y = block(Tensor(np.zeros((1, 16, 8, 8), np.float32)))
    names = [(n, type(m).__name__) for n, m in block.named_children() if m is not None]
    fig, ax = plt.subplots(figsize=(6, 6))
    main = [n for n in names if n[0] != "downsample"]
    for i, (n, kind) in enumerate(main):
        ax.text(
            0, -i, f"{n}: {kind}", ha="center", va="center", bbox={"boxstyle": "round", "fc": "lightblue"}
        )
        if i:
            ax.annotate("", (0, -i + 0.25), (0, -i + 0.75), arrowprops={"arrowstyle": "->"})
    ax.text(
        1.6,
        -1.5,
        "downsample:\n1x1 conv + BN",
        ha="center",
        va="center",
        bbox={"boxstyle": "round", "fc": "wheat"},
    )
    ax.annotate(
        "",
        (0.3, -len(main) + 0.6),
        (0.3, 0.3),
        arrowprops={"arrowstyle": "->", "connectionstyle": "arc3,rad=-0.5", "color": "C3", "lw": 2},
    )
    ax.text(
        0,
        -len(main),
        f"add + ReLU -> {tuple(y.shape)}",
        ha="center",
        va="center",
        bbox={"boxstyle": "round", "fc": "lightgreen"},
    )
    ax.set_xlim(-2, 2.5)
    ax.set_ylim(-len(main) - 0.6, 0.6)
    ax.set_title("grimoire.nn.BasicBlock(16, 32, stride=2): the skip connection (red)")
    ax.axis("off")
    return fig


@figure(29, "Softmax converts raw scores into probabilities", "5.2.4")
def fig_softmax(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.kernels import softmax

    scores = np.array([[2.0, 1.0, 0.1, -1.0, 3.0]], np.float32)
    probs = softmax(scores)[0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    labels = [f"class {i}" for i in range(5)]
    axes[0].bar(labels, scores[0], color="C0")
    axes[0].set_title("raw scores (logits)")
    axes[1].bar(labels, probs, color="C2")
    for i, p in enumerate(probs):
        axes[1].text(i, p + 0.01, f"{p:.2f}", ha="center")
    axes[1].set_title(f"softmax: sums to {probs.sum():.3f}")
    return fig


@figure(30, "LSTM gate activations over a sequence", "5.3")
def fig_lstm_gates(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import autograd as ag
    from grimoire import nn

    ag.manual_seed(0)
    lstm = nn.LSTM(1, 8, batch_first=True)
    x = np.sin(np.linspace(0, 4 * np.pi, 60)).astype(np.float32)
    w_ih, w_hh, b_ih, b_hh = (
        (a.data for a in lstm._weights(0))
        if hasattr(lstm, "_weights")
        else (lstm.weight_ih_l0.data, lstm.weight_hh_l0.data, lstm.bias_ih_l0.data, lstm.bias_hh_l0.data)
    )
    h, c = np.zeros(8, np.float32), np.zeros(8, np.float32)
    gates = {"input i": [], "forget f": [], "output o": [], "cell c": []}
    for xt in x:  # the LSTM equations on the layer's own weights (gate order i, f, g, o)
        z = w_ih[:, 0] * xt + w_hh @ h + b_ih + b_hh
        i, f, g, o = np.split(z, 4)
        i, f, o, g = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o)), np.tanh(g)
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, v in zip(gates, (i, f, o, c), strict=True):
            gates[name].append(v)
    out, _ = lstm(ag.Tensor(x[None, :, None]))
    assert np.allclose(out.data[0, -1], h, atol=1e-5)  # the hand-run equations are the layer's
    fig, axes = plt.subplots(5, 1, figsize=(10, 8), sharex=True)
    axes[0].plot(x)
    axes[0].set_ylabel("x_t")
    for ax, (name, v) in zip(axes[1:], gates.items(), strict=True):
        ax.imshow(np.array(v).T, aspect="auto", cmap="viridis")
        ax.set_ylabel(name)
    axes[-1].set_xlabel("time step")
    return fig


@figure(31, "Attention in a trained char-level transformer", "5.4")
def fig_attention_map(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor, no_grad
    from grimoire.nn.zoo import char_data, train_char_gpt

    model = train_char_gpt(steps=30)["model"]
    idx = char_data(400)[None, 100:132]
    with no_grad():
        x = model.tok(idx) + model.pos[: idx.shape[1]]
        block = model.blocks[0]
        h = block.norm1(x)
        _, w = block.self_attn(h, h, h, need_weights=True, is_causal=True)
    chars = [chr(c) if 32 <= c < 127 else "?" for c in idx[0]]
    fig, ax = plt.subplots(figsize=(7, 6.5))
    ax.imshow(np.asarray(w.data if isinstance(w, Tensor) else w)[0], cmap="Blues")
    ax.set_xticks(range(len(chars)), chars, fontsize=7)
    ax.set_yticks(range(len(chars)), chars, fontsize=7)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title("layer 0, heads averaged, causal")
    return fig


@figure(32, "Quantization Visualized: float32 weights to int8", "6.2")
def fig_quantization(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.kernels import dequantize_int8, quantize_int8

    w = np.random.default_rng(0).standard_normal(4096).astype(np.float32) * 0.05
    q = quantize_int8(w)
    codes, scale = (q[0], q[1]) if isinstance(q, tuple) else (q.codes, q.scale)
    back = dequantize_int8(codes, scale) if not isinstance(q, tuple) or len(q) == 2 else dequantize_int8(*q)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    axes[0].hist(w, bins=80, color="C0")
    axes[0].set_title(f"float32 weights ({w.nbytes} bytes)")
    axes[1].hist(np.asarray(codes).ravel(), bins=np.arange(-128, 129, 2), color="C1")
    axes[1].set_title(f"int8 codes ({np.asarray(codes).nbytes} bytes), scale {float(np.ravel(scale)[0]):.2e}")
    axes[2].hist(np.asarray(back).ravel() - w, bins=60, color="C3")
    axes[2].set_title("dequantised - original (within scale / 2)")
    return fig


@figure(33, "Loss Functions Visualized: MSE vs MAE, hinge and BCE", "6.3")
def fig_losses(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.autograd import Tensor
    from grimoire.nn import functional as F

    err = np.linspace(-3, 3, 301).astype(np.float32)
    zeros = np.zeros_like(err)
    mse = F.mse_loss(Tensor(err), zeros, reduction="none").data
    mae = F.l1_loss(Tensor(err), zeros, reduction="none").data
    z = np.linspace(-4, 4, 301).astype(np.float32)
    ones = np.ones_like(z)
    bce_pos = F.binary_cross_entropy_with_logits(Tensor(z), ones, reduction="none").data
    bce_neg = F.binary_cross_entropy_with_logits(Tensor(z), 0 * ones, reduction="none").data
    hinge = np.maximum(0, 1 - z)  # the SVM hinge max(0, 1 - y f(x)) for y = +1
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(err, mse, label="MSE (y - y_hat)^2")
    axes[0].plot(err, mae, label="MAE |y - y_hat|")
    axes[0].set_xlabel("error")
    axes[1].plot(z, hinge, label="hinge, y = +1")
    axes[1].plot(z, bce_pos, "b", label="BCE, y = 1")
    axes[1].plot(z, bce_neg, "r", label="BCE, y = 0")
    axes[1].set_xlabel("score f(x)")
    for ax in axes:
        ax.legend()
        ax.set_ylim(0, 5)
    return fig


def _regression_data():
    from grimoire.ml import LinearRegression

    rng = np.random.default_rng(8)
    x = rng.uniform(0, 10, 25)
    y = 2 * x + 1 + rng.normal(0, 1.5, 25)
    y[[5, 17]] += [12, -10]  # two outliers
    model = LinearRegression().fit(x[:, None], y)
    return x, y, model.predict(x[:, None])


@figure(34, "Regression Error: outliers weigh more in RMSE than in MAE", "6.4.1")
def fig_regression_error(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import metrics

    x, y, pred = _regression_data()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.vlines(x, pred, y, color="C3", lw=1)
    ax.scatter(x, y, s=15)
    ax.plot(np.sort(x), np.sort(pred), "k")
    ax.set_title(
        f"RMSE {metrics.root_mean_squared_error(y, pred):.2f}, MAE {metrics.mean_absolute_error(y, pred):.2f}"
    )
    return fig


@figure(35, "R^2 Visualized: explained vs total variance", "6.4.1")
def fig_r2(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import metrics

    x, y, pred = _regression_data()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.vlines(x - 0.08, y.mean(), y, color="C0", ls="--", lw=1, label="to the mean (total)")
    ax.vlines(x + 0.08, pred, y, color="C3", ls="--", lw=1, label="to the model (unexplained)")
    ax.axhline(y.mean(), color="C0")
    ax.plot(np.sort(x), np.sort(pred), "C3")
    ax.scatter(x, y, s=15, color="k")
    ax.set_title(f"R^2 = 1 - SS_red / SS_blue = {metrics.r2_score(y, pred):.3f}")
    ax.legend()
    return fig


def _digit_scores():
    from sklearn.datasets import load_digits

    from grimoire.ml import LogisticRegression

    d = load_digits()
    X, y = d.data / 16.0, (d.target == 3).astype(int)
    model = LogisticRegression(C=0.05, max_iter=200).fit(X[:1000], y[:1000])
    return y[1000:], model.predict_proba(X[1000:])[:, 1]


@figure(36, "Confusion Matrix", "6.4.2")
def fig_confusion(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import metrics

    y, p = _digit_scores()
    cm = metrics.confusion_matrix(y, (p > 0.5).astype(int))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    colors = np.array([["#b7e4b7", "#f4b6b6"], ["#f4b6b6", "#b7e4b7"]])
    for (i, j), v in np.ndenumerate(cm):
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color=colors[i, j]))
        ax.text(j, i, str(v), ha="center", va="center", fontsize=16)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(1.5, -0.5)
    ax.set_xticks([0, 1], ["predicted not 3", "predicted 3"])
    ax.set_yticks([0, 1], ["true not 3", "true 3"])
    prec = metrics.precision_score(y, (p > 0.5).astype(int))
    rec = metrics.recall_score(y, (p > 0.5).astype(int))
    ax.set_title(f"'is it a 3?': precision {prec:.2f}, recall {rec:.2f}")
    return fig


@figure(37, "ROC Curve Visualized", "6.4.2")
def fig_roc(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import metrics

    y, p = _digit_scores()
    fpr, tpr, _ = metrics.roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"logistic regression, AUC = {metrics.auc(fpr, tpr):.3f}")
    ax.plot([0, 1], [0, 1], "k--", label="random")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend()
    return fig


@figure(38, "Optimization Algorithms: SGD vs Adam on a loss surface", "6.5.1")
def fig_sgd_adam(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import optim
    from grimoire.autograd import Tensor

    def loss_fn(p):  # an elongated valley (Rosenbrock-like, scaled)
        x, y = p[0], p[1]
        return (1 - x) ** 2 + 10 * (y - x * x) ** 2

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    xs, ys = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    axes[0].contour(
        xs, ys, (1 - xs) ** 2 + 10 * (ys - xs**2) ** 2, levels=np.logspace(-1, 3, 20), cmap="viridis"
    )
    for name, make in (
        ("SGD lr 0.01", lambda p: optim.SGD([p], lr=0.01)),
        ("SGD momentum", lambda p: optim.SGD([p], lr=0.005, momentum=0.9)),
        ("Adam lr 0.05", lambda p: optim.Adam([p], lr=0.05)),
    ):
        p = Tensor(np.array([-1.5, 2.5], np.float32), requires_grad=True)
        opt, path, losses = make(p), [], []
        for _ in range(300):
            loss = loss_fn(p)
            opt.zero_grad()
            loss.backward()
            opt.step()
            path.append(p.data.copy())
            losses.append(float(loss.item()))
        path = np.array(path)
        axes[0].plot(path[:, 0], path[:, 1], ".-", ms=2, label=name)
        axes[1].semilogy(losses, label=name)
    axes[0].plot(1, 1, "r*", ms=12)
    axes[0].legend()
    axes[1].set_xlabel("step")
    axes[1].set_title("loss")
    axes[1].legend()
    return fig


@figure(39, "Batch Norm in a layer sequence: linear -> batch norm -> activation", "6.5.2")
def fig_bn_sequence(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import nn

    model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))
    kinds = [type(m).__name__ for m in model.children()]
    fig, ax = plt.subplots(figsize=(10, 2.2))
    for i, k in enumerate(kinds):
        color = "wheat" if k.startswith("BatchNorm") else "lightblue"
        ax.text(
            i * 2.2,
            0,
            f"{i}: {k}",
            ha="center",
            va="center",
            fontsize=11,
            bbox={"boxstyle": "round", "fc": color},
        )
        if i:
            ax.annotate("", (i * 2.2 - 0.9, 0), (i * 2.2 - 1.3, 0), arrowprops={"arrowstyle": "->"})
    ax.set_xlim(-1, len(kinds) * 2.2 - 1)
    ax.axis("off")
    return fig


@figure(40, "Batch Normalization: activation distributions with and without BN", "6.5.2")
def fig_bn_hist(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import autograd as ag
    from grimoire import nn
    from grimoire.autograd import Tensor

    ag.manual_seed(0)
    x = (np.random.default_rng(0).standard_normal((512, 20)) * 3 + 2).astype(np.float32)
    lin, bn = nn.Linear(20, 64), nn.BatchNorm1d(64)
    pre = lin(Tensor(x))
    post = bn(pre)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(pre.data[:, :8].ravel(), bins=60, alpha=0.6, density=True, label="after Linear")
    ax.hist(post.data[:, :8].ravel(), bins=60, alpha=0.6, density=True, label="after BatchNorm1d")
    ax.legend()
    ax.set_title("8 units over a batch of 512")
    return fig


@section("6.5.3", "Dropout", "grimoire.nn.Dropout")
def dropout_section(t: Tour) -> None:
    from grimoire import autograd as ag
    from grimoire import nn
    from grimoire.autograd import Tensor

    ag.manual_seed(0)
    layer = nn.Dropout(0.5)
    x = Tensor(np.ones((1000, 100), np.float32))
    y = layer(x)
    t.show("training: fraction of units kept (p = 0.5)", f"{(y.data != 0).mean():.3f}")
    t.show("training: mean activation (inverted dropout rescales by 1/(1-p))", f"{y.data.mean():.3f}")
    layer.eval()
    t.show("inference: the layer is the identity", bool(np.array_equal(layer(x).data, x.data)))


@figure(41, "Dropout Visualized: masks in training, all units at inference", "6.5.3")
def fig_dropout(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire import autograd as ag
    from grimoire.autograd import Tensor
    from grimoire.nn import functional as F

    ag.manual_seed(0)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    for k, ax in enumerate(axes[:3]):
        mask = F.dropout(Tensor(np.ones((6, 10), np.float32)), 0.5, True).data != 0
        ax.imshow(mask, cmap="Greys_r", vmin=0, vmax=1)
        ax.set_title(f"training step {k + 1}: {mask.mean():.0%} kept")
    axes[3].imshow(np.ones((6, 10)), cmap="Greys_r", vmin=0, vmax=1)
    axes[3].set_title("inference: all units")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


@figure(42, "Diffusion: forward noising (top) and reverse denoising (bottom) of a digit", "7.2")
def fig_diffusion(t: Tour, plt: ModuleType) -> MplFigure:
    from sklearn.datasets import load_digits

    from grimoire.diffusion import DDPMScheduler, gaussian_mixture_eps

    digits = load_digits().data[:200] / 8.0 - 1.0  # 200 digits in [-1, 1], the data distribution
    sched = DDPMScheduler(200)
    rng = np.random.default_rng(0)
    x0 = digits[:1]
    steps = [0, 20, 50, 100, 150, 199]
    noisy = [sched.add_noise(x0, rng.standard_normal(x0.shape), np.array([s]))[0] for s in steps]
    eps = gaussian_mixture_eps(sched, digits, std=0.05)  # the exact denoiser of this data set
    x = rng.standard_normal((1, 64))
    snaps = {}
    for step in range(199, -1, -1):
        x, _ = sched.step(eps(x, step), step, x, noise=rng.standard_normal(x.shape))
        if step in steps:
            snaps[step] = x[0].copy()
    fig, axes = plt.subplots(2, len(steps), figsize=(12, 4.2))
    for k, s in enumerate(steps):
        axes[0, k].imshow(noisy[k].reshape(8, 8), cmap="gray_r")
        axes[0, k].set_title(f"q(x_{s} | x_0)", fontsize=9)
        axes[1, k].imshow(snaps[s].reshape(8, 8), cmap="gray_r")
        axes[1, k].set_title(f"reverse, t = {s}", fontsize=9, color="red")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _spectral_layout(g) -> dict:
    """2-D positions from the Laplacian's 2nd and 3rd eigenvectors (grimoire.linalg.eigh)."""
    from grimoire import linalg

    a = g.adjacency_matrix(weighted=False)
    lap = np.diag(a.sum(1)) - a
    _, vecs = linalg.eigh(lap)
    return {v: vecs[i, 1:3] for i, v in enumerate(g.nodes)}


def _draw_graph(ax, g, pos, colors=None, labels=True) -> None:
    for u, v, _ in g.edges():
        ax.plot(*np.array([pos[u], pos[v]]).T, color="0.6", lw=1, zorder=1)
    xy = np.array([pos[v] for v in g.nodes])
    if colors is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=300, color="C0", zorder=2)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=300, c=colors, cmap="coolwarm", zorder=2)
    if labels:
        for v in g.nodes:
            ax.text(*pos[v], str(v), ha="center", va="center", fontsize=8, color="w", zorder=3)
    ax.axis("off")


@figure(43, "A simple graph G = (V, E)", "7.3")
def fig_graph(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.graph import Graph

    g = Graph(
        [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D"), ("D", "E"), ("E", "F"), ("D", "F"), ("B", "E")]
    )
    fig, ax = plt.subplots(figsize=(5, 4))
    _draw_graph(ax, g, _spectral_layout(g))
    ax.set_title(f"|V| = {len(g)}, |E| = {len(g.edges())}; BFS from A: {' '.join(g.bfs('A'))}", fontsize=9)
    return fig


@figure(44, "A tree: one root, two children, four grandchildren", "7.3")
def fig_tree_graph(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.graph import Graph

    g = Graph([("root", "a"), ("root", "b"), ("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")])
    order = g.bfs("root")
    depth = {"root": 0}
    for v in order:
        for u in g.neighbors(v):
            depth.setdefault(u, depth[v] + 1)
    pos, per_level = {}, {}
    for v in order:
        k = per_level.setdefault(depth[v], [])
        k.append(v)
    for d, vs in per_level.items():
        for i, v in enumerate(vs):
            pos[v] = np.array([(i + 0.5) / len(vs), -d])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    _draw_graph(ax, g, pos)
    ax.set_title(f"is_tree: {g.is_tree()}, levels from BFS")
    return fig


@figure(45, "Message passing: one round on the karate club", "7.4")
def fig_message_passing(t: Tour, plt: ModuleType) -> MplFigure:
    import networkx as nx

    from grimoire.graph import Graph, propagate

    g = Graph.from_networkx(nx.karate_club_graph())
    x = np.zeros((len(g), 1), np.float32)
    x[[0, 33]] = [[1.0], [-1.0]]  # the two leaders
    h1 = propagate(g, x)
    h2 = propagate(g, h1)
    pos = _spectral_layout(g)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, h, title in zip(
        axes, (x, h1, h2), ("h(0): the two leaders", "after 1 round", "after 2 rounds"), strict=True
    ):
        _draw_graph(ax, g, pos, colors=h[:, 0], labels=False)
        ax.set_title(title)
    return fig


@figure(46, "An agent observes, plans, acts and replans", "7.5")
def fig_agent(t: Tour, plt: ModuleType) -> MplFigure:
    from grimoire.agents import PlanningAgent
    from grimoire.rl import GridWorld

    walls = [(1, 1), (2, 1), (3, 1), (1, 3), (2, 3), (3, 3), (3, 2)]
    env = GridWorld((5, 5), start=(0, 0), goal=(4, 4), walls=walls)
    agent = PlanningAgent(known_walls=[])  # it does not know the walls: it learns them by bumping
    visited, replans = agent.run(env)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.3]})
    ax = axes[0]
    for r, c in walls:
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.3"))
    rows, cols = zip(*visited, strict=True)
    ax.plot(cols, rows, "o-", color="C0")
    ax.plot(0, 0, "gs", ms=12)
    ax.plot(4, 4, "r*", ms=15)
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(4.5, -0.5)
    ax.set_title(f"path taken: {len(visited) - 1} steps, {replans} replans")
    axes[1].axis("off")
    axes[1].text(0, 1, "\n".join(agent.log_[:18]), va="top", family="monospace", fontsize=8)
    axes[1].set_title("the agent's log (observe -> plan -> act)")
    return fig
