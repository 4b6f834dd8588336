"""The norm family (primer 5.2.4, 6.5.2): LayerNorm, RMSNorm and BatchNorm, forward and backward.

All arrays are float32 and C-contiguous (no silent cast or copy). The statistics are exact
two-pass ones: LayerNorm/RMSNorm re-read each row from cache for the second pass (one trip to
memory), BatchNorm merges per-block two-pass moments with Chan's formula in one pass.
CUDA arrays run on the GPU (grimoire._cuda): LayerNorm/RMSNorm one block per row, BatchNorm
per-channel partial sums; every weight gradient deterministic (no float atomics).
"""

from __future__ import annotations

import numpy as np

from ._device import backend


def layer_norm(x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None,
               eps: float = 1e-5, *, out: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer normalisation over the last axis.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with ``mean`` and the biased ``var``
    taken over the last axis of each row.

    Parameters
    ----------
    x : (..., D) float32, C-contiguous, D >= 1.
    weight, bias : (D,) float32 or None (no scale / no shift).
    eps : added to the variance.
    out : optional (..., D) float32 array to write ``y`` into (must not overlap ``x``).

    Returns
    -------
    y : (..., D); mean : (...,); rstd : (...,) = 1 / sqrt(var + eps), as the backward needs them.
    """
    return backend(x=x, weight=weight, bias=bias, out=out).layer_norm(x, weight, bias, float(eps), out)


def layer_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        mean: np.ndarray, rstd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`layer_norm`.

    With ``xhat = (x - mean) * rstd`` and ``g = grad_y * weight``:
    ``grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat))`` (means over the last axis),
    ``grad_weight = sum(grad_y * xhat)`` and ``grad_bias = sum(grad_y)`` over all rows.

    Returns (grad_x (..., D), grad_weight (D,), grad_bias (D,)); the column sums run over a
    fixed row partition, so they do not depend on the number of threads.
    """
    return backend(grad_y=grad_y, x=x, weight=weight, mean=mean, rstd=rstd).layer_norm_backward(
        grad_y, x, weight, mean, rstd)


def rms_norm(x: np.ndarray, weight: np.ndarray | None = None, eps: float = 1e-6, *,
             out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RMS normalisation over the last axis: ``y = x / sqrt(mean(x^2) + eps) * weight``.

    Shapes as :func:`layer_norm`; returns (y (..., D), rstd (...,)).
    """
    return backend(x=x, weight=weight, out=out).rms_norm(x, weight, float(eps), out)


def rms_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                      rstd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`rms_norm`: ``grad_x = rstd * (g - xhat * mean(g * xhat))`` with
    ``xhat = x * rstd``, ``g = grad_y * weight``; ``grad_weight = sum(grad_y * xhat)``.

    Returns (grad_x (..., D), grad_weight (D,)).
    """
    return backend(grad_y=grad_y, x=x, weight=weight, rstd=rstd).rms_norm_backward(grad_y, x, weight, rstd)


def batch_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
               running_mean: np.ndarray | None, running_var: np.ndarray | None, *, training: bool,
               momentum: float = 0.1, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation (primer 6.5.2): ``y = gamma * (x - mu_B) / sqrt(sigma_B^2 + eps) + beta``.

    Parameters
    ----------
    x : (N, C) or (N, C, *) float32, C-contiguous; statistics per channel C over N and *.
    weight, bias : (C,) float32 or None (gamma = 1 / beta = 0).
    running_mean, running_var : (C,) float32 or None. With ``training=True`` they are updated in
        place as PyTorch does: ``r = (1 - momentum) * r + momentum * stat``, the variance being
        the unbiased one (divided by n - 1). With ``training=False`` they are the statistics used.
    training : batch statistics (True, needs more than one value per channel) or running ones.

    Returns
    -------
    y : like x; save_mean (C,) and save_rstd (C,) = 1 / sqrt(var + eps): the statistics used,
    for :func:`batch_norm_backward`.
    """
    module = backend(x=x, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    return module.batch_norm(x, weight, bias, running_mean, running_var, bool(training), float(momentum),
                             float(eps))


def batch_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        save_mean: np.ndarray, save_rstd: np.ndarray, *, training: bool = True
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`batch_norm`.

    Training (the statistics depend on x): ``grad_x = w * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))``
    per channel; inference: ``grad_x = w * rstd * dy``. ``grad_weight = sum(dy * xhat)``,
    ``grad_bias = sum(dy)``. Returns (grad_x, grad_weight (C,), grad_bias (C,)).
    """
    module = backend(grad_y=grad_y, x=x, weight=weight, save_mean=save_mean, save_rstd=save_rstd)
    return module.batch_norm_backward(grad_y, x, weight, save_mean, save_rstd, bool(training))
