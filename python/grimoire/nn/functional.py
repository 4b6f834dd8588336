"""``grimoire.nn.functional``: the differentiable operations layers are made of (primer 5, 6.3).

Each function takes and returns :class:`~grimoire.autograd.Tensor` and records its own backward,
written next to its forward. The numerical work is a call into the core's kernels
(``grimoire.kernels``) where one exists; names and keywords follow ``torch.nn.functional``.
"""

from __future__ import annotations

import numpy as np

from .. import _array
from .. import autograd as ag
from .. import kernels as K
from ..autograd import Tensor, _ns, _wrap, unbroadcast
from ..kernels import attention as _attention
from ..kernels import attention_backward as _attention_backward
from ..kernels import gemm as _gemm


def _t(x) -> Tensor:
    return ag._lift(x)  # an operand: shared, not copied


def _indices(xp, idx):
    """Integer indices (a Tensor, an array of any namespace, a list) as int64 in namespace ``xp``."""
    i = idx.data if isinstance(idx, Tensor) else idx
    if type(i) is np.ndarray or not hasattr(i, "__array_namespace__"):
        i = np.asarray(i).astype(np.int64, copy=False)
        return i if xp is ag._NP else xp.asarray(i)
    return xp.astype(i, xp.int64, copy=False)


# ------------------------------------------------------------------------ linear and activations
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b`` (primer 5.1.1). x (..., in), weight (out, in), bias (out,) -> (..., out).

    Backward: dx = dy W, dW = dy^T x, db = sum(dy) over rows; one GEMM each, transposes as flags.
    Mixed dtypes promote as in NumPy (a float64 input through float32 weights computes and returns
    float64; each gradient comes back in its own parameter's dtype).
    """
    xd, w = x.data, weight.data
    xp = _ns(xd)
    lead = xd.shape[:-1]
    x2 = xp.reshape(xd, (-1, xd.shape[-1]))
    if ag.autocast_enabled():  # bf16 operands, float32 accumulation; grads flow to float32 masters
        x2, w = ag.bf16_round(x2), ag.bf16_round(w)
    x2, w = ag.promote(xp, x2, w)  # a float64 input and float32 weights compute in float64
    y = _wrap(xp, _gemm(x2, w, trans_b=True))
    if bias is not None:
        y += bias.data
    y = xp.reshape(y, lead + (w.shape[0],))

    def backward(g):
        g2 = xp.reshape(g, (-1, g.shape[-1]))
        gx = gw = None
        if x.requires_grad:
            gx = xp.astype(xp.reshape(_wrap(xp, _gemm(g2, w)), xd.shape), xd.dtype, copy=False)
        if weight.requires_grad:
            gw = xp.astype(_wrap(xp, _gemm(g2, x2, trans_a=True)), weight.data.dtype, copy=False)
        if bias is None:
            return gx, gw
        gb = xp.astype(xp.sum(g2, axis=0), bias.data.dtype, copy=False) if bias.requires_grad else None
        return gx, gw, gb

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


def _float32(xp, a):
    """``a`` as float32 C-contiguous in its namespace (the kernels' layout; a copy only if needed)."""
    if a.dtype != xp.float32:
        a = xp.astype(a, xp.float32)
    return _array.ascontiguous(xp, a)


def _last(xp, a, dim: int):
    """``a`` with axis ``dim`` moved last, float32 C-contiguous (the softmax kernels' layout)."""
    if dim % a.ndim != a.ndim - 1:
        a = xp.moveaxis(a, dim, -1)
    return _float32(xp, a)


def _softmax_op(x: Tensor, dim: int, forward, backward_kernel, op: str) -> Tensor:
    xp = _ns(x.data)
    y = _wrap(xp, forward(_last(xp, x.data, dim)))

    def backward(g):
        return (xp.moveaxis(_wrap(xp, backward_kernel(_last(xp, g, dim), y)), -1, dim),)

    return Tensor._make(xp.moveaxis(y, -1, dim), (x,), backward, op)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) (primer 5.2.4), stable form.

    Backward: dx = y * (dy - sum(dy * y)). The core's kernels, over ``dim``.
    """
    return _softmax_op(x, dim, K.softmax, K.softmax_backward, "softmax")


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log softmax(x) = x - logsumexp(x). Backward: dx = dy - softmax(x) * sum(dy)."""
    return _softmax_op(x, dim, K.log_softmax, K.log_softmax_backward, "log_softmax")


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p)."""
    if not training or p == 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    keep = ag.rng().random(x.shape, dtype=np.float32) >= p  # drawn on the host: one generator for all devices
    mask = _ns(x.data).asarray(keep.astype(np.float32) * np.float32(1.0 / (1.0 - p)))
    return x * Tensor(mask)


def embedding(idx, weight: Tensor) -> Tensor:
    """Rows of ``weight`` (num, dim) picked by integer ``idx`` (any shape) -> idx.shape + (dim,).

    Backward: the rows' gradients are scattered back, summing repeats (a one-hot GEMM).
    """
    w = weight.data
    xp = _ns(w)
    i = _indices(xp, idx)
    flat = xp.reshape(i, (-1,))
    out = xp.reshape(xp.take(w, flat, axis=0), tuple(i.shape) + (w.shape[1],))

    def backward(g):
        gw = xp.zeros_like(w)
        _array.scatter_add(xp, gw, flat, xp.reshape(g, (-1, w.shape[1])))
        return (gw,)

    return Tensor._make(out, (weight,), backward, "embedding")


# ------------------------------------------------------------------------ normalisation
def layer_norm(
    x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * w + b over the last ``len(normalized_shape)`` axes.

    Backward (per row, xhat = (x - mean) * rstd): dx = rstd * (dxhat - mean(dxhat) - xhat *
    mean(dxhat * xhat)) with dxhat = dy * w; dw = sum(dy * xhat); db = sum(dy). The core's kernels.
    """
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    shape = x.shape
    d = int(np.prod(shape[len(shape) - n :]))
    xp = _ns(x.data)
    x2 = xp.reshape(_float32(xp, x.data), (-1, d))
    w = xp.reshape(weight.data, (-1,)) if weight is not None else None
    b = xp.reshape(bias.data, (-1,)) if bias is not None else None
    y, mean, rstd = K.layer_norm(x2, w, b, eps)

    def backward(g):
        gx, gw, gb = K.layer_norm_backward(xp.reshape(_float32(xp, g), (-1, d)), x2, w, mean, rstd)
        grads = [xp.reshape(_wrap(xp, gx), shape)]
        if weight is not None:
            grads.append(xp.reshape(_wrap(xp, gw), weight.shape))
        if bias is not None:
            grads.append(xp.reshape(_wrap(xp, gb), bias.shape))
        return tuple(grads)

    parents = tuple(p for p in (x, weight, bias) if p is not None)
    return Tensor._make(xp.reshape(_wrap(xp, y), shape), parents, backward, "layer_norm")


