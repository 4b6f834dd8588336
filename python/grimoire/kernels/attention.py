"""The attention family (primer 5.4.2, 5.4.4): FlashAttention-2 style, forward and backward.

``out = softmax(scale * Q K^T + mask) V``, computed tile by tile with the online softmax: the
``q_len x k_len`` score matrix is never formed, forward or backward.
"""

from __future__ import annotations

import numpy as np

from ._device import backend


def attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    causal: bool = False,
    scale: float | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention, ``softmax(Q K^T / sqrt(d) + mask) V`` (primer 5.4.2).

    .. math:: \mathrm{out}_i = \sum_j \frac{e^{s_{ij}}}{\sum_{j'} e^{s_{ij'}}} v_j,\qquad
              s_{ij} = \mathrm{scale}\; q_i \cdot k_j + \mathrm{mask}_{ij},\qquad
              \mathrm{lse}_i = \log \sum_j e^{s_{ij}}

    Parameters
    ----------
    q : float32 array (batch, heads, q_len, head_dim)
    k, v : float32 arrays (batch, kv_heads, k_len, head_dim)
        ``heads`` must be a multiple of ``kv_heads``: query head ``h`` reads key/value head
        ``h // (heads // kv_heads)`` (grouped-query attention; ``kv_heads == heads`` is ordinary
        multi-head attention, ``kv_heads == 1`` multi-query). ``1 <= head_dim <= 256``. The last
        dimension must be contiguous; the other strides are free, so a ``(batch, len, heads,
        head_dim)`` array viewed with ``.transpose(0, 2, 1, 3)`` is read without a copy.
    causal : bool
        Query ``i`` attends to keys ``0 .. k_len - q_len + i`` (aligned bottom-right, the
        FlashAttention >= 2.1 convention, which is what a KV-cache decode step needs; PyTorch's
        ``is_causal`` aligns top-left, the two agree when ``q_len == k_len``).
    scale : float, optional
        Multiplies ``q . k``; default ``1 / sqrt(head_dim)``.
    mask : array, optional
        Broadcastable to ``(batch, heads, q_len, k_len)`` (e.g. ``(q_len, k_len)`` or
        ``(batch, 1, q_len, k_len)``). float32: added to the scaled scores (``-inf`` masks a
        key). bool: True means attend, False masks (PyTorch's convention for boolean masks).
        Combined with ``causal`` when both are given.

    Returns
    -------
    out : float32 array (batch, heads, q_len, head_dim)
    lse : float32 array (batch, heads, q_len)
        The log-sum-exp of the scaled, masked scores of each query, what the backward needs.

    Notes
    -----
    A query that attends to no key (every key masked, or ``k_len == 0``, or a causal row above
    the diagonal when ``q_len > k_len``) gets ``out = 0`` and ``lse = -inf`` instead of NaN, and
    zero gradients. The decode step (``q_len == 1``) splits a long cache into key ranges whose
    partial softmaxes merge by log-sum-exp, so a few heads still use every thread.

    CUDA arrays (CuPy, PyTorch CUDA tensors) run on the GPU (``grimoire._cuda``, FlashAttention-2
    on tensor cores): q, k, v there may also be bfloat16 (as uint16 bits, the CPU core's
    ``to_bf16`` convention) or float16; ``out`` then has the dtype of q, ``lse`` stays float32.
    A decode step (few query rows, a long cache) splits the keys across blocks (split-K).
    """
    return backend(q=q, k=k, v=v, mask=mask).attention_forward(q, k, v, bool(causal), _scale(scale), mask)


def attention_backward(
    grad_out: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
    lse: np.ndarray,
    *,
    causal: bool = False,
    scale: float | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`attention`: ``(dq, dk, dv)`` from ``grad_out = dL/d out``.

    With ``P = exp(S - lse)`` (recomputed tile by tile, never stored) and
    ``D_i = sum_c dO_ic O_ic``:

    .. math:: dV = P^T dO,\quad dS = P \odot (dO V^T - D),\quad
              dQ = \mathrm{scale}\; dS K,\quad dK = \mathrm{scale}\; dS^T Q

    ``out`` and ``lse`` are what :func:`attention` returned for the same ``q, k, v, causal,
    scale, mask``. ``dq`` has the shape of ``q``; ``dk`` and ``dv`` have the shape of ``k``
    (``kv_heads``), summed over the query heads that share a key/value head. The mask gets no
    gradient. Deterministic: no atomics, every element is summed in a fixed order, and the
    result does not depend on the thread count. On a GPU, ``grad_out`` and ``out`` have the dtype
    of q (float32, bfloat16 bits or float16) and the gradients are float32, equally deterministic
    (dK/dV per key block in one pass over the query rows, dQ per query block in a second pass).
    """
    return backend(grad_out=grad_out, q=q, k=k, v=v, out=out, lse=lse, mask=mask).attention_backward(
        grad_out, q, k, v, out, lse, bool(causal), _scale(scale), mask)


def _scale(scale: float | None) -> float | None:
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.floating | np.integer):
        raise TypeError(f"scale must be a float or None, got {type(scale).__name__}")
    return float(scale)
