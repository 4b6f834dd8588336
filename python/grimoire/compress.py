"""``grimoire.compress``: model compression (primer 6.2) as transforms of a trained Module.

- Magnitude pruning (:func:`prune`, :func:`prune_iteratively`, :func:`remove`,
  :func:`sparsity`): zero the weights with the smallest |w| (unstructured), or the output
  channels/rows with the smallest L2 norm (structured), per layer or over the whole model. A
  pruned layer keeps ``weight_orig`` (trained) and a ``weight_mask`` buffer and computes with
  ``weight = weight_orig * weight_mask`` (PyTorch's ``torch.nn.utils.prune`` layout), so the
  pruned weights get zero gradient and stay zero through any number of optimizer steps.
- Knowledge distillation (:func:`distillation_loss`, :class:`DistillationLoss` for
  ``train.fit(..., teacher=...)``): Hinton et al.'s soft targets with the T^2 scaling.
- Low-rank factorisation (:func:`low_rank`): W ~ U_r S_r V_r^T by truncated SVD, the rank
  chosen by retained energy; a Linear becomes two Linears, a Conv2d a k x k conv into r
  channels followed by a 1x1 conv.
- Post-training quantisation (:func:`quantize`): int8 weights per output channel with dynamic
  int8 activations (the core's ``linear_int8_packed`` and ``conv2d_int8``, a Conv2d's following
  BatchNorm2d folded in and its ReLU fused), or FP8 E4M3 weight storage.
- :func:`report`: parameters, bytes on disk (safetensors), accuracy and latency.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
import types
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .autograd import Tensor, TensorLike, no_grad
from .kernels import (
    conv2d_int8,
    from_fp8,
    linear_int8,
    linear_int8_packed,
    pack_int8_weight,
    quantize_int8,
    to_fp8,
)
from .nn import functional as F
from .nn.activation import ReLU
from .nn.containers import Sequential
from .nn.conv import Conv2d
from .nn.linear import Identity, Linear
from .nn.module import Module
from .nn.norm import BatchNorm2d

__all__ = [
    "prune",
    "prune_iteratively",
    "remove",
    "sparsity",
    "distillation_loss",
    "DistillationLoss",
    "low_rank",
    "quantize",
    "QuantizedLinear",
    "QuantizedConv2d",
    "Fp8Linear",
    "Fp8Conv2d",
    "report",
]

_PRUNABLE = (Linear, Conv2d)


# ---------------------------------------------------------------------------------- helpers
def _layers(model: Module, kinds=_PRUNABLE) -> list[tuple[str, Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]


def _replace(model: Module, name: str, new: Module) -> None:
    """Put ``new`` where the submodule ``name`` is, keeping its place in the parent's order."""
    *path, leaf = name.split(".")
    parent = model
    for part in path:
        parent = parent._modules[part]
    parent._modules[leaf] = new
    object.__setattr__(parent, leaf, new)


def _weight(m: Module) -> np.ndarray:
    """The weight the layer computes with (masked if pruned)."""
    if "weight_orig" in m._parameters:
        return m.weight_orig.data * m.weight_mask
    return m.weight.data


# ---------------------------------------------------------------------------------- pruning
def _masked_forward(self: Module, *args, **kwargs):
    """A pruned layer's forward: weight = weight_orig * weight_mask, then the class's forward.
    Bound to the instance with MethodType, so copy.deepcopy rebinds it to the copy."""
    object.__setattr__(self, "weight", self.weight_orig * Tensor(self.weight_mask))
    return type(self).forward(self, *args, **kwargs)


def _set_mask(m: Module, mask: np.ndarray) -> None:
    if "weight_orig" not in m._parameters:
        p = m.weight
        del m.weight
        m.weight_orig = p  # the same Parameter object: an optimizer built earlier still updates it
        object.__setattr__(m, "forward", types.MethodType(_masked_forward, m))
    m.register_buffer("weight_mask", mask.astype(np.float32))
    m.weight_orig.data *= m.weight_mask  # so weight decay and saved weights see the zeros too
    object.__setattr__(m, "weight", m.weight_orig * Tensor(m.weight_mask))


def _check_amount(amount: float) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.floating)) or not 0 <= amount < 1:
        raise ValueError(f"amount must be a fraction in [0, 1), got {amount!r}")
    return float(amount)


