"""Data the tour and the tests use. Nothing is downloaded, ever: everything here is generated,
or ships inside a package that is installed (scikit-learn's bundled datasets, Python's own
documentation text, Debian's Fashion-MNIST when present)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ._typing import Seed

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


# ---------------------------------------------------------------------------------- generators

def make_xor(n_samples: int = 4, noise: float = 0.0,
             random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem (primer 5.1.2): y = x1 XOR x2. With ``n_samples=4`` the four corners
    exactly; more samples repeat the corners with Gaussian ``noise`` added."""
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0])
    idx = np.arange(n_samples) % 4
    x = corners[idx] + noise * _rng(random_state).standard_normal((n_samples, 2))
    return x, labels[idx]


def make_blobs(n_samples: int = 300, centers: int = 3, n_features: int = 2, cluster_std: float = 1.0,
               random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs around ``centers`` random centres in [-10, 10]^d."""
    rng = _rng(random_state)
    c = rng.uniform(-10, 10, size=(centers, n_features))
    y = np.arange(n_samples) % centers
    return c[y] + cluster_std * rng.standard_normal((n_samples, n_features)), y


def make_moons(n_samples: int = 200, noise: float = 0.1,
               random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles."""
    rng = _rng(random_state)
    n0 = n_samples // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n_samples - n0)
    x = np.concatenate([np.c_[np.cos(t0), np.sin(t0)], np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n_samples - n0, int)]
    return x + noise * rng.standard_normal(x.shape), y


def make_circles(n_samples: int = 200, factor: float = 0.5, noise: float = 0.05,
                 random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one (radius ratio ``factor``)."""
    rng = _rng(random_state)
    n0 = n_samples // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n_samples - n0, endpoint=False)
    x = np.concatenate([np.c_[np.cos(t0), np.sin(t0)], factor * np.c_[np.cos(t1), np.sin(t1)]])
    y = np.r_[np.zeros(n0, int), np.ones(n_samples - n0, int)]
    return x + noise * rng.standard_normal(x.shape), y


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                 random_state: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms, the classic non-linear classification toy."""
    rng = _rng(random_state)
    y = np.arange(n_samples) % n_classes
    r = rng.uniform(0, 1, n_samples)
    theta = y * 2 * np.pi / n_classes + 4 * r + noise * rng.standard_normal(n_samples)
    return np.c_[r * np.sin(theta), r * np.cos(theta)], y


def make_ar(n: int, phi: list[float], sigma: float = 1.0, c: float = 0.0, burn_in: int = 100,
            random_state: Seed = None) -> np.ndarray:
    """An AR(p) process x_t = c + sum_i phi_i x_{t-i} + e_t, e_t ~ N(0, sigma^2)."""
    rng = _rng(random_state)
    p = len(phi)
    x = np.zeros(n + burn_in + p)
    e = sigma * rng.standard_normal(x.shape[0])
    for t in range(p, x.shape[0]):
        x[t] = c + np.dot(phi, x[t - p:t][::-1]) + e[t]
    return x[-n:]


# ------------------------------------------------------------------------- shipped real data

def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: X (1797, 64) float32 in [0, 16], y (1797,) int64."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def fashion_mnist_available() -> bool:
    return (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists()


def load_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist``: images (n, 28, 28) uint8 and
    labels (n,) int64. ``split`` is "train" (60k) or "test" (10k)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not fashion_mnist_available():
        raise FileNotFoundError(f"Fashion-MNIST not found under {FASHION_MNIST_DIR} "
                                "(apt-get install dataset-fashion-mnist)")
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return images, labels


def text_corpus(max_chars: int | None = None) -> str:
    """English text that ships with Python itself: the documentation topics of ``pydoc_data``
    (about 465,000 characters), in a fixed order."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    return text if max_chars is None else text[:max_chars]
