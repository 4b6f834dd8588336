"""``grimoire.nn.functional``: the differentiable operations layers are made of (primer 5, 6.3).

Each function takes and returns :class:`~grimoire.autograd.Tensor` and records its own backward,
written next to its forward. The numerical work is a call into the core's kernels
(``grimoire.kernels``) where one exists; names and keywords follow ``torch.nn.functional``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import autograd as ag
from ..autograd import Tensor, unbroadcast
from ..kernels import attention as _attention
from ..kernels import attention_backward as _attention_backward
from ..kernels import gemm as _gemm


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ------------------------------------------------------------------------ linear and activations
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b`` (primer 5.1.1). x (..., in), weight (out, in), bias (out,) -> (..., out).

    Backward: dx = dy W, dW = dy^T x, db = sum(dy) over rows; one GEMM each, transposes as flags.
    """
    xd, w = x.data, weight.data
    lead = xd.shape[:-1]
    x2 = xd.reshape(-1, xd.shape[-1])
    if ag.autocast_enabled():  # bf16 operands, float32 accumulation; grads flow to float32 masters
        x2, w = ag.bf16_round(x2), ag.bf16_round(w)
    y = _gemm(x2, w, trans_b=True)
    if bias is not None:
        y += bias.data
    y = y.reshape(lead + (w.shape[0],))

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1])
        gx = _gemm(g2, w).reshape(xd.shape) if x.requires_grad else None
        gw = _gemm(g2, x2, trans_a=True) if weight.requires_grad else None
        if bias is None:
            return gx, gw
        return gx, gw, (g2.sum(0) if bias.requires_grad else None)
    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(y, parents, backward, "linear")


def relu(x: Tensor) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    return x.gelu(approximate)


def silu(x: Tensor) -> Tensor:
    return x.silu()


def swiglu(x: Tensor, dim: int = -1) -> Tensor:
    """SwiGLU gate: split ``x`` in halves (a, b) along ``dim``, return ``silu(a) * b``."""
    n = x.shape[dim] // 2
    a, b = split(x, [n, n], dim)
    return a.silu() * b


def split(x: Tensor, sizes: list[int], dim: int = -1) -> list[Tensor]:
    """Split into consecutive pieces of the given sizes (views; the backward fills one buffer)."""
    dim = dim % x.ndim
    bounds = np.cumsum([0] + list(sizes))
    outs = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        idx = (slice(None),) * dim + (slice(int(lo), int(hi)),)
        outs.append(x[idx])
    return outs


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) (primer 5.2.4), stable form.

    Backward: dx = y * (dy - sum(dy * y)).
    """
    xd = x.data
    e = np.exp(xd - xd.max(axis=dim, keepdims=True))
    y = e / e.sum(axis=dim, keepdims=True)
    return Tensor._make(y, (x,), lambda g: (y * (g - (g * y).sum(axis=dim, keepdims=True)),), "softmax")


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log softmax(x) = x - logsumexp(x). Backward: dx = dy - softmax(x) * sum(dy)."""
    xd = x.data
    s = xd - xd.max(axis=dim, keepdims=True)
    y = s - np.log(np.exp(s).sum(axis=dim, keepdims=True))
    return Tensor._make(y, (x,), lambda g: (g - np.exp(y) * g.sum(axis=dim, keepdims=True),), "log_softmax")


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p)."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    mask = (ag.rng().random(x.shape, dtype=np.float32) >= p) * np.float32(1.0 / (1.0 - p))
    return x * mask


def embedding(idx, weight: Tensor) -> Tensor:
    """Rows of ``weight`` (num, dim) picked by integer ``idx`` (any shape) -> idx.shape + (dim,).

    Backward: the rows' gradients are scattered back, summing repeats (a one-hot GEMM).
    """
    i = np.asarray(idx.data if isinstance(idx, Tensor) else idx).astype(np.int64, copy=False)
    w = weight.data
    out = w[i]

    def backward(g):
        gw = np.zeros_like(w)
        np.add.at(gw, i.reshape(-1), g.reshape(-1, w.shape[1]))
        return (gw,)
    return Tensor._make(out, (weight,), backward, "embedding")


