"""The softmax family (primer 5.2.4): softmax, log-softmax and the fused cross-entropy loss.

Stable forms throughout: the row max is subtracted before ``exp``, so logits of any finite
magnitude (1e4 and beyond) are safe; NaN in a row makes that row's outputs NaN.
"""

from __future__ import annotations

import numpy as np

from ._device import backend


def softmax(x: np.ndarray) -> np.ndarray:
    """``p(z_i) = exp(z_i) / sum_j exp(z_j)`` over the last axis of a float32 C-contiguous array
    (any leading shape), computed as ``exp(z_i - max z) / sum_j exp(z_j - max z)``."""
    return backend(x=x).softmax(x)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """``log softmax(z)_i = (z_i - max z) - log sum_j exp(z_j - max z)`` over the last axis."""
    return backend(x=x).log_softmax(x)


def softmax_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of :func:`softmax` from its output y: ``grad_x = y * (grad_y - sum(grad_y * y))``."""
    return backend(grad_y=grad_y, y=y).softmax_backward(grad_y, y)


def log_softmax_backward(grad_y: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of :func:`log_softmax` from its output y: ``grad_x = grad_y - exp(y) * sum(grad_y)``."""
    return backend(grad_y=grad_y, y=y).log_softmax_backward(grad_y, y)


def cross_entropy(logits: np.ndarray, targets: np.ndarray, *, reduction: str = "mean",
                  ignore_index: int = -100, label_smoothing: float = 0.0, return_grad: bool = False
                  ) -> float | np.ndarray | tuple[float | np.ndarray, np.ndarray]:
    """Softmax cross-entropy of (N, C) float32 logits against (N,) int64 class targets.

    ``loss_i = logsumexp(z_i) - (1 - eps) z_{i,t_i} - eps/C sum_j z_ij`` (eps = label_smoothing),
    rows whose target equals ``ignore_index`` contribute nothing. ``reduction``: "mean" (over the
    non-ignored rows; NaN if there are none, as PyTorch), "sum" or "none" (an (N,) array).

    With ``return_grad=True`` also returns the gradient of the (reduced) loss w.r.t. the logits,
    ``scale * (softmax - (1 - eps) onehot - eps / C)`` with scale 1/count for "mean" and 1
    otherwise (for "none": the gradient of the sum), computed in the same pass as the loss: the
    exponentials are written once into the gradient buffer and rescaled there.

    CUDA arrays run on the GPU (one block per row, one read of the logits for the loss and one
    more for the gradient); the reduced loss is returned as a Python float there too, so that
    call synchronises with the device.
    """
    return backend(logits=logits, targets=targets).cross_entropy(
        logits, targets, reduction, int(ignore_index), float(label_smoothing), bool(return_grad))