def prune(
    model: Module,
    amount: float,
    *,
    structured: bool = False,
    scope: str = "layer",
    layers: list[str] | None = None,
) -> Module:
    """Magnitude pruning in place; returns ``model``.

    Unstructured: the fraction ``amount`` of weights with the smallest |w| is zeroed in each
    layer (``scope="layer"``) or over all chosen layers together (``scope="global"``, one
    threshold: layers with small weights lose more). Structured: the fraction ``amount`` of
    output channels (rows of a Linear, filters of a Conv2d) with the smallest L2 norm
    ||W_i||_2 is zeroed, per layer. Weights pruned before count as pruned (amount is the total
    sparsity aimed at, so repeated calls with a growing amount prune iteratively).
    ``layers``: names from ``named_modules()`` (default every Linear and Conv2d).
    """
    amount = _check_amount(amount)
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    if structured and scope == "global":
        raise ValueError(
            "structured pruning is per layer (channel norms of different layers are not comparable)"
        )
    chosen = _chosen(model, layers)
    if scope == "global":
        mags = np.concatenate([np.abs(_weight(m)).ravel() for _, m in chosen])
        k = int(round(amount * mags.size))
        cut = np.partition(mags, k - 1)[k - 1] if k else -np.inf
        for _, m in chosen:
            _set_mask(m, _keep_above(np.abs(_weight(m)), cut, k))
        return model
    for _, m in chosen:
        w = _weight(m)
        if structured:
            norms = np.sqrt(np.sum(w.reshape(w.shape[0], -1).astype(np.float64) ** 2, axis=1))
            k = int(round(amount * norms.size))
            rows = np.ones(norms.size, bool)
            rows[np.argsort(norms, kind="stable")[:k]] = False
            _set_mask(m, np.broadcast_to(rows.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape))
        else:
            mags = np.abs(w).ravel()
            k = int(round(amount * mags.size))
            cut = np.partition(mags, k - 1)[k - 1] if k else -np.inf
            _set_mask(m, _keep_above(np.abs(w), cut, k))
    return model


def _keep_above(mag: np.ndarray, cut: float, k: int) -> np.ndarray:
    """1 where |w| > cut; ties at the threshold are pruned (so at least k weights go)."""
    return mag > cut if k else np.ones(mag.shape, bool)


def _chosen(model: Module, layers: list[str] | None) -> list[tuple[str, Module]]:
    every = dict(_layers(model))
    if layers is None:
        if not every:
            raise ValueError("model has no Linear or Conv2d layer to compress")
        return list(every.items())
    unknown = [n for n in layers if n not in every]
    if unknown:
        raise ValueError(f"layers {unknown} are not Linear/Conv2d layers of the model (have {sorted(every)})")
    return [(n, every[n]) for n in layers]


def prune_iteratively(
    model: Module,
    target: float,
    steps: int,
    fine_tune: Callable[[Module], object],
    *,
    structured: bool = False,
    scope: str = "layer",
    layers: list[str] | None = None,
) -> Module:
    """Gradual pruning with fine-tuning (Zhu & Gupta 2017): at step i = 1..steps prune to
    s_i = target (1 - (1 - i/steps)^3), then call ``fine_tune(model)`` (a few epochs of training;
    the masks hold through them). Returns ``model``."""
    _check_amount(target)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    for i in range(1, steps + 1):
        prune(model, target * (1 - (1 - i / steps) ** 3), structured=structured, scope=scope, layers=layers)
        fine_tune(model)
    return model


def remove(model: Module) -> Module:
    """Make pruning permanent: ``weight = weight_orig * weight_mask`` becomes the layer's plain
    ``weight`` Parameter again (the same object, so an optimizer keeps it); the mask is dropped."""
    for _, m in _layers(model):
        if "weight_orig" in m._parameters:
            p = m.weight_orig
            p.data = p.data * m.weight_mask
            del m.weight_orig
            m._buffers.pop("weight_mask", None)
            object.__delattr__(m, "weight_mask")
            object.__delattr__(m, "forward")
            m.weight = p
    return model