# ------------------------------------------------------------------------ normalisation
def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * w + b over the last ``len(normalized_shape)`` axes.

    Backward (per row, xhat = (x - mean) * rstd): dx = rstd * (dxhat - mean(dxhat) - xhat *
    mean(dxhat * xhat)) with dxhat = dy * w; dw = sum(dy * xhat); db = sum(dy).
    """
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    xd = x.data
    axes = tuple(range(xd.ndim - n, xd.ndim))
    mean = xd.mean(axis=axes, keepdims=True)
    xc = xd - mean
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
    xhat = xc * rstd
    y = xhat * weight.data + bias.data if weight is not None else xhat
    lead = tuple(range(xd.ndim - n))

    def backward(g):
        dxhat = g * weight.data if weight is not None else g
        gx = rstd * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                     - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
        if weight is None:
            return (gx,)
        return gx, (g * xhat).sum(axis=lead), g.sum(axis=lead)
    parents = (x,) if weight is None else (x, weight, bias)
    return Tensor._make(y.astype(xd.dtype, copy=False), parents, backward, "layer_norm")


def rms_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """y = x / sqrt(mean(x^2) + eps) * w (torch's default eps: the dtype's machine epsilon).

    Backward: dx = rstd * (dxhat - xhat * mean(dxhat * xhat)), dw = sum(dy * xhat).
    """
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    xd = x.data
    if eps is None:
        eps = float(np.finfo(xd.dtype).eps)
    axes = tuple(range(xd.ndim - n, xd.ndim))
    rstd = 1.0 / np.sqrt((xd * xd).mean(axis=axes, keepdims=True) + eps)
    xhat = xd * rstd
    y = xhat * weight.data if weight is not None else xhat
    lead = tuple(range(xd.ndim - n))

    def backward(g):
        dxhat = g * weight.data if weight is not None else g
        gx = rstd * (dxhat - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
        return (gx,) if weight is None else (gx, (g * xhat).sum(axis=lead))
    parents = (x,) if weight is None else (x, weight)
    return Tensor._make(y.astype(xd.dtype, copy=False), parents, backward, "rms_norm")


def batch_norm(x: Tensor, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over every axis but the channel axis 1 (N, C, ...) (primer 6.5.5).

    Training: normalise with the batch's mean and biased variance, and update the running
    statistics in place with the unbiased variance (running = (1-m) running + m batch).
    Evaluation: normalise with the running statistics.
    """
    xd = x.data
    axes = (0,) + tuple(range(2, xd.ndim))
    shape = (1, -1) + (1,) * (xd.ndim - 2)
    if training:
        mean = xd.mean(axis=axes, keepdims=True)
        xc = xd - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            m = xd.size // xd.shape[1]
            running_mean *= 1 - momentum
            running_mean += momentum * mean.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * var.reshape(-1) * (m / max(m - 1, 1))
    else:
        mean = running_mean.reshape(shape)
        var = running_var.reshape(shape)
        xc = xd - mean
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = xc * rstd
    y = xhat * weight.data.reshape(shape) + bias.data.reshape(shape) if weight is not None else xhat

    def backward(g):
        dxhat = g * weight.data.reshape(shape) if weight is not None else g
        if training:
            gx = rstd * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                         - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
        else:
            gx = dxhat * rstd
        if weight is None:
            return (gx,)
        return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
    parents = (x,) if weight is None else (x, weight, bias)
    return Tensor._make(y.astype(xd.dtype, copy=False), parents, backward, "batch_norm")


