"""The showcase models of primer chapter 5, trained on data that ships inside a package.

Each ``train_*`` function builds its model, trains it and returns a small result dict (model,
metric, history); the tour prints them, the tests run them on reduced sizes and assert their
thresholds, the benchmark times one step of the same models.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .. import autograd as ag
from .. import optim
from ..autograd import Tensor
from . import functional as F
from .activation import Dropout, ReLU, Tanh
from .containers import Sequential
from .conv import Conv2d, MaxPool2d
from .linear import Flatten, Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module
from .moe import MoE
from .norm import BatchNorm2d, LayerNorm
from .recurrent import GRU
from .transformer import GPT
from .vit import ViT


def digits_split(seed: int = 0, test_size: int = 360
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits scaled to [0, 1] as (N, 1, 8, 8), a fixed random split."""
    from ..datasets import load_digits

    X, y = load_digits()
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    idx = np.random.default_rng(seed).permutation(len(X))
    te, tr = idx[:test_size], idx[test_size:]
    return X[tr], y[tr], X[te], y[te]


def digits_cnn(width: int = 32) -> Sequential:
    """Conv-BN-ReLU x2, max-pool, then a small MLP head: 8x8 digits -> 10 logits."""
    return Sequential(
        Conv2d(1, width, 3, padding=1),
        BatchNorm2d(width),
        ReLU(),
        Conv2d(width, 2 * width, 3, padding=1),
        BatchNorm2d(2 * width),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dropout(0.2),
        Linear(2 * width * 16, 128),
        ReLU(),
        Linear(128, 10),
    )


def train_digits_cnn(
    epochs: int = 6,
    width: int = 32,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    n_train: int | None = None,
    device: str | None = None,
) -> dict:
    """The 5.2.3 showcase: a CNN on the digits, AdamW + cosine schedule; returns test accuracy.

    ``device`` (``"cpu"``, ``"cuda"``): where the model trains (the same code on each; the
    initialisation is drawn on the host, so a seed gives the same start everywhere)."""
    from ..train import evaluate, fit

    Xtr, ytr, Xte, yte = digits_split()
    if n_train is not None:
        Xtr, ytr = Xtr[:n_train], ytr[:n_train]
    ag.manual_seed(seed)
    model = digits_cnn(width)
    if device is not None:
        model.to(device)
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * -(-len(Xtr) // batch_size)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    hist = fit(
        model,
        CrossEntropyLoss(),
        opt,
        Xtr,
        ytr,
        epochs=epochs,
        batch_size=batch_size,
        scheduler=sched,
        scheduler_per="step",
        seed=seed,
        verbose=False,
        device=device,
    )
    seconds = time.perf_counter() - t0
    _, acc = evaluate(model, CrossEntropyLoss(), Xte, yte, device=device)
    return {"model": model, "accuracy": acc, "seconds": seconds, "history": hist}


def train_tabular_mlp(epochs: int = 30, seed: int = 0) -> dict:
    """An MLP on scikit-learn's breast-cancer table (standardised), test accuracy."""
    from sklearn.datasets import load_breast_cancer

    from ..train import evaluate, fit

    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(seed).permutation(len(X))
    te, tr = idx[:114], idx[114:]
    mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-9
    X = ((X - mu) / sd).astype(np.float32)
    ag.manual_seed(seed)
    model = Sequential(Linear(30, 32), ReLU(), Dropout(0.1), Linear(32, 2))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    hist = fit(
        model, CrossEntropyLoss(), opt, X[tr], y[tr], epochs=epochs, batch_size=32, seed=seed, verbose=False
    )
    _, acc = evaluate(model, CrossEntropyLoss(), X[te], y[te])
    return {"model": model, "accuracy": acc, "history": hist}