def rms_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """y = x / sqrt(mean(x^2) + eps) * w (torch's default eps: the dtype's machine epsilon).

    Backward: dx = rstd * (dxhat - xhat * mean(dxhat * xhat)), dw = sum(dy * xhat). The core's kernels.
    """
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    shape = x.shape
    if eps is None:
        eps = float(np.finfo(np.float32).eps)
    d = int(np.prod(shape[len(shape) - n :]))
    xp = _ns(x.data)
    x2 = xp.reshape(_float32(xp, x.data), (-1, d))
    w = xp.reshape(weight.data, (-1,)) if weight is not None else None
    y, rstd = K.rms_norm(x2, w, eps)

    def backward(g):
        gx, gw = K.rms_norm_backward(xp.reshape(_float32(xp, g), (-1, d)), x2, w, rstd)
        gx = xp.reshape(_wrap(xp, gx), shape)
        return (gx,) if weight is None else (gx, xp.reshape(_wrap(xp, gw), weight.shape))

    parents = (x,) if weight is None else (x, weight)
    return Tensor._make(xp.reshape(_wrap(xp, y), shape), parents, backward, "rms_norm")


def batch_norm(
    x: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over every axis but the channel axis 1 (N, C, ...) (primer 6.5.5).

    Training: normalise with the batch's mean and biased variance, and update the running
    statistics in place with the unbiased variance (running = (1-m) running + m batch).
    Evaluation: normalise with the running statistics. The core's kernels.
    """
    xp = _ns(x.data)
    xd = _float32(xp, x.data)
    w = weight.data if weight is not None else None
    b = bias.data if bias is not None else None
    y, mean, rstd = K.batch_norm(
        xd, w, b, running_mean, running_var, training=training, momentum=momentum, eps=eps
    )

    def backward(g):
        grads = K.batch_norm_backward(_float32(xp, g), xd, w, mean, rstd, training=training)
        gx, gw, gb = (None if a is None else _wrap(xp, a) for a in grads)
        return (gx,) if weight is None else (gx, gw, gb)

    parents = (x,) if weight is None else (x, weight, bias)
    return Tensor._make(_wrap(xp, y), parents, backward, "batch_norm")


# ------------------------------------------------------------------------ convolution and pooling
def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1
) -> Tensor:
    """2-D cross-correlation (CNN convolution, primer 5.2.1), NCHW, the core's kernel.

    x (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, Ho, Wo) with
    Ho = (H + 2p - d(kh-1) - 1) // s + 1. Backward: dW = dy cols^T, dx = col2im(W^T dy), db = sum dy.
    """
    xp = _ns(x.data)
    xd = _float32(xp, x.data)
    w = weight.data
    if ag.autocast_enabled():
        xd, w = ag.bf16_round(xd), ag.bf16_round(w)
    b = bias.data if bias is not None else None
    cfg = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _wrap(xp, K.conv2d(xd, w, b, **cfg))

    def backward(g):
        need = (x.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        grads = K.conv2d_backward(_float32(xp, g), xd, w, needs_input_grad=need, **cfg)
        gx, gw, gb = (None if a is None else _wrap(xp, a) for a in grads)
        return (gx, gw) if bias is None else (gx, gw, gb)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(y, parents, backward, "conv2d")


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """Max over each window (primer 5.2.2); the gradient goes to the window's (first) maximum."""
    if _pair(dilation) != (1, 1):
        raise ValueError(f"max_pool2d: dilation {dilation} is not supported (only 1)")
    xp = _ns(x.data)
    xd = _float32(xp, x.data)
    y, idx = K.max_pool2d(xd, kernel_size, stride, padding)
    return Tensor._make(
        _wrap(xp, y),
        (x,),
        lambda g: (_wrap(xp, K.max_pool2d_backward(_float32(xp, g), idx, xd.shape)),),
        "max_pool2d",
    )


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over each window (zero padding counted, as torch's default count_include_pad)."""
    xp = _ns(x.data)
    xd = _float32(xp, x.data)
    y = K.avg_pool2d(xd, kernel_size, stride, padding)

    def backward(g):
        return (_wrap(xp, K.avg_pool2d_backward(_float32(xp, g), xd.shape, kernel_size, stride, padding)),)

    return Tensor._make(_wrap(xp, y), (x,), backward, "avg_pool2d")


def adaptive_avg_pool2d_1(x: Tensor) -> Tensor:
    """Global average pooling to 1x1 (the head of a ResNet/DenseNet)."""
    return x.mean(axis=(2, 3), keepdims=True)


# ------------------------------------------------------------------------ attention
def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, attn_mask=None, is_causal: bool = False, scale: float | None = None
) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v (primer 5.4), q (B, H, Tq, D), k/v (B, Hk, Tk, D).

    Grouped-query attention when Hk divides H (each group of H/Hk query heads shares a key/value
    head). ``is_causal`` aligns bottom-right: query i sees keys 0 .. Tk - Tq + i (what a KV-cache
    decode step needs). ``attn_mask``: boolean (True = attend) or additive float, broadcastable
    to (B, H, Tq, Tk). The core's FlashAttention kernel: the Tq x Tk score matrix is never stored;
    the backward recomputes it tile by tile from the saved log-sum-exp. float32 (float64 inputs
    are computed in float32; a GPU also takes bfloat16/float16).
    """
    qd, kd, vd = q.data, k.data, v.data
    xp = _ns(qd)
    # float64 (a float64 input through float32 projections) computes in float32, as conv and the
    # norms do; each input's gradient is cast back to its dtype by backward()
    qd, kd, vd = (xp.astype(a, xp.float32) if a.dtype == xp.float64 else a for a in (qd, kd, vd))
    mask = None
    if attn_mask is not None:
        mask = ag._arr(attn_mask, like=qd)
        if mask.dtype != xp.bool:
            mask = xp.astype(mask, xp.float32, copy=False)
    out, lse = _attention(qd, kd, vd, causal=is_causal, scale=scale, mask=mask)
    out = _wrap(xp, out)

    def backward(g):
        grads = _attention_backward(g, qd, kd, vd, out, lse, causal=is_causal, scale=scale, mask=mask)
        return tuple(_wrap(xp, a) for a in grads)

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


def binary_cross_entropy_with_logits(
    input: Tensor,
    target,
    reduction: str = "mean",  # noqa: A002
    pos_weight=None,
) -> Tensor:
    """BCE from logits in the stable form: max(z, 0) - z t + log(1 + exp(-|z|)).

    Backward: sigmoid(z) - t (times the weights).
    """
    z = input.data
    xp = _ns(z)
    t = ag._arr(target, z.dtype, like=z)
    pw = None if pos_weight is None else ag._arr(pos_weight, z.dtype, like=z)
    softplus_neg = xp.log1p(xp.exp(-xp.abs(z)))  # log(1 + e^{-|z|})
    if pw is None:
        loss = xp.maximum(z, 0.0) - z * t + softplus_neg
    else:  # (1-t) z + (1 + (pw-1) t) * log(1 + e^{-z})
        lw = 1 + (pw - 1) * t
        loss = (1 - t) * z + lw * (softplus_neg + xp.maximum(-z, 0.0))
    sig = ag._sigmoid(z)

    def backward(g):
        grad = sig - t if pw is None else (1 + (pw - 1) * t) * sig - pw * t
        return (unbroadcast(g * grad, z.shape),)

    out = Tensor._make(xp.astype(loss, z.dtype, copy=False), (input,), backward, "bce_logits")
    return _reduce(out, reduction)


def cross_entropy(
    input: Tensor,
    target,
    reduction: str = "mean",
    ignore_index: int = -100,  # noqa: A002
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits (N, C) (or (N, C, d...)) with class indices (N,) (or (N, d...)).

    loss_i = logsumexp(z_i) - z_i[t_i] (with label smoothing eps: (1-eps) that + eps * mean_c
    of -log p_ic); mean over the targets not equal to ``ignore_index``. Fused in the core: one
    pass gives the loss and its gradient softmax(z) - onehot(t), no graph of intermediate ops.
    """
    z = input.data
    xp = _ns(z)
    t = _indices(xp, target)
    if z.ndim > 2:  # (N, C, d...) -> (N*d..., C)
        perm = (0,) + tuple(range(2, z.ndim)) + (1,)
        z2 = xp.reshape(xp.permute_dims(z, perm), (-1, z.shape[1]))
        inv = tuple(int(i) for i in np.argsort(perm))
        back_shape = tuple(z.shape[i] for i in perm)
    else:
        z2 = xp.reshape(z, (-1, z.shape[-1]))
    z2 = _float32(xp, z2)
    t2 = _array.ascontiguous(xp, xp.reshape(t, (-1,)))
    loss, grad = K.cross_entropy(
        z2,
        t2,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        return_grad=True,
    )
    if type(loss) is np.ndarray or not hasattr(loss, "__array_namespace__"):  # a host scalar or array
        loss = np.asarray(loss, np.float32)
    loss = _wrap(xp, loss)
    grad = _wrap(xp, grad)
    if reduction == "none":
        loss = xp.reshape(loss, t.shape)

    def backward(g):
        gz = grad * (xp.reshape(g, (-1, 1)) if reduction == "none" else g)
        if z.ndim > 2:
            return (xp.permute_dims(xp.reshape(gz, back_shape), inv),)
        return (xp.reshape(gz, z.shape),)

    return Tensor._make(loss, (input,), backward, "cross_entropy")


def nll_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    xp = _ns(input.data)
    t = _indices(xp, target)
    return _reduce(-input[xp.arange(t.shape[0]), t], reduction)


def multi_margin_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Multiclass hinge (primer 6.3, SVM loss): mean over j != y of max(0, margin - z_y + z_j) / C."""
    xp = _ns(input.data)
    t = _indices(xp, target)
    n, c = input.shape
    zy = input[xp.arange(n), t].reshape(n, 1)
    h = (input - zy + margin).relu()
    mask = xp.astype(xp.arange(c)[None, :] != t[:, None], xp.float32)  # 0 at the target class
    return _reduce((h * mask).sum(axis=1) * (1.0 / c), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Hinge embedding loss (torch): x where t = 1, max(0, margin - x) where t = -1."""
    xp = _ns(input.data)
    t = ag._arr(target, like=input.data)
    pos = input * xp.astype(t == 1, xp.float32)
    neg = (margin - input).relu() * xp.astype(t == -1, xp.float32)
    return _reduce(pos + neg, reduction)


def one_hot(idx, num_classes: int):
    """Rows of the identity: (..., num_classes) float32, in the namespace of ``idx``."""
    i = idx.data if isinstance(idx, Tensor) else idx
    xp = _ns(i) if hasattr(i, "__array_namespace__") else ag._NP
    i = _indices(xp, i)
    return xp.astype(i[..., None] == xp.arange(num_classes), xp.float32)


def index_add(num_rows: int, idx, src: Tensor) -> Tensor:
    """Rows of ``src`` (n, ...) summed into a zero (num_rows, ...) tensor at rows ``idx`` (n,).

    The scatter that combines a Mixture-of-Experts' outputs; backward gathers: d src = dy[idx].
    """
    xp = _ns(src.data)
    i = _indices(xp, idx)
    out = xp.zeros((num_rows,) + src.shape[1:], dtype=src.data.dtype)
    _array.scatter_add(xp, out, i, src.data)
    return Tensor._make(out, (src,), lambda g: (xp.take(g, i, axis=0),), "index_add")