# ------------------------------------------------------------------------ convolution and pooling
def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _windows(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int):
    """Each kernel offset's strided view of the padded input: yields (i, j, view (N, C, Ho, Wo))."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw]


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation (CNN convolution, primer 5.2.1), NCHW.

    x (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, Ho, Wo) with
    Ho = (H + 2p - d(kh-1) - 1) // s + 1. Lowered to a GEMM per group on the im2col matrix;
    backward: dW = dy cols^T, dcols = W^T dy scattered back (col2im).
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    xd, w = x.data, weight.data
    if ag.autocast_enabled():
        xd, w = ag.bf16_round(xd), ag.bf16_round(w)
    n, c, h, wd = xd.shape
    o, cg, kh, kw = w.shape
    ho, wo = _out_size(h, kh, sh, ph, dh), _out_size(wd, kw, sw, pw, dw)
    xp = np.pad(xd, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else xd
    # im2col as (C, kh, kw, N, Ho, Wo): each group's rows are one (C/g*kh*kw, N*Ho*Wo) matrix,
    # so forward and both backward products are single large GEMMs
    cols = np.empty((c, kh, kw, n, ho, wo), xd.dtype)
    xpt = xp.transpose(1, 0, 2, 3)
    for i, j, v in _windows(xpt, kh, kw, sh, sw, dh, dw, ho, wo):
        cols[:, i, j] = v
    og, k = o // groups, cg * kh * kw
    cols_g = cols.reshape(groups, k, n * ho * wo)
    w_g = w.reshape(groups, og, k)
    y = np.empty((groups, og, n * ho * wo), xd.dtype)
    for gi in range(groups):
        _gemm(w_g[gi], cols_g[gi], y[gi])
    y = y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
    if bias is not None:
        y = y + bias.data.reshape(1, -1, 1, 1)
    else:
        y = np.ascontiguousarray(y)

    def backward(g):
        g_g = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(groups, og, n * ho * wo)
        gx = gw = None
        if weight.requires_grad:
            gw = np.empty_like(w_g)
            for gi in range(groups):
                _gemm(g_g[gi], cols_g[gi], gw[gi], trans_b=True)
            gw = gw.reshape(w.shape)
        if x.requires_grad:
            gcols = np.empty((groups, k, n * ho * wo), xd.dtype)
            for gi in range(groups):
                _gemm(w_g[gi], g_g[gi], gcols[gi], trans_a=True)
            gcols = gcols.reshape(c, kh, kw, n, ho, wo)
            gxp = np.zeros((c, n) + xp.shape[2:], xd.dtype)
            for i, j, v in _windows(gxp, kh, kw, sh, sw, dh, dw, ho, wo):
                v += gcols[:, i, j]
            gxp = gxp.transpose(1, 0, 2, 3)
            gx = gxp[:, :, ph: ph + h, pw: pw + wd] if ph or pw else gxp
        if bias is None:
            return gx, gw
        return gx, gw, (g.sum(axis=(0, 2, 3)) if bias.requires_grad else None)
    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(y, parents, backward, "conv2d")


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """Max over each window (primer 5.2.2); the gradient goes to the window's (first) maximum."""
    (kh, kw) = _pair(kernel_size)
    (sh, sw) = _pair(stride if stride is not None else kernel_size)
    (ph, pw), (dh, dw) = _pair(padding), _pair(dilation)
    xd = x.data
    n, c, h, wd = xd.shape
    ho, wo = _out_size(h, kh, sh, ph, dh), _out_size(wd, kw, sw, pw, dw)
    xp = np.pad(xd, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf) if ph or pw else xd
    y = np.full((n, c, ho, wo), -np.inf, xd.dtype)
    arg = np.zeros((n, c, ho, wo), np.int32)
    for i, j, v in _windows(xp, kh, kw, sh, sw, dh, dw, ho, wo):
        better = v > y
        y = np.where(better, v, y)
        arg[better] = i * kw + j

    def backward(g):
        gxp = np.zeros(xp.shape, xd.dtype)
        for i, j, v in _windows(gxp, kh, kw, sh, sw, dh, dw, ho, wo):
            v += np.where(arg == i * kw + j, g, 0)
        return (gxp[:, :, ph: ph + h, pw: pw + wd] if ph or pw else gxp,)
    return Tensor._make(y, (x,), backward, "max_pool2d")


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over each window (zero padding counted, as torch's default count_include_pad)."""
    (kh, kw) = _pair(kernel_size)
    (sh, sw) = _pair(stride if stride is not None else kernel_size)
    (ph, pw) = _pair(padding)
    xd = x.data
    n, c, h, wd = xd.shape
    ho, wo = _out_size(h, kh, sh, ph, 1), _out_size(wd, kw, sw, pw, 1)
    xp = np.pad(xd, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else xd
    y = np.zeros((n, c, ho, wo), xd.dtype)
    for _, _, v in _windows(xp, kh, kw, sh, sw, 1, 1, ho, wo):
        y += v
    y *= 1.0 / (kh * kw)

    def backward(g):
        gxp = np.zeros(xp.shape, xd.dtype)
        gs = g * (1.0 / (kh * kw))
        for _, _, v in _windows(gxp, kh, kw, sh, sw, 1, 1, ho, wo):
            v += gs
        return (gxp[:, :, ph: ph + h, pw: pw + wd] if ph or pw else gxp,)
    return Tensor._make(y, (x,), backward, "avg_pool2d")


def adaptive_avg_pool2d_1(x: Tensor) -> Tensor:
    """Global average pooling to 1x1 (the head of a ResNet/DenseNet)."""
    return x.mean(axis=(2, 3), keepdims=True)


# ------------------------------------------------------------------------ attention
def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v (primer 5.4), q (B, H, Tq, D), k/v (B, Hk, Tk, D).

    Grouped-query attention when Hk divides H (each group of H/Hk query heads shares a key/value
    head). ``is_causal`` aligns bottom-right: query i sees keys 0 .. Tk - Tq + i (what a KV-cache
    decode step needs). ``attn_mask``: boolean (True = attend) or additive float, broadcastable
    to (B, H, Tq, Tk). The core's FlashAttention kernel: the Tq x Tk score matrix is never stored;
    the backward recomputes it tile by tile from the saved log-sum-exp. float32 only.
    """
    qd, kd, vd = q.data, k.data, v.data
    mask = None
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype != bool:
            mask = mask.astype(np.float32, copy=False)
    out, lse = _attention(qd, kd, vd, causal=is_causal, scale=scale, mask=mask)

    def backward(g):
        return _attention_backward(g, qd, kd, vd, out, lse, causal=is_causal, scale=scale, mask=mask)
    return Tensor._make(out, (q, k, v), backward, "attention")


# ------------------------------------------------------------------------ losses (primer 6.3)
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error: mean((y - t)^2)."""
    d = input - _t(target)
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean absolute error: mean(|y - t|)."""
    return _reduce((input - _t(target)).abs(), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, reduction: str = "mean",  # noqa: A002
                                     pos_weight=None) -> Tensor:
    """BCE from logits in the stable form: max(z, 0) - z t + log(1 + exp(-|z|)).

    Backward: sigmoid(z) - t (times the weights).
    """
    z = input.data
    t = np.asarray(target.data if isinstance(target, Tensor) else target, z.dtype)
    pw = None if pos_weight is None else np.asarray(_t(pos_weight).data, z.dtype)
    softplus_neg = np.log1p(np.exp(-np.abs(z)))  # log(1 + e^{-|z|})
    if pw is None:
        loss = np.maximum(z, 0) - z * t + softplus_neg
    else:  # (1-t) z + (1 + (pw-1) t) * log(1 + e^{-z})
        lw = 1 + (pw - 1) * t
        loss = (1 - t) * z + lw * (softplus_neg + np.maximum(-z, 0))
    sig = ag._sigmoid(z)

    def backward(g):
        grad = sig - t if pw is None else (1 + (pw - 1) * t) * sig - pw * t
        return (unbroadcast(g * grad, z.shape),)
    out = Tensor._make(loss.astype(z.dtype, copy=False), (input,), backward, "bce_logits")
    return _reduce(out, reduction)


def cross_entropy(input: Tensor, target, reduction: str = "mean", ignore_index: int = -100,  # noqa: A002
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (N, C) (or (N, C, d...)) with class indices (N,) (or (N, d...)).

    loss_i = logsumexp(z_i) - z_i[t_i] (with label smoothing eps: (1-eps) that + eps * mean_c
    of -log p_ic); mean over the targets not equal to ``ignore_index``. Fused: one pass forward,
    and the backward is softmax(z) - onehot(t), no graph of intermediate ops.
    """
    z = input.data
    t = np.asarray(target.data if isinstance(target, Tensor) else target).astype(np.int64, copy=False)
    if z.ndim > 2:  # (N, C, d...) -> (N*d..., C)
        c = z.shape[1]
        perm = (0,) + tuple(range(2, z.ndim)) + (1,)
        z2 = z.transpose(perm).reshape(-1, c)
        inv = tuple(np.argsort(perm))
        back_shape = tuple(z.shape[i] for i in perm)
    else:
        z2, c = z.reshape(-1, z.shape[-1]), z.shape[-1]
    t2 = t.reshape(-1)
    valid = t2 != ignore_index
    ts = np.where(valid, t2, 0)
    if np.any((ts < 0) | (ts >= c)):
        raise IndexError(f"cross_entropy: target out of range [0, {c})")
    s = z2 - z2.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s).sum(axis=1, keepdims=True))
    logp = s - lse
    rows = np.arange(len(ts))
    nll = -logp[rows, ts]
    if label_smoothing:
        nll = (1 - label_smoothing) * nll - label_smoothing * logp.mean(axis=1)
    nll = np.where(valid, nll, 0).astype(z.dtype, copy=False)
    n_valid = int(valid.sum())
    if reduction == "mean":
        out, scale = np.asarray(nll.sum() / max(n_valid, 1) if n_valid else np.nan, z.dtype), None
    elif reduction == "sum":
        out, scale = np.asarray(nll.sum(), z.dtype), None
    elif reduction == "none":
        out, scale = nll.reshape(t.shape), None
    else:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")

    def backward(g):
        gz = np.exp(logp)
        gz[rows, ts] -= 1 - label_smoothing
        if label_smoothing:
            gz -= label_smoothing / c
        if reduction == "none":
            gz *= (g.reshape(-1) * valid)[:, None]
        else:
            gz *= (valid * (float(g) / (max(n_valid, 1) if reduction == "mean" else 1)))[:, None]
        if z.ndim > 2:
            return (gz.reshape(back_shape).transpose(inv),)
        return (gz.reshape(z.shape),)
    del scale
    return Tensor._make(out, (input,), backward, "cross_entropy")


