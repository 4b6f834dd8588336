"""The linear-attention family (primer 5.4.5): kernelised attention in time and memory linear in
the sequence length (Katharopoulos et al. 2020), forward and backward in the core."""

from __future__ import annotations

import numpy as np

from ._device import backend


def linear_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, *, causal: bool = False,
                     eps: float = 1e-6) -> np.ndarray:
    r"""Linear attention with the feature map phi(x) = elu(x) + 1.

    .. math:: \mathrm{out}_i = \frac{\phi(q_i)^\top S_i}{\phi(q_i)^\top z_i + \varepsilon},\qquad
              S_i = \sum_{j \in J_i} \phi(k_j) v_j^\top,\qquad z_i = \sum_{j \in J_i} \phi(k_j)

    with J_i every key (non-causal: one summary S = phi(K)^T V for all queries) or the keys
    0 .. k_len - q_len + i (causal, bottom-right aligned as :func:`attention`; running prefix
    sums). Time O(len d e), memory O(d e) per head beyond the inputs.

    Parameters
    ----------
    q : float32 (..., q_len, d), k : float32 (..., k_len, d), v : float32 (..., k_len, e)
        3-D or 4-D (e.g. (batch, heads, len, dim)), the same leading dimensions, C-contiguous.
    causal : bool
    eps : float > 0, added to the denominator.

    Returns
    -------
    out : float32 (..., q_len, e)
    """
    return backend(q=q, k=k, v=v).linear_attention_forward(q, k, v, bool(causal), float(eps))


def linear_attention_backward(
    grad_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, *, causal: bool = False,
    eps: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients (dq, dk, dv) of :func:`linear_attention` from grad_out = dL/d out:
    dnum_i = g_i / den_i, dden_i = -(g_i . out_i) / den_i, dphi(q_i) = S_i dnum_i + z_i dden_i,
    dphi(k_j) = G_j v_j + g_j, dv_j = G_j^T phi(k_j) with G_j = sum_{i sees j} phi(q_i) dnum_i^T,
    g_j = sum_{i sees j} phi(q_i) dden_i, and d/dx phi(x) = 1 (x > 0), e^x (x <= 0)."""
    where = backend(grad_out=grad_out, q=q, k=k, v=v)
    return where.linear_attention_backward(grad_out, q, k, v, bool(causal), float(eps))
