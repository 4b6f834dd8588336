"""``grimoire.nn.functional``: the differentiable operations layers are made of (primer 5, 6.3).

Each function takes and returns :class:`~grimoire.autograd.Tensor` and records its own backward,
written next to its forward. The numerical work is a call into the core's kernels
(``grimoire.kernels``) where one exists; names and keywords follow ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _array
from .. import autograd as ag
from .. import kernels as K
from ..autograd import Tensor, TensorLike, _ns, _wrap, unbroadcast
from ..kernels import attention as _attention
from ..kernels import attention_backward as _attention_backward
from ..kernels import gemm as _gemm
from ..kernels.conv import IntPair


def _t(x) -> Tensor:
    return ag._lift(x)  # an operand: shared, not copied


def _indices(xp, idx):
    """Integer indices (a Tensor, an array of any namespace, a list) as int64 in namespace ``xp``."""
    i = idx.data if isinstance(idx, Tensor) else idx
    if type(i) is np.ndarray or not hasattr(i, "__array_namespace__"):
        i = np.asarray(i).astype(np.int64, copy=False)
        return i if xp is ag._NP else xp.asarray(i)
    return xp.astype(i, xp.int64, copy=False)


# ------------------------------------------------------------------------ mixed precision
def _autocast_kind(data) -> str:
    """What ``autocast`` does to the operands of a GEMM-shaped op (linear, conv2d, attention)
    whose tensor data is ``data`` -- the one place that choice is made:

    - ``"float32"``: autocast is off; float32 operands, float32 kernels.
    - ``"bf16_round"``: autocast on, data on the CPU; operands rounded to bfloat16: linear's
      forward runs the core's bf16 GEMM (``kernels.linear_bf16``: ``vdpbf16ps`` where the CPU
      has AVX512_BF16), the other GEMMs take the operands rounded and kept as float32
      (``autograd.bf16_round``) through the float32 kernels: bf16 products, float32 accumulation.
    - ``"bf16_codes"``: autocast on, data on a CUDA device; operands converted to bf16 codes
      (uint16, ``kernels.to_bf16``) for the tensor-core kernels of ``grimoire._cuda`` (GEMM,
      implicit-GEMM conv2d, FlashAttention-2), float32 accumulation, float32 results. The
      gradients entering the backward GEMMs are bf16 codes too (as under ``torch.autocast``).
    """
    if not ag.autocast_enabled():
        return "float32"
    return "bf16_codes" if _array.device_is_cuda(data) else "bf16_round"


def _autocast_operand(kind: str, xp, a):
    """Operand ``a`` as the kernels take it under :func:`_autocast_kind`'s ``kind``."""
    if kind == "bf16_codes":
        return K.to_bf16(_float32(xp, a))  # to_bf16 reads C-contiguous float32
    if kind == "bf16_round":
        return ag.bf16_round(a)
    return a