def sparsity(model: Module) -> dict[str, float]:
    """Fraction of zero weights in each Linear/Conv2d layer, and ``"total"`` over all of them."""
    out, zeros, total = {}, 0, 0
    for name, m in _layers(model):
        w = _weight(m)
        z = int(np.count_nonzero(w == 0))
        out[name] = z / max(w.size, 1)
        zeros, total = zeros + z, total + w.size
    out["total"] = zeros / max(total, 1)
    return out


# ---------------------------------------------------------------------------------- distillation
def distillation_loss(
    student_logits: Tensor, teacher_logits: TensorLike, targets: ArrayLike, temperature: float = 4.0,
    alpha: float = 0.9,
) -> Tensor:
    """alpha T^2 KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) CE(s, y), both averaged over
    the batch (Hinton et al. 2015): the T^2 keeps the soft term's gradients on the scale of the
    hard one as T grows. student_logits (N, C) Tensor; teacher_logits (N, C), a constant;
    targets (N,) class indices."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    t = np.asarray(teacher_logits.data if isinstance(teacher_logits, Tensor) else teacher_logits, np.float32)
    if t.shape != tuple(student_logits.shape):
        raise ValueError(
            f"teacher_logits must have the student's shape {tuple(student_logits.shape)}, got {t.shape}"
        )
    z = t / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_pt = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    pt = np.exp(log_pt)
    log_ps = F.log_softmax(student_logits * (1.0 / temperature), dim=1)
    kl = (Tensor(pt) * (Tensor(log_pt) - log_ps)).sum() * (1.0 / t.shape[0])
    loss = kl * (alpha * temperature**2)
    if alpha < 1:
        loss = loss + F.cross_entropy(student_logits, targets) * (1 - alpha)
    return loss


class DistillationLoss:
    """The loss for ``train.fit(student, DistillationLoss(T, alpha), ..., teacher=teacher)``:
    fit runs the teacher (eval mode, no gradients) on each batch and calls
    ``loss(student_out, y, teacher_out)``."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        self.temperature, self.alpha = temperature, alpha

    def __call__(self, student_logits: Tensor, targets: ArrayLike,
                 teacher_logits: TensorLike | None = None) -> Tensor:
        if teacher_logits is None:
            raise ValueError("DistillationLoss needs the teacher's logits: pass teacher= to train.fit")
        return distillation_loss(student_logits, teacher_logits, targets, self.temperature, self.alpha)


# ---------------------------------------------------------------------------------- low rank
def _rank_for(s: np.ndarray, energy: float | None, rank: int | None, name: str) -> int:
    full = s.shape[0]
    if rank is not None:
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= full:
            raise ValueError(
                f"rank must be an int in [1, min(m, n)] = [1, {full}] for layer {name!r}, got {rank!r}"
            )
        return int(rank)
    e = np.cumsum(s.astype(np.float64) ** 2)
    return int(np.searchsorted(e / e[-1], energy - 1e-12) + 1) if e[-1] > 0 else 1


def low_rank(
    model: Module, energy: float = 0.9, *, rank: int | None = None, layers: list[str] | None = None
) -> dict[str, int]:
    """Factorise Linear/Conv2d weights by truncated SVD, in place; returns {layer: rank} of the
    layers replaced. W (m, n) (a conv's reshaped to (out, in * kh * kw)) = U S V^T; keep the
    smallest r with sum_{i<=r} s_i^2 >= energy * sum s_i^2 (or the given ``rank``):
    Linear(n, m) -> Linear(n, r, bias=False) with S_r V_r^T, then Linear(r, m) with U_r and
    the bias; Conv2d -> Conv2d(in, r, k) then Conv2d(r, out, 1). A layer is left alone when
    r (m + n) >= m n (no saving), unless ``rank`` is given."""
    if rank is None and not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    done = {}
    for name, m in _chosen(model, layers):
        if "weight_orig" in m._parameters:
            raise ValueError(f"layer {name!r} is pruned: call compress.remove(model) first")
        w = m.weight.data
        mat = w.reshape(w.shape[0], -1).astype(np.float64)
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        r = _rank_for(s, energy, rank, name)
        if rank is None and r * sum(mat.shape) >= mat.size:
            continue
        first_w, second_w = (s[:r, None] * vt[:r]).astype(np.float32), u[:, :r].astype(np.float32)
        bias = m.bias.data if m.bias is not None else None
        if isinstance(m, Linear):
            first, second = (
                Linear(mat.shape[1], r, bias=False),
                Linear(r, mat.shape[0], bias=bias is not None),
            )
            first.weight.data, second.weight.data = first_w, second_w
        else:
            first = Conv2d(w.shape[1] * m.groups, r, w.shape[2:], m.stride, m.padding, m.dilation, bias=False)
            if m.groups != 1:
                raise ValueError(f"low_rank: grouped convolution {name!r} is not supported")
            second = Conv2d(r, w.shape[0], 1, bias=bias is not None)
            first.weight.data = first_w.reshape(r, *w.shape[1:])
            second.weight.data = second_w.reshape(w.shape[0], r, 1, 1)
        if bias is not None:
            second.bias.data = bias.copy()
        _replace(model, name, Sequential(first, second))
        done[name] = r
    return done


