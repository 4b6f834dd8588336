"""The optim family (primer 6.5.1): fused, in-place optimizer steps and gradient clipping.

Each step is one pass over memory (every element read once, written once), multithreaded,
float32. Arrays must be float32, C-contiguous and of equal shapes, and must not overlap; they
are updated in place, so nothing is ever copied. The arithmetic follows torch.optim.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._device import backend


def adam_step(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, *, step: int, lr: float,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
              decoupled: bool = True, amsgrad: bool = False, max_v: np.ndarray | None = None) -> None:
    """One Adam (``decoupled=False``, L2 through the gradient) or AdamW (``decoupled=True``) step.

    ``m_t = beta1 m + (1 - beta1) g``, ``v_t = beta2 v + (1 - beta2) g^2``,
    ``theta -= lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)``
    (bias correction as torch.optim.Adam). ``step`` is t, counting from 1. AdamW first scales
    ``theta *= 1 - lr * weight_decay``; Adam adds ``weight_decay * theta`` to g. ``amsgrad`` keeps
    ``max_v = max(max_v, v_t)`` (pass zeros at the start) and divides by its root instead.
    param, m, v (and max_v) are updated in place.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):  # int() would take 1.5 or '1'
        raise TypeError(f"step must be an int (the step's number, from 1), got {step!r}")
    backend(param=param, grad=grad, m=m, v=v, max_v=max_v).adam_step(
        param, grad, m, v, int(step), float(lr), float(beta1), float(beta2), float(eps), float(weight_decay),
        bool(decoupled), bool(amsgrad), max_v)


def multi_tensor_adam_step(params: list, grads: list, ms: list, vs: list, *, step: int, lr: float,
                           beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                           weight_decay: float = 0.0, decoupled: bool = True, amsgrad: bool = False,
                           max_vs: list | None = None) -> None:
    """:func:`adam_step` over lists of tensors (``params[i]``, ``grads[i]``, ``ms[i]``, ``vs[i]``
    and ``max_vs[i]``) with one step count and one set of hyper-parameters.

    On the GPU this is ONE fused multi-tensor launch (the tensors' pointers travel in the kernel's
    parameters, each tensor cut into 64k-element chunks, as torch's fused Adam); on the CPU a
    loop of :func:`adam_step`. The results equal per-tensor :func:`adam_step` calls bit for bit.
    No two arrays of the whole call may share memory.
    """
    params, grads, ms, vs = _lists(params=params, grads=grads, ms=ms, vs=vs)
    max_vs = None if max_vs is None else list(max_vs)
    arrays = _named(params=params, grads=grads, ms=ms, vs=vs, max_vs=max_vs or [])
    backend(**arrays).multi_tensor_adam_step(params, grads, ms, vs, int(step), float(lr), float(beta1),
                                             float(beta2), float(eps), float(weight_decay), bool(decoupled),
                                             bool(amsgrad), max_vs)


def multi_tensor_sgd_step(params: list, grads: list, momentum_bufs: list | None, *, lr: float,
                          momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                          weight_decay: float = 0.0, first_step: bool) -> None:
    """:func:`sgd_step` over lists of tensors with one set of hyper-parameters: one fused launch
    on the GPU, a loop on the CPU; ``momentum_bufs`` may be None without momentum."""
    params, grads = _lists(params=params, grads=grads)
    bufs = None if momentum_bufs is None else list(momentum_bufs)
    arrays = _named(params=params, grads=grads, momentum_bufs=bufs or [])
    backend(**arrays).multi_tensor_sgd_step(params, grads, bufs, float(lr), float(momentum), float(dampening),
                                            bool(nesterov), float(weight_decay), bool(first_step))


def _lists(**lists) -> list[list]:
    for name, value in lists.items():
        if not isinstance(value, list | tuple):
            raise TypeError(f"{name} must be a list of arrays, got {type(value).__name__}")
    return [list(v) for v in lists.values()]


def _named(**lists) -> dict:
    """{"params[0]": array, ...}: every array of a list call, named for the device check."""
    return {f"{name}[{i}]": a for name, arrays in lists.items() for i, a in enumerate(arrays)}


def sgd_step(param: np.ndarray, grad: np.ndarray, momentum_buf: np.ndarray | None, *, lr: float,
             momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
             first_step: bool) -> None:
    """One SGD step as torch.optim.SGD: ``theta_{t+1} = theta_t - lr * d``.

    ``g = grad + weight_decay * theta``; with momentum, ``b = g`` on the first step (``first_step``)
    and ``b = momentum * b + (1 - dampening) * g`` after; ``d = g + momentum * b`` (nesterov) or
    ``b``; without momentum ``d = g`` and ``momentum_buf`` may be None. Updates in place.
    """
    backend(param=param, grad=grad, momentum_buf=momentum_buf).sgd_step(
        param, grad, momentum_buf, float(lr), float(momentum), float(dampening), bool(nesterov),
        float(weight_decay), bool(first_step))


def clip_grad_norm(grads: list[np.ndarray], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale gradients in place so their total norm is at most ``max_norm`` (torch.nn.utils.clip_grad_norm_).

    ``total = ||concat(grads)||_p`` (``norm_type`` p > 0, or ``float('inf')`` for max |g|);
    every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``. Returns ``total``
    (before clipping). A NaN/inf total makes the gradients NaN, as torch does by default.
    """
    if not isinstance(grads, list | tuple):
        raise TypeError(f"grads must be a list of numpy arrays, got {type(grads).__name__}")
    grads = list(grads)
    return backend(**{f"grads[{i}]": g for i, g in enumerate(grads)}).clip_grad_norm(
        grads, float(max_norm), float(norm_type))