def nll_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    t = np.asarray(target.data if isinstance(target, Tensor) else target).astype(np.int64)
    return _reduce(-input[np.arange(len(t)), t], reduction)


def multi_margin_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Multiclass hinge (primer 6.3, SVM loss): mean over j != y of max(0, margin - z_y + z_j) / C."""
    t = np.asarray(target.data if isinstance(target, Tensor) else target).astype(np.int64)
    n, c = input.shape
    zy = input[np.arange(n), t].reshape(n, 1)
    h = (input - zy + margin).relu()
    mask = np.ones((n, c), np.float32)
    mask[np.arange(n), t] = 0
    return _reduce((h * mask).sum(axis=1) * (1.0 / c), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Hinge embedding loss (torch): x where t = 1, max(0, margin - x) where t = -1."""
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    pos = input * (t == 1).astype(np.float32)
    neg = (margin - input).relu() * (t == -1).astype(np.float32)
    return _reduce(pos + neg, reduction)


def one_hot(idx, num_classes: int) -> np.ndarray:
    i = np.asarray(idx.data if isinstance(idx, Tensor) else idx).astype(np.int64)
    return np.eye(num_classes, dtype=np.float32)[i]


def index_add(num_rows: int, idx, src: Tensor) -> Tensor:
    """Rows of ``src`` (n, ...) summed into a zero (num_rows, ...) tensor at rows ``idx`` (n,).

    The scatter that combines a Mixture-of-Experts' outputs; backward gathers: d src = dy[idx].
    """
    i = np.asarray(idx).astype(np.int64, copy=False)
    out = np.zeros((num_rows,) + src.shape[1:], src.data.dtype)
    np.add.at(out, i, src.data)
    return Tensor._make(out, (src,), lambda g: (g[i],), "index_add")