# ---------------------------------------------------------------------------------- quantisation
class _PackedInt8(Module):
    """An int8 layer whose ``weight_int8`` buffer is packed once for the CPU's int8 GEMM path
    (``pack_int8_weight``). The packing is redone when ``weight_int8`` is replaced (as
    ``load_state_dict`` does) or the path changes (``set_isa``); write a new weight by assigning
    the buffer, not in place."""

    weight_int8: np.ndarray
    _packed_for: tuple

    def _packed(self):
        """The packing of weight_int8 for the int8 path in use, redone when either changed."""
        w = self.weight_int8
        source, packed = self._packed_for
        if source is not w or packed.stale:
            packed = pack_int8_weight(w)
            object.__setattr__(self, "_packed_for", (w, packed))
        return packed

    def __getstate__(self) -> dict:
        # The packing is derived state (and not picklable): rebuilt on the first forward.
        state = dict(self.__dict__)
        state["_packed_for"] = (None, None)
        return state


class QuantizedLinear(_PackedInt8):
    """y = x W^T + b with W stored as int8 per output row (scale_j = max_k |W_jk| / 127) and x
    quantised per row on the fly; the product runs in int32. Inference only.

    The int8 weight is packed once (``pack_int8_weight``) and each call runs
    ``linear_int8_packed``, equal bit for bit to ``linear_int8(x, weight_int8, weight_scale,
    bias)``."""

    def __init__(self, linear: Linear):
        super().__init__()
        q, s, _ = quantize_int8(np.ascontiguousarray(linear.weight.data), axis=0)
        self.in_features, self.out_features = linear.weight.shape[1], linear.weight.shape[0]
        self.register_buffer("weight_int8", q)
        self.register_buffer("weight_scale", s)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.data.copy())
        self._packed_for = (None, None)  # (the weight_int8 array packed, its packing)
        self._packed()

    def forward(self, x: Tensor) -> Tensor:
        a = x.data if isinstance(x, Tensor) else np.asarray(x, np.float32)
        if type(a) is not np.ndarray or type(self.weight_int8) is not np.ndarray:
            # Not on the host (a CUDA array): the packing is the CPU core's; linear_int8 dispatches.
            y = linear_int8(a.reshape(-1, a.shape[-1]), self.weight_int8, self.weight_scale, self.bias)
            return Tensor(y.reshape(*a.shape[:-1], self.out_features))
        flat = np.ascontiguousarray(a.reshape(-1, a.shape[-1]), dtype=np.float32)
        y = linear_int8_packed(flat, self._packed(), self.weight_scale, self.bias)
        return Tensor._make(y.reshape(*a.shape[:-1], self.out_features), (), None, "quantized_linear")


