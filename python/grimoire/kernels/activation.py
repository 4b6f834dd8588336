"""The activation family (primer 5.1.1): exact GELU and its gradient, one pass over memory each."""

from __future__ import annotations

import numpy as np

from ._device import backend


def gelu(x: np.ndarray) -> np.ndarray:
    r"""Exact GELU of a float32 C-contiguous array (any shape), as ``torch.nn.functional.gelu``:

    .. math:: y = x\,\Phi(x),\quad \Phi(x) = \tfrac12\bigl(1 + \mathrm{erf}(x/\sqrt2)\bigr)

    erf to 1.5e-7 (Abramowitz & Stegun 7.1.26 in float32; the scalar path uses ``std::erf``).
    """
    return backend(x=x).gelu(x)


def gelu_backward(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Gradient of :func:`gelu` at its input ``x``:

    .. math:: \nabla_x = \nabla_y\,\bigl(\Phi(x) + x\,\varphi(x)\bigr),\quad
              \varphi(x) = e^{-x^2/2} / \sqrt{2\pi}

    ``grad_y`` and ``x`` float32 C-contiguous of one shape.
    """
    return backend(grad_y=grad_y, x=x).gelu_backward(grad_y, x)