class SequenceRegressor(Module):
    """GRU over a window of a series, a linear read-out of the last hidden state."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.rnn = GRU(1, hidden, batch_first=True)
        self.out = Linear(hidden, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


def sine_windows(n: int = 600, window: int = 20, noise: float = 0.05, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a noisy two-tone sine wave and the value that follows each (a sequence task)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + window + 1)
    s = np.sin(0.2 * t) + 0.5 * np.sin(0.05 * t + 1.0) + noise * rng.standard_normal(len(t))
    X = np.stack([s[i : i + window] for i in range(n)]).astype(np.float32)[:, :, None]
    y = s[window : window + n].astype(np.float32)[:, None]
    return X, y


def train_sequence_gru(epochs: int = 15, hidden: int = 32, n: int = 600, seed: int = 0) -> dict:
    """The 5.3 showcase: a GRU forecasts the next value of a noisy sine; returns its test MSE and
    that of the naive "repeat the last value" forecast."""
    from ..train import evaluate, fit

    X, y = sine_windows(n, seed=seed)
    cut = int(0.8 * n)
    ag.manual_seed(seed)
    model = SequenceRegressor(hidden)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    hist = fit(
        model,
        MSELoss(),
        opt,
        X[:cut],
        y[:cut],
        epochs=epochs,
        batch_size=32,
        metric=None,
        seed=seed,
        verbose=False,
        clip_norm=1.0,
    )
    mse, _ = evaluate(model, MSELoss(), X[cut:], y[cut:], metric=None)
    naive = float(((X[cut:, -1, 0] - y[cut:, 0]) ** 2).mean())
    return {"model": model, "mse": mse, "naive_mse": naive, "history": hist}


def char_data(max_chars: int = 60_000) -> np.ndarray:
    """The pydoc text as byte-level tokens (vocabulary 256)."""
    from ..datasets import text_corpus

    return np.frombuffer(text_corpus(max_chars).encode("utf-8", "replace"), np.uint8).astype(np.int64)


def train_char_gpt(
    steps: int = 150,
    d_model: int = 64,
    n_heads: int = 4,
    n_layers: int = 2,
    block: int = 64,
    batch: int = 16,
    lr: float = 3e-3,
    max_chars: int = 60_000,
    seed: int = 0,
    device: str | None = None,
    autocast: bool = False,
) -> dict:
    """The 5.4 showcase: a char-level decoder-only transformer on Python's own documentation.

    ``device`` (``"cpu"``, ``"cuda"``): where it trains, with the same code (the batches are drawn
    on the host and moved; the initialisation is drawn on the host, so a seed gives the same
    start everywhere). ``autocast``: bf16 operands in the GEMMs and attention (tensor cores on a
    GPU), float32 master weights.

    Returns the model, the loss curve, the validation loss (nats per byte; uniform guessing over
    256 bytes is log 256 = 5.55), the training time in seconds and the training tokens per
    second (``steps * batch * block / seconds``; each step's loss is read back, so the time
    includes the device's work)."""
    from .. import _array
    from ..train import clip_grad_norm_

    data = char_data(max_chars)
    cut = int(0.9 * len(data))
    train, val = data[:cut], data[cut:]
    ag.manual_seed(seed)
    model = GPT(256, d_model, n_heads, n_layers, max_len=block)
    if device is not None:
        model.to(device)
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = optim.lr_scheduler.SequentialLR(
        opt,
        [
            optim.lr_scheduler.LinearLR(opt, 0.1, 1.0, max(steps // 10, 1)),
            optim.lr_scheduler.CosineAnnealingLR(opt, steps),
        ],
        milestones=[max(steps // 10, 1)],
    )

    def place(a):
        return a if device is None else _array.to_device(a, device)

    rng = np.random.default_rng(seed)
    losses = []
    t0 = time.perf_counter()
    for _ in range(steps):
        starts = rng.integers(0, len(train) - block - 1, batch)
        xb = place(np.stack([train[s : s + block] for s in starts]))
        yb = place(np.stack([train[s + 1 : s + block + 1] for s in starts]))
        with ag.autocast(autocast):
            logits = model(xb)
            loss = F.cross_entropy(logits.reshape(-1, 256), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - t0
    model.eval()
    vl = []
    with ag.no_grad(), ag.autocast(autocast):
        for s in range(0, min(len(val) - block - 1, 8 * block), block):
            x, yv = place(val[None, s : s + block]), place(val[None, s + 1 : s + block + 1])
            vl.append(F.cross_entropy(model(x).reshape(-1, 256), yv.reshape(-1)).item())
    return {"model": model, "losses": losses, "val_loss": float(np.mean(vl)), "seconds": seconds,
            "tokens_per_s": steps * batch * block / max(seconds, 1e-12)}


def train_digits_vit(epochs: int = 6, dim: int = 48, seed: int = 0, n_train: int | None = None) -> dict:
    """A ViT on the digits: 4x4 patches of the 8x8 image (4 tokens + a class token)."""
    from ..train import evaluate, fit

    Xtr, ytr, Xte, yte = digits_split()
    if n_train is not None:
        Xtr, ytr = Xtr[:n_train], ytr[:n_train]
    ag.manual_seed(seed)
    model = ViT(8, 4, 10, dim=dim, depth=2, heads=4)
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    hist = fit(
        model, CrossEntropyLoss(), opt, Xtr, ytr, epochs=epochs, batch_size=32, seed=seed, verbose=False
    )
    _, acc = evaluate(model, CrossEntropyLoss(), Xte, yte)
    return {"model": model, "accuracy": acc, "history": hist}


class MoEClassifier(Module):
    """Flattened digits -> Linear -> MoE (top-2 of 4 experts) -> LayerNorm -> Linear."""

    def __init__(self, d: int = 64, experts: int = 4, top_k: int = 2):
        super().__init__()
        self.inp = Linear(64, d)
        self.moe = MoE(d, 2 * d, experts, top_k)
        self.norm = LayerNorm(d)
        self.out = Linear(d, 10)

    def forward(self, x: Tensor) -> Tensor:
        h = self.inp(x.reshape(x.shape[0], -1)).relu()
        return self.out(self.norm(h + self.moe(h)))


def train_digits_moe(epochs: int = 10, seed: int = 0, aux_weight: float = 0.01) -> dict:
    """MoE on the digits with the load-balancing loss added to the cross-entropy."""
    from ..train import evaluate, fit

    Xtr, ytr, Xte, yte = digits_split()
    ag.manual_seed(seed)
    model = MoEClassifier()
    ce = CrossEntropyLoss()

    def loss_fn(out, y):
        loss = ce(out, y)
        return loss + model.moe.aux_loss * aux_weight if model.training else loss

    opt = optim.Adam(model.parameters(), lr=3e-3)
    hist = fit(model, loss_fn, opt, Xtr, ytr, epochs=epochs, batch_size=64, seed=seed, verbose=False)
    _, acc = evaluate(model, ce, Xte, yte)
    return {"model": model, "accuracy": acc, "history": hist, "load": model.moe.last_load}


def mlp(sizes: list[int], act: Callable[[], Module] = Tanh) -> Sequential:
    """Linear layers of the given sizes with ``act`` between them."""
    layers: list[Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Linear(a, b), act()]
    return Sequential(*layers[:-1])


__all__ = [
    "digits_split",
    "digits_cnn",
    "train_digits_cnn",
    "train_tabular_mlp",
    "SequenceRegressor",
    "sine_windows",
    "train_sequence_gru",
    "char_data",
    "train_char_gpt",
    "train_digits_vit",
    "MoEClassifier",
    "train_digits_moe",
    "mlp",
]