def _fold_batch_norm(conv: Conv2d, bn: BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """The weight and bias of conv followed by bn in eval mode: with a = gamma / sqrt(var + eps),
    w' = w a (per output channel) and b' = (b - mean) a + beta (torch's fuse_conv_bn_eval)."""
    a = 1.0 / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
    if bn.weight is not None:
        a = a * bn.weight.data
    b = conv.bias.data.astype(np.float64) if conv.bias is not None else np.zeros(a.shape)
    b = (b - bn.running_mean) * a + (bn.bias.data if bn.bias is not None else 0.0)
    w = conv.weight.data.astype(np.float64) * a[:, None, None, None]
    return w.astype(np.float32), b.astype(np.float32)


class QuantizedConv2d(_PackedInt8):
    """Conv2d with int8 weights per output channel (scale_o = max |W_o| / 127) and x quantised
    per tensor on the fly (symmetric, s_x = max|x| / 127), run by the core's ``conv2d_int8``:
    patches gathered from the int8 codes, the product in int32, then
    y = s_x scale_o acc + bias_o (and max(y, 0) with ``relu``). Inference only; groups = 1.

    ``bn``: an eval-mode BatchNorm2d that follows the conv is folded into its weight and bias
    before quantising (w' = w gamma / sqrt(var + eps), b' = (b - mean) gamma / sqrt(var + eps)
    + beta); ``relu``: a ReLU after them is applied in the epilogue (torch.ao's fused
    ConvBnReLU2d). The int8 weight is packed once, as QuantizedLinear's."""

    def __init__(self, conv: Conv2d, bn: BatchNorm2d | None = None, relu: bool = False):
        super().__init__()
        if conv.groups != 1:
            raise ValueError(f"QuantizedConv2d supports groups=1 only, got groups={conv.groups}")
        if isinstance(conv.padding, str):
            raise ValueError(f"QuantizedConv2d needs a numeric padding, got padding={conv.padding!r}")
        w, bias = (conv.weight.data, None if conv.bias is None else conv.bias.data.copy())
        if bn is not None:
            if bn.running_mean is None:
                raise ValueError("bn: a BatchNorm2d without running statistics cannot be folded")
            w, bias = _fold_batch_norm(conv, bn)
        self.out_channels, self.kernel_size = w.shape[0], w.shape[2:]
        self.stride, self.padding, self.dilation, self.relu = conv.stride, conv.padding, conv.dilation, relu
        q, s, _ = quantize_int8(np.ascontiguousarray(w.reshape(w.shape[0], -1), dtype=np.float32), axis=0)
        self.register_buffer("weight_int8", q.reshape(w.shape))
        self.register_buffer("weight_scale", s)
        self.register_buffer("bias", bias)
        self._packed_for = (None, None)
        self._packed()

    def forward(self, x: Tensor) -> Tensor:
        a = x.data if isinstance(x, Tensor) else np.asarray(x, np.float32)
        y = conv2d_int8(
            np.ascontiguousarray(a, dtype=np.float32), self._packed(), self.weight_scale, self.bias,
            F._pair(self.stride), F._pair(self.padding), F._pair(self.dilation), self.relu,
        )
        return Tensor._make(y, (), None, "quantized_conv2d")  # a fresh array: no copy, no graph


def _fp8_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E4M3 codes of w with one scale per output channel mapping its max |w| to 448."""
    flat = w.reshape(w.shape[0], -1)
    scale = (np.abs(flat).max(axis=1) / 448.0).astype(np.float32)
    scale[scale == 0] = 1.0
    return to_fp8(np.ascontiguousarray(flat / scale[:, None], dtype=np.float32), "e4m3").reshape(
        w.shape
    ), scale


class Fp8Linear(Module):
    """A Linear whose weight is stored as FP8 E4M3 codes (1 byte) with a float32 scale per row;
    computes in float32 with the decoded weight."""

    def __init__(self, linear: Linear):
        super().__init__()
        codes, scale = _fp8_weight(linear.weight.data)
        self.register_buffer("weight_fp8", codes)
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.data.copy())

    def forward(self, x: Tensor) -> Tensor:
        w = from_fp8(self.weight_fp8, "e4m3") * self.weight_scale[:, None]
        return F.linear(x, Tensor(w), None if self.bias is None else Tensor(self.bias))


class Fp8Conv2d(Module):
    """A Conv2d with FP8 E4M3 weight storage (per-output-channel scale), float32 compute."""

    def __init__(self, conv: Conv2d):
        super().__init__()
        codes, scale = _fp8_weight(conv.weight.data)
        self.stride, self.padding, self.dilation, self.groups = (
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
        )
        self.register_buffer("weight_fp8", codes)
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.data.copy())

    def forward(self, x: Tensor) -> Tensor:
        w = from_fp8(self.weight_fp8, "e4m3") * self.weight_scale[:, None, None, None]
        return F.conv2d(
            x,
            Tensor(w),
            None if self.bias is None else Tensor(self.bias),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


def _followers(model: Module, name: str) -> tuple[BatchNorm2d | None, str | None, str | None]:
    """For the Conv2d ``name`` inside a Sequential: the BatchNorm2d right after it (tracking
    running statistics) and the names of that BatchNorm2d and of a ReLU after the two (or after
    the conv alone), which the int8 conv can take into itself."""
    *path, leaf = name.split(".")
    parent = model
    for part in path:
        parent = parent._modules[part]
    if not isinstance(parent, Sequential):
        return None, None, None
    keys = list(parent._modules)
    i = keys.index(leaf) + 1
    prefix = ".".join(path) + "." if path else ""
    bn = bn_name = relu_name = None
    if i < len(keys) and isinstance(parent._modules[keys[i]], BatchNorm2d):
        if parent._modules[keys[i]].running_mean is not None:
            bn, bn_name = parent._modules[keys[i]], prefix + keys[i]
            i += 1
    if i < len(keys) and type(parent._modules[keys[i]]) is ReLU:
        relu_name = prefix + keys[i]
    return bn, bn_name, relu_name


def quantize(model: Module, dtype: str = "int8", layers: list[str] | None = None) -> Module:
    """Post-training quantisation: a copy of ``model`` (in eval mode) with each Linear/Conv2d
    replaced by its int8 (dynamic activations, per-channel weights) or FP8 E4M3 (weight storage)
    version. The original is not touched.

    int8: a Conv2d followed in a Sequential by a BatchNorm2d and/or a ReLU becomes one
    :class:`QuantizedConv2d` with the BatchNorm folded into the weight before quantising and the
    ReLU in the kernel's epilogue (what torch.ao.quantization.fuse_modules does); the modules
    folded in are left as ``Identity`` in their places, so the Sequential keeps its indices."""
    kinds = {"int8": (QuantizedLinear, QuantizedConv2d), "fp8": (Fp8Linear, Fp8Conv2d)}
    if dtype not in kinds:
        raise ValueError(f"dtype must be 'int8' or 'fp8', got {dtype!r}")
    out = copy.deepcopy(model)
    remove(out)
    out.eval()
    lin, conv = kinds[dtype]
    for name, m in _chosen(out, layers):
        if isinstance(m, Linear):
            _replace(out, name, lin(m))
        elif dtype != "int8":
            _replace(out, name, conv(m))
        else:
            bn, bn_name, relu_name = _followers(out, name)
            _replace(out, name, QuantizedConv2d(m, bn, relu_name is not None))
            for folded in (bn_name, relu_name):
                if folded is not None:
                    _replace(out, folded, Identity())
    return out


# ---------------------------------------------------------------------------------- report
def report(
    model: Module,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    batch_size: int = 256,
    repeats: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Size and quality of a model: ``parameters`` (elements of the state_dict's weights, int8/FP8
    codes included, masks left out), ``nonzero`` (of those, non-zero), ``bytes`` (its safetensors
    file), and with X, y: ``accuracy`` and ``latency_ms`` (median over ``repeats`` of the time of
    a forward pass over X in batches, eval mode, no gradients, after one untimed pass that warms
    the caches and gives the accuracy). ``clock``: ``time.perf_counter`` (wall time, the latency)
    or ``time.process_time`` (the process's CPU time: on one thread the same figure, far steadier
    on a shared machine)."""
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("weight_mask")}
    weights = [
        v for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ]
    out = {
        "parameters": float(sum(v.size for v in weights)),
        "nonzero": float(sum(np.count_nonzero(v) for v in weights)),
    }
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    try:
        model.save(path)
        out["bytes"] = float(os.path.getsize(path))
    finally:
        os.remove(path)
    if X is not None:
        was_training = model.training
        model.eval()
        def forward() -> np.ndarray:
            return np.concatenate(
                [np.asarray(model(Tensor(X[i : i + batch_size])).data) for i in range(0, len(X), batch_size)]
            )

        times = []
        with no_grad():
            logits = forward()
            for _ in range(max(repeats, 1)):
                start = clock()
                forward()
                times.append(clock() - start)
        model.train(was_training)
        out["latency_ms"] = float(np.median(times) * 1e3)
        if y is not None:
            out["accuracy"] = float(np.mean(logits.argmax(axis=1) == np.asarray(y)))
    return out