# ------------------------------------------------------------------------ linear and activations
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x W^T + b`` (primer 5.1.1). x (..., in), weight (out, in), bias (out,) -> (..., out).

    Backward: dx = dy W, dW = dy^T x, db = sum(dy) over rows; one GEMM each, transposes as flags.
    Under ``autocast`` the GEMMs take bf16 operands (float32 accumulation): rounded float32 on
    the CPU, bf16 codes on the tensor cores of a GPU (:func:`_autocast_kind`).
    Mixed dtypes promote as in NumPy (a float64 input through float32 weights computes and returns
    float64; each gradient comes back in its own parameter's dtype).
    """
    xd, w = x.data, weight.data
    xp = _ns(xd)
    lead = xd.shape[:-1]
    x2 = xp.reshape(xd, (-1, xd.shape[-1]))
    kind = _autocast_kind(xd)  # bf16 operands, float32 accumulation; grads flow to float32 masters
    if kind == "bf16_round" and xp is ag._NP:
        # The CPU core's bf16 GEMM rounds x and W to bf16 as it packs them (vdpbf16ps where the
        # CPU has AVX512_BF16): the rounded float32 copies are made only if a backward needs them.
        x2, w = _float32(xp, x2), _float32(xp, w)
        y = _wrap(xp, K.linear_bf16(x2, w))
    else:
        x2, w = _autocast_operand(kind, xp, x2), _autocast_operand(kind, xp, w)
        x2, w = ag.promote(xp, x2, w)  # a float64 input and float32 weights compute in float64
        y = _wrap(xp, _gemm(x2, w, trans_b=True))
    if bias is not None:
        y += bias.data
    y = xp.reshape(y, lead + (w.shape[0],))

    def backward(g):
        nonlocal x2, w
        if kind == "bf16_round" and xp is ag._NP:  # the forward's operands, rounded now
            x2, w = ag.bf16_round(x2), ag.bf16_round(w)
        g2 = xp.reshape(g, (-1, g.shape[-1]))
        gl = K.to_bf16(_float32(xp, g2)) if kind == "bf16_codes" else g2
        gx = gw = None
        if x.requires_grad:
            gx = xp.astype(xp.reshape(_wrap(xp, _gemm(gl, w)), xd.shape), xd.dtype, copy=False)
        if weight.requires_grad:
            gw = xp.astype(_wrap(xp, _gemm(gl, x2, trans_a=True)), weight.data.dtype, copy=False)
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


def embedding(idx: TensorLike, weight: Tensor) -> Tensor:
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
    x: Tensor, normalized_shape: int | tuple[int, ...], weight: Tensor | None = None,
    bias: Tensor | None = None, eps: float = 1e-5
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


def rms_norm(x: Tensor, normalized_shape: int | tuple[int, ...], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
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
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1, padding: IntPair = 0,
    dilation: IntPair = 1, groups: int = 1
) -> Tensor:
    """2-D cross-correlation (CNN convolution, primer 5.2.1), NCHW, the core's kernel.

    x (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, Ho, Wo) with
    Ho = (H + 2p - d(kh-1) - 1) // s + 1. Backward: dW = dy cols^T, dx = col2im(W^T dy), db = sum dy.
    Under ``autocast``: bf16 x and W (rounded on the CPU, bf16 codes on a GPU's tensor cores).
    """
    xp = _ns(x.data)
    xd = _float32(xp, x.data)
    w = weight.data
    kind = _autocast_kind(xd)  # bf16 operands under autocast (tensor cores on a GPU)
    xd, w = _autocast_operand(kind, xp, xd), _autocast_operand(kind, xp, w)
    b = bias.data if bias is not None else None
    cfg = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _wrap(xp, K.conv2d(xd, w, b, **cfg))

    def backward(g):
        need = (x.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        gc = K.to_bf16(_float32(xp, g)) if kind == "bf16_codes" else _float32(xp, g)
        grads = K.conv2d_backward(gc, xd, w, needs_input_grad=need, **cfg)
        gx, gw, gb = (None if a is None else _wrap(xp, a) for a in grads)
        return (gx, gw) if bias is None else (gx, gw, gb)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(y, parents, backward, "conv2d")


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1) -> Tensor:
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


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
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
    q: Tensor, k: Tensor, v: Tensor, attn_mask: TensorLike | None = None, is_causal: bool = False,
    scale: float | None = None
) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v (primer 5.4), q (B, H, Tq, D), k/v (B, Hk, Tk, D).

    Grouped-query attention when Hk divides H (each group of H/Hk query heads shares a key/value
    head). ``is_causal`` aligns bottom-right: query i sees keys 0 .. Tk - Tq + i (what a KV-cache
    decode step needs). ``attn_mask``: boolean (True = attend) or additive float, broadcastable
    to (B, H, Tq, Tk). The core's FlashAttention kernel: the Tq x Tk score matrix is never stored;
    the backward recomputes it tile by tile from the saved log-sum-exp. float32 on the CPU (float64
    inputs are computed in float32; autocast or not); under ``autocast`` on a GPU, q, k, v, the
    output and its gradient are bf16 codes for the tensor-core kernels (float32 accumulators and
    log-sum-exp, float32 gradients), and the output the graph holds is that bf16 output widened
    to float32.
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
    if _autocast_kind(qd) == "bf16_codes":
        qd, kd, vd = (K.to_bf16(_float32(xp, a)) for a in (qd, kd, vd))
        codes, lse = _attention(qd, kd, vd, causal=is_causal, scale=scale, mask=mask)
        out = _wrap(xp, K.from_bf16(codes))

        def backward_bf16(g):
            grads = _attention_backward(K.to_bf16(_float32(xp, g)), qd, kd, vd, codes, lse,
                                        causal=is_causal, scale=scale, mask=mask)
            return tuple(_wrap(xp, a) for a in grads)

        return Tensor._make(out, (q, k, v), backward_bf16, "attention")
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


def mse_loss(input: Tensor, target: TensorLike, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error: mean((y - t)^2)."""
    d = input - _t(target)
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: TensorLike, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean absolute error: mean(|y - t|)."""
    return _reduce((input - _t(target)).abs(), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: TensorLike,
    reduction: str = "mean",  # noqa: A002
    pos_weight: TensorLike | None = None,
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
    target: TensorLike,
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


def nll_loss(input: Tensor, target: TensorLike, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,)."""
    xp = _ns(input.data)
    t = _indices(xp, target)
    return _reduce(-input[xp.arange(t.shape[0]), t], reduction)


def multi_margin_loss(input: Tensor, target: TensorLike, margin: float = 1.0,  # noqa: A002
                      reduction: str = "mean") -> Tensor:
    """Multiclass hinge (primer 6.3, SVM loss): mean over j != y of max(0, margin - z_y + z_j) / C."""
    xp = _ns(input.data)
    t = _indices(xp, target)
    n, c = input.shape
    zy = input[xp.arange(n), t].reshape(n, 1)
    h = (input - zy + margin).relu()
    mask = xp.astype(xp.arange(c)[None, :] != t[:, None], xp.float32)  # 0 at the target class
    return _reduce((h * mask).sum(axis=1) * (1.0 / c), reduction)


def hinge_embedding_loss(input: Tensor, target: TensorLike, margin: float = 1.0,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    """Hinge embedding loss (torch): x where t = 1, max(0, margin - x) where t = -1."""
    xp = _ns(input.data)
    t = ag._arr(target, like=input.data)
    pos = input * xp.astype(t == 1, xp.float32)
    neg = (margin - input).relu() * xp.astype(t == -1, xp.float32)
    return _reduce(pos + neg, reduction)


def one_hot(idx: TensorLike, num_classes: int) -> Any:
    """Rows of the identity: (..., num_classes) float32, in the namespace of ``idx``."""
    i = idx.data if isinstance(idx, Tensor) else idx
    xp = _ns(i) if hasattr(i, "__array_namespace__") else ag._NP
    i = _indices(xp, i)
    return xp.astype(i[..., None] == xp.arange(num_classes), xp.float32)


def index_add(num_rows: int, idx: TensorLike, src: Tensor) -> Tensor:
    """Rows of ``src`` (n, ...) summed into a zero (num_rows, ...) tensor at rows ``idx`` (n,).

    The scatter that combines a Mixture-of-Experts' outputs; backward gathers: d src = dy[idx].
    """
    xp = _ns(src.data)
    i = _indices(xp, idx)
    out = xp.zeros((num_rows,) + src.shape[1:], dtype=src.data.dtype)
    _array.scatter_add(xp, out, i, src.data)
    return Tensor._make(out, (src,), lambda g: (xp.take(g, i, axis=0),), "index_add")


# ======================================================================== the layers of issue 13
# Activations, losses, padding, pooling, resampling, GroupNorm, Conv1d and ConvTranspose2d in
# functional form, with torch.nn.functional's names, argument order and semantics; the Modules
# of nn.layers_ext are thin wrappers over these. ``inplace`` (torch's activations) and the
# deprecated ``size_average``/``reduce`` of the losses have no meaning here: the latter are kept
# in their positions so positional calls line up with torch, and refused when given.


def _no_legacy_reduction(fn: str, size_average, reduce) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError(
            f"{fn}: size_average and reduce are deprecated (in PyTorch too); pass "
            "reduction='mean', 'sum' or 'none' instead"
        )


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """Leaky ReLU: ``max(0, x) + negative_slope * min(0, x)``.

    Parameters
    ----------
    input : Tensor
    negative_slope : float
        Slope for x < 0.
    """
    return input.relu() - (-input).relu() * negative_slope


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """ELU: ``x`` for x > 0, ``alpha (e^x - 1)`` otherwise, computed as
    ``relu(x) + alpha (exp(min(x, 0)) - 1)`` so no exp overflows."""
    return input.relu() + ((-(-input).relu()).exp() - 1.0) * alpha


def _softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) in the stable form max(x, 0) + log(1 + e^-|x|)."""
    return x.relu() + ((-x.abs()).exp() + 1.0).log()


def mish(input: Tensor) -> Tensor:  # noqa: A002
    """Mish (Misra 2019): ``x tanh(softplus(x))``, softplus(x) = log(1 + e^x)."""
    return input * _softplus(input).tanh()


def kl_div(
    input: Tensor,  # noqa: A002
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Pointwise KL divergence with ``input`` = log q: ``target (log target - input)``, 0 where
    target = 0 (``log_target=True``: target holds log p, ``exp(target) (target - input)``).

    Parameters
    ----------
    input : Tensor
        Log-probabilities log q.
    target : array or Tensor
        Probabilities p (or log p with ``log_target``).
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for positional compatibility; must be None.
    reduction : {"mean", "sum", "none", "batchmean"}
        "batchmean" divides the sum by the batch size: the true KL(p || q) per sample.
    log_target : bool
    """
    _no_legacy_reduction("kl_div", size_average, reduce)
    t = _t(target)
    if log_target:
        point = t.exp() * (t - input)
    else:
        xp = _array.namespace(t.data)
        positive = t.data > 0
        t_log_t = xp.where(positive, t.data * xp.log(xp.where(positive, t.data, xp.ones_like(t.data))), 0.0)
        point = Tensor(t_log_t) - t * input
    if reduction == "batchmean":
        return point.sum() * (1.0 / input.shape[0])
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum', 'none' or 'batchmean', got {reduction!r}")
    return _reduce(point, reduction)


def _weighted(loss: Tensor, weight) -> Tensor:
    return loss if weight is None else loss * _t(weight)


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target: TensorLike,
    weight: TensorLike | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy on probabilities p: ``-w (t log p + (1 - t) log(1 - p))``, each log
    clamped at -100 and the gradient ``w (p - t) / max(p (1 - p), 1e-12)``, as PyTorch.

    Parameters
    ----------
    input : Tensor
        Probabilities in [0, 1].
    target : array or Tensor
        Targets in [0, 1], the shape of ``input``.
    weight : array or Tensor, optional
        Rescales each element's loss (broadcast against ``input``).
    size_average, reduce : None
        PyTorch's deprecated arguments; must be None.
    reduction : {"mean", "sum", "none"}
    """
    _no_legacy_reduction("binary_cross_entropy", size_average, reduce)
    t = _t(target)
    p, td = input.data, t.data
    xp = _array.namespace(p)
    if tuple(td.shape) != tuple(p.shape):
        raise ValueError(f"target must have the shape of input {tuple(p.shape)}, got {tuple(td.shape)}")
    if bool(xp.any((p < 0) | (p > 1))):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]")

    def clamped_log(a):
        positive = a > 0
        return xp.where(positive, xp.maximum(xp.log(xp.where(positive, a, xp.ones_like(a))), -100.0), -100.0)

    loss = -(td * clamped_log(p) + (1.0 - td) * clamped_log(1.0 - p))

    def backward(g):
        return (g * (p - td) / xp.maximum(p * (1.0 - p), 1e-12),)

    point = Tensor._make(xp.astype(loss, p.dtype), (input,), backward, "binary_cross_entropy")
    return _reduce(_weighted(point, weight), reduction)


def huber_loss(
    input: Tensor,  # noqa: A002
    target: TensorLike,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: TensorLike | None = None,
) -> Tensor:
    """Huber loss of d = input - target: ``0.5 d^2`` for |d| < delta, ``delta (|d| - delta / 2)``
    beyond; computed as q^2 / 2 + delta (|d| - q) with q = min(|d|, delta). ``weight`` rescales
    each element before the reduction ("mean" is then the mean of the weighted losses, as torch)."""
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    d = (input - _t(target)).abs()
    q = d.clamp(max=delta)
    return _reduce(_weighted(q * q * 0.5 + (d - q) * delta, weight), reduction)


def smooth_l1_loss(
    input: Tensor,  # noqa: A002
    target: TensorLike,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Smooth L1 of d = input - target: ``0.5 d^2 / beta`` for |d| < beta, ``|d| - beta / 2``
    beyond (the Huber loss with delta = beta, divided by beta); beta = 0 is the L1 loss."""
    _no_legacy_reduction("smooth_l1_loss", size_average, reduce)
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if beta == 0:
        return _reduce((input - _t(target)).abs(), reduction)
    return huber_loss(input, target, reduction, beta) * (1.0 / beta)


def pad(input: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """Constant padding as ``torch.nn.functional.pad``: ``pad`` = (left, right) of the last axis,
    then (top, bottom) of the one before, and so on; new entries are ``value`` (0 when None).
    The gradient is the centre of g."""
    if mode != "constant":
        raise ValueError(f"mode must be 'constant' (the only mode implemented), got {mode!r}")
    x = input
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad must have an even length of at most 2 * x.ndim = {2 * x.ndim}, got {len(pad)}")
    if any(int(p) != p or p < 0 for p in pad):
        raise ValueError(f"pad must hold non-negative ints, got {pad}")
    xp = _array.namespace(x.data)
    shape, centre = list(x.shape), [slice(None)] * x.ndim
    for i in range(len(pad) // 2):
        axis = x.ndim - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        centre[axis] = slice(lo, lo + shape[axis])
        shape[axis] += lo + hi
    out = xp.full(tuple(shape), 0.0 if value is None else value, dtype=x.data.dtype)
    out[tuple(centre)] = x.data
    return Tensor._make(out, (x,), lambda g: (g[tuple(centre)],), "pad")


def _pool_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Row i averages inputs floor(i n_in / n_out) .. ceil((i + 1) n_in / n_out) - 1 (PyTorch's bins)."""
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _separable(x: Tensor, rows: np.ndarray, cols: np.ndarray) -> Tensor:
    """rows @ x @ cols^T over the last two axes, the matrices moved to x's namespace."""
    xp = _array.namespace(x.data)
    r, c = Tensor(xp.asarray(rows)), Tensor(xp.asarray(cols.T.copy()))
    return r @ x @ c


def _size_pair(size, name: str, keep: tuple[int, int] | None = None) -> tuple[int, int]:
    """A positive int or a pair of them; with ``keep``, a None entry keeps that input size."""
    pair = (size, size) if isinstance(size, int) or size is None else tuple(size)
    if keep is not None:
        pair = tuple(k if s is None else s for s, k in zip(pair, keep, strict=False))
    if len(pair) != 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {size!r}")
    return int(pair[0]), int(pair[1])


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:  # noqa: A002
    """Adaptive average pooling of (N, C, H, W) (or (C, H, W)) to ``output_size`` (an int, or a
    pair whose None entries keep the input's size): output (i, j) averages rows
    [floor(i H / oh), ceil((i + 1) H / oh)) and the same columns; two matrix products."""
    if input.ndim not in (3, 4):
        raise ValueError(f"input must be (N, C, H, W) or (C, H, W), got shape {tuple(input.shape)}")
    oh, ow = _size_pair(output_size, "output_size", keep=tuple(input.shape[-2:]))
    return _separable(input, _pool_matrix(input.shape[-2], oh), _pool_matrix(input.shape[-1], ow))


def _resample_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale_factor) -> np.ndarray:
    """(n_out, n_in) weights of one axis, with PyTorch's source index: the step is
    1 / scale_factor when one is used, else n_in / n_out (float32 for "nearest", as torch)."""
    m = np.zeros((n_out, n_in), np.float32)
    dst = np.arange(n_out)
    if mode == "nearest":
        if n_out == n_in:
            src = dst
        elif n_out == 2 * n_in:
            src = dst >> 1
        else:
            step = np.float32(1.0 / scale_factor) if scale_factor else np.float32(n_in) / np.float32(n_out)
            src = np.floor(dst.astype(np.float32) * step).astype(int)
        m[dst, np.minimum(src, n_in - 1)] = 1.0
        return m
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        step = 1.0 / scale_factor if scale_factor else n_in / n_out
        src = np.maximum((dst + 0.5) * step - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(np.float32)
    np.add.at(m, (dst, i0), 1.0 - w1)
    np.add.at(m, (dst, i1), w1)
    return m


def interpolate(
    input: Tensor,  # noqa: A002
    size: IntPair | None = None,
    scale_factor: float | tuple[float, float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resize (N, C, H, W) images as ``torch.nn.functional.interpolate``.

    The output size is ``size``, or floor(H * scale_factor) x floor(W * scale_factor). Output
    index i reads source s(i): "nearest" s = floor(i * step); "bilinear" s = (i + 0.5) step - 0.5
    (clamped at 0) between its two neighbours, or s = i (H - 1) / (H_out - 1) with
    ``align_corners``. The step is 1 / scale_factor when a scale factor is given (unless
    ``recompute_scale_factor``), else H / H_out, as torch. Separable: two small matrix products,
    and the gradient theirs.
    """
    x = input
    if x.ndim != 4:
        raise ValueError(f"input must be (N, C, H, W), got shape {tuple(x.shape)}")
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners only applies to mode='bilinear'")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor only applies with scale_factor, not with size")
    h, w = x.shape[-2:]
    scales: tuple = (None, None)
    if size is not None:
        oh, ow = _size_pair(size, "size")
    else:
        sh, sw = (scale_factor, scale_factor) if np.isscalar(scale_factor) else tuple(scale_factor)
        if not (sh > 0 and sw > 0):
            raise ValueError(f"scale_factor must be > 0, got {scale_factor}")
        oh, ow = int(np.floor(h * sh)), int(np.floor(w * sw))
        if oh < 1 or ow < 1:
            raise ValueError(f"scale_factor {scale_factor} gives an empty output from {h}x{w}")
        if not recompute_scale_factor:
            scales = (float(sh), float(sw))
    ac = bool(align_corners)
    return _separable(
        x, _resample_matrix(h, oh, mode, ac, scales[0]), _resample_matrix(w, ow, mode, ac, scales[1])
    )


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation (Wu & He 2018) of x (N, C, *): ``(x - mean_g) / sqrt(var_g + eps)``
    over each group of C / num_groups channels and all positions of one sample (biased
    variance), then ``* weight[c] + bias[c]`` per channel."""
    x = input
    n, c = x.shape[:2]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or c % num_groups:
        raise ValueError(f"num_channels ({c}) must be divisible by num_groups ({num_groups})")
    g = x.reshape(n, num_groups, -1)
    mean = g.mean(axis=2, keepdims=True)
    centred = g - mean
    var = (centred * centred).mean(axis=2, keepdims=True)
    y = (centred * ((var + eps) ** -0.5)).reshape(*x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(*shape)
    if bias is not None:
        y = y + bias.reshape(*shape)
    return y


def conv1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation, x (N, C_in, L), weight (C_out, C_in / groups, K) ->
    (N, C_out, (L + 2p - d (K - 1) - 1) // s + 1); the core's kernel, forward and backward."""
    xp = _ns(input.data)
    xd, w = _array.ascontiguous(xp, input.data), _array.ascontiguous(xp, weight.data)
    b = bias.data if bias is not None else None
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = _wrap(xp, K.conv1d(xd, w, b, **kw))

    def backward(g):
        needs = (input.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        grads = K.conv1d_backward(_array.ascontiguous(xp, g), xd, w, needs_input_grad=needs, **kw)
        gx, gw, gb = (None if a is None else _wrap(xp, a) for a in grads)
        return (gx, gw) if bias is None else (gx, gw, gb)

    return Tensor._make(y, (input, weight) if bias is None else (input, weight, bias), backward, "conv1d")


def conv_transpose2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """The transpose (adjoint) of conv2d: x (N, C_in, H, W), weight (C_in, C_out / groups, KH, KW)
    -> (N, C_out, (H - 1) s - 2 p + d (K - 1) + output_padding + 1, ...).

    It is conv2d's input gradient with x as the output gradient (the same ``groups``: input
    channels of group j feed output channels of group j only); its own input gradient is
    conv2d of g, its weight gradient conv2d's weight gradient with the roles of x and g swapped.
    """
    (sh, sw), (ph, pw), (dh, dw), (oh_pad, ow_pad) = (
        _pair(v) for v in (stride, padding, dilation, output_padding)
    )
    if oh_pad >= max(sh, dh) or ow_pad >= max(sw, dw):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got {output_padding}")
    xp = _ns(input.data)
    xd, w = _array.ascontiguous(xp, input.data), _array.ascontiguous(xp, weight.data)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if xd.ndim != 4 or w.ndim != 4 or xd.shape[1] != w.shape[0]:
        raise ValueError(
            f"x (N, C_in, H, W) and weight (C_in, C_out / groups, KH, KW) must agree, got {xd.shape} "
            f"and {w.shape}"
        )
    if w.shape[0] % groups:
        raise ValueError(f"in_channels ({w.shape[0]}) must be divisible by groups ({groups})")
    n, _, h, wd = xd.shape
    oh = (h - 1) * sh - 2 * ph + dh * (w.shape[2] - 1) + oh_pad + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (w.shape[3] - 1) + ow_pad + 1
    kw = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=int(groups))
    shape_only = xp.zeros((n, w.shape[1] * groups, oh, ow), dtype=xp.float32)  # only its shape is read
    y = _wrap(xp, K.conv2d_backward(xd, shape_only, w, needs_input_grad=(True, False, False), **kw)[0])
    if bias is not None:
        y = y + xp.reshape(bias.data, (1, -1, 1, 1))

    def backward(g):
        g = _array.ascontiguous(xp, g)
        gx = _wrap(xp, K.conv2d(g, w, None, **kw)) if input.requires_grad else None
        gw = (
            _wrap(xp, K.conv2d_backward(xd, g, w, needs_input_grad=(False, True, False), **kw)[1])
            if weight.requires_grad
            else None
        )
        if bias is None:
            return gx, gw
        return gx, gw, xp.sum(g, axis=(0, 2, 3))

    parents = (input, weight) if bias is None else (input, weight, bias)
    return Tensor._make(y, parents, backward, "conv_transpose2d")
