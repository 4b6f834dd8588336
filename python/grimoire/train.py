"""Training techniques (primer 6.5.5-6.7) and a small ``fit`` loop.

- gradient accumulation: ``fit(..., accumulation_steps=k)`` sums the gradients of k mini-batches
  (each loss divided by k) before one optimizer step: the update of a k times larger batch.
- gradient checkpointing: :func:`checkpoint` runs a block without keeping its activations and
  recomputes them in the backward pass (memory for compute); :func:`peak_memory` measures it.
- gradient clipping: :func:`clip_grad_norm_` rescales all gradients so their global L2 norm is
  at most ``max_norm``.
- mixed precision: :func:`autocast` makes linear layers and convolutions compute on bfloat16
  operands (float32 accumulation) while the master weights stay float32; :class:`GradScaler`
  scales the loss so small gradients survive low precision, unscales, skips steps whose
  gradients overflowed and adapts the scale.
- early stopping: :class:`EarlyStopping` stops when the validation loss has not improved for
  ``patience`` epochs and keeps the best weights.
- curriculum learning: :func:`curriculum_order` sorts examples easy-first; ``fit(...,
  curriculum=difficulty)`` trains on a growing easiest fraction of the data.
- freezing: :func:`freeze` / :func:`unfreeze` for partial fine-tuning and transfer (6.6, 6.7).
- :func:`save_checkpoint` / :func:`load_checkpoint`: model + optimizer state in one safetensors
  file, written atomically.
"""

from __future__ import annotations

import json
import math
import os
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _array, kernels
from . import autograd as ag
from .autograd import Tensor
from .nn.module import Module, load_safetensors, save_safetensors

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .distributed.zero import ZeroRedundancyOptimizer
    from .optim.lr_scheduler import LRScheduler
    from .optim.optimizers import Optimizer


# ---------------------------------------------------------------------------- clipping
def clip_grad_norm_(parameters: Iterable, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)); returns the total norm
    (the L2 norm of all gradients concatenated), as ``torch.nn.utils.clip_grad_norm_``."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return float(kernels.clip_grad_norm(grads, float(max_norm), float(norm_type)))


# ---------------------------------------------------------------------------- checkpointing
def checkpoint(fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
    """Gradient checkpointing: ``fn(*inputs)`` computed without recording its graph; in the
    backward pass the block is run again (with the graph) and back-propagated, so only the
    block's inputs are kept between forward and backward, not its activations.

    ``fn`` must be deterministic (no dropout), and its parameters are reached as leaves, so
    their ``.grad`` accumulates as usual.
    """
    with ag.no_grad():
        out = fn(*inputs)

    def backward(g):
        leaves = [Tensor(x.data, requires_grad=x.requires_grad, dtype=x.data.dtype) for x in inputs]
        with ag.enable_grad():
            y = fn(*leaves)
        if y.requires_grad:
            y.backward(g)
        return tuple(x.grad for x in leaves)

    return Tensor._make(out.data, tuple(inputs), backward, "checkpoint")


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (NumPy arrays included, via tracemalloc) while ``fn()`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------------- mixed precision
# autocast and bf16 rounding live in autograd (the layers consult them); re-exported here.
autocast = ag.autocast
autocast_enabled = ag.autocast_enabled
bf16_round = ag.bf16_round


class GradScaler:
    """Dynamic loss scaling (as ``torch.amp.GradScaler``): backward on ``scale(loss)``;
    ``step(opt)`` unscales the gradients and steps only if they are all finite; ``update()``
    halves the scale after an overflow and doubles it after ``growth_interval`` clean steps."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ):
        self.scale_value, self.growth_factor, self.backoff_factor = init_scale, growth_factor, backoff_factor
        self.growth_interval = growth_interval
        self._good_steps = 0
        self._found_inf = False
        self.skipped_steps = 0

    def scale(self, loss: Tensor) -> Tensor:
        return loss * self.scale_value

    def unscale_(self, optimizer: Optimizer | ZeroRedundancyOptimizer) -> None:
        inv = float(1.0 / self.scale_value)  # a Python float keeps the gradient's float32
        self._found_inf = False
        for g in optimizer.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    p.grad *= inv
                    xp = ag._ns(p.grad)
                    if not bool(xp.all(xp.isfinite(p.grad))):
                        self._found_inf = True

    def step(self, optimizer: Optimizer | ZeroRedundancyOptimizer) -> bool:
        """Unscale and step; returns False (and skips) when a gradient overflowed."""
        self.unscale_(optimizer)
        if self._found_inf:
            self.skipped_steps += 1
            return False
        optimizer.step()
        return True

    def update(self) -> None:
        if self._found_inf:
            self.scale_value *= self.backoff_factor
            self._good_steps = 0
        else:
            self._good_steps += 1
            if self._good_steps % self.growth_interval == 0:
                self.scale_value *= self.growth_factor


# ---------------------------------------------------------------------------- early stopping, curriculum
class EarlyStopping:
    """Stop when the monitored value has not improved by ``min_delta`` for ``patience`` epochs;
    remembers the best epoch and (with ``restore_best``) the best weights."""

    def __init__(
        self, patience: int = 5, min_delta: float = 0.0, mode: str = "min", restore_best: bool = True
    ):
        self.patience, self.min_delta, self.mode, self.restore_best = patience, min_delta, mode, restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.bad_epochs = 0
        self.best_state = None

    def __call__(self, value: float, epoch: int, model: Module | None = None) -> bool:
        """Record an epoch's value; returns True when training should stop."""
        better = (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            if model is not None and self.restore_best:
                self.best_state = model.state_dict()
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def curriculum_order(difficulty: np.ndarray) -> np.ndarray:
    """Indices of the examples, easiest (lowest difficulty) first; ties keep their order."""
    return np.argsort(np.asarray(difficulty), kind="stable")


def curriculum_fraction(epoch: int, epochs: int, start: float = 0.3) -> float:
    """The share of the (easy-first) data used at ``epoch``: linear from ``start`` to 1 over the
    first half of training, all of it after."""
    half = max(epochs // 2, 1)
    return min(1.0, start + (1 - start) * epoch / half)


# ---------------------------------------------------------------------------- freezing
def freeze(model: Module, *, except_: Iterable[str] = ()) -> Module:
    """Freeze every parameter except those whose name starts with one of ``except_``."""
    keep = tuple(except_)
    for name, p in model.named_parameters():
        p.requires_grad = bool(keep) and name.startswith(keep)
    return model


def unfreeze(model: Module) -> Module:
    return model.requires_grad_(True)


def trainable_parameters(model: Module) -> list:
    return [p for p in model.parameters() if p.requires_grad]


# ---------------------------------------------------------------------------- checkpoints on disk
def save_checkpoint(path: str | os.PathLike, model: Module,
                    optimizer: Optimizer | ZeroRedundancyOptimizer | None = None, **meta: Any) -> None:
    """Model weights (``model.*``), optimizer state (``optim.<param index>.<name>``) and JSON
    metadata (epoch, loss, the optimizer's scalar state) in one safetensors file, atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    info: dict = {"meta": meta}
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalars = {}
        for i, st in sd["state"].items():
            for k, v in st.items():
                if isinstance(v, np.ndarray):
                    tensors[f"optim.{i}.{k}"] = v
                else:
                    scalars[f"{i}.{k}"] = v
        info["optim_scalars"] = scalars
        info["param_groups"] = sd["param_groups"]
    save_safetensors(tensors, path, metadata={"grimoire": json.dumps(info, default=float)})


def load_checkpoint(path: str | os.PathLike, model: Module, optimizer: Optimizer | None = None) -> dict:
    """Restore what :func:`save_checkpoint` wrote; returns its metadata."""
    from safetensors import safe_open

    with safe_open(os.fspath(path), "np") as f:
        info = json.loads(f.metadata()["grimoire"])
    tensors = load_safetensors(path)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if optimizer is not None:
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, i, name = k.split(".", 2)
                state.setdefault(int(i), {})[name] = v
        for k, v in info.get("optim_scalars", {}).items():
            i, name = k.split(".", 1)
            state.setdefault(int(i), {})[name] = int(v) if float(v).is_integer() and name == "step" else v
        optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    return info["meta"]


# ---------------------------------------------------------------------------- the loop
@dataclass
class History:
    """Per-epoch records: ``history["loss"]``, ``history["val_loss"]``, ``history["val_metric"]``, ..."""

    records: dict[str, list[float]] = field(default_factory=dict)

    def add(self, **values: float) -> None:
        for k, v in values.items():
            self.records.setdefault(k, []).append(float(v))

    def __getitem__(self, k: str) -> list[float]:
        return self.records[k]

    def __contains__(self, k: str) -> bool:
        return k in self.records

    def plot(self, path: str | os.PathLike | None = None) -> Figure:
        """Plot every series against the epoch (matplotlib, optional); returns the figure."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for k, v in self.records.items():
            ax.plot(range(1, len(v) + 1), v, label=k)
        ax.set_xlabel("epoch")
        ax.legend()
        if path is not None:
            fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        return fig


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(-1) == np.asarray(y)).mean())


def evaluate(
    model: Module,
    loss_fn: Callable[..., Tensor],
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int = 512,
    metric: Callable | None = accuracy,
    device: str | None = None,
) -> tuple[float, float | None]:
    """Mean loss (and metric) of ``model`` over (X, y) in evaluation mode, without a graph; the
    batches go to ``device`` (``None``: where they are) and the metric is taken on the host."""
    was = model.training
    model.eval()
    total, outs = 0.0, []
    with ag.no_grad():
        for s in range(0, len(X), batch_size):
            xb, yb = _batch(X, y, slice(s, s + batch_size), device)
            out = model(Tensor(xb) if X.dtype.kind == "f" else xb)
            total += loss_fn(out, yb).item() * xb.shape[0]
            outs.append(out.numpy())
    model.train(was)
    out = np.concatenate(outs)
    return total / max(len(X), 1), (metric(out, y) if metric is not None else None)


def _batch(X: np.ndarray, y: np.ndarray, rows, device: str | None):
    """Rows of the host arrays (X, y), moved to ``device`` (``None``: left where they are)."""
    xb, yb = X[rows], y[rows]
    if device is None:
        return xb, yb
    return _array.to_device(xb, device), _array.to_device(yb, device)


def fit(
    model: Module,
    loss_fn: Callable[..., Tensor],
    optimizer: Optimizer | ZeroRedundancyOptimizer,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    metric: Callable | None = accuracy,
    scheduler: LRScheduler | None = None,
    scheduler_per: str = "epoch",
    accumulation_steps: int = 1,
    clip_norm: float | None = None,
    mixed_precision: bool = False,
    early_stopping: EarlyStopping | None = None,
    curriculum: np.ndarray | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    seed: int = 0,
    verbose: bool | None = None,
    device: str | None = None,
    teacher: Module | None = None,
) -> History:
    """Train ``model`` on (X, y) with mini-batches; returns a :class:`History`.

    Each epoch shuffles (or, with ``curriculum`` difficulty scores, takes the easiest growing
    fraction, shuffled), accumulates ``accumulation_steps`` mini-batches per optimizer step,
    clips the global gradient norm to ``clip_norm``, optionally runs in bf16 mixed precision with
    loss scaling, steps the scheduler per ``"epoch"`` or ``"step"``, evaluates on ``val``, saves
    ``checkpoint_path`` when the validation loss improves, and stops early. A tqdm bar shows
    progress (``verbose=None``: only on a terminal). ``device`` (``"cpu"``, ``"cuda"``): the model
    is moved there first (``model.to(device)``; build the optimizer before or after, it keeps
    the same parameters) and each mini-batch is sent there; ``None`` trains where the model is.
    With a ``teacher`` (knowledge distillation, e.g. ``compress.DistillationLoss``), the teacher
    runs in eval mode without gradients on each batch and the loss is
    ``loss_fn(out, y, teacher_out)``.
    """
    from tqdm.auto import tqdm

    if device is not None:
        model.to(device)
    rng = np.random.default_rng(seed)
    hist = History()
    if teacher is not None:
        teacher.eval()
    scaler = GradScaler(init_scale=2.0**10) if mixed_precision else None
    order_easy = curriculum_order(curriculum) if curriculum is not None else None
    best_val = math.inf
    params = [p for g in optimizer.param_groups for p in g["params"]]
    bar = tqdm(range(epochs), disable=None if verbose is None else not verbose, desc="fit", leave=False)
    for epoch in bar:
        model.train()
        if order_easy is not None:
            n_use = max(batch_size, int(len(X) * curriculum_fraction(epoch, epochs)))
            idx = rng.permutation(order_easy[:n_use])
        else:
            idx = rng.permutation(len(X))
        total, count = 0.0, 0
        optimizer.zero_grad()
        batches = [idx[s : s + batch_size] for s in range(0, len(idx), batch_size)]
        for b, bi in enumerate(batches):
            xb, yb = _batch(X, y, bi, device)
            with autocast(mixed_precision):
                out = model(Tensor(xb) if X.dtype.kind == "f" else xb)
                if teacher is None:
                    loss = loss_fn(out, yb)
                else:
                    with ag.no_grad():
                        teacher_out = teacher(Tensor(xb) if X.dtype.kind == "f" else xb).data
                    loss = loss_fn(out, yb, teacher_out)
            total += loss.item() * len(bi)
            count += len(bi)
            scaled = loss * (1.0 / accumulation_steps)
            (scaler.scale(scaled) if scaler else scaled).backward()
            if (b + 1) % accumulation_steps == 0 or b == len(batches) - 1:
                if scaler:
                    scaler.unscale_(optimizer)
                    ok = not scaler._found_inf
                    if ok and clip_norm is not None:
                        clip_grad_norm_(params, clip_norm)
                    if ok:
                        optimizer.step()
                    else:
                        scaler.skipped_steps += 1
                    scaler.update()
                else:
                    if clip_norm is not None:
                        clip_grad_norm_(params, clip_norm)
                    optimizer.step()
                optimizer.zero_grad()
                if scheduler is not None and scheduler_per == "step":
                    scheduler.step()
        if scheduler is not None and scheduler_per == "epoch":
            scheduler.step()
        rec = {"loss": total / max(count, 1)}
        if val is not None:
            vl, vm = evaluate(model, loss_fn, val[0], val[1], metric=metric, device=device)
            rec["val_loss"] = vl
            if vm is not None:
                rec["val_metric"] = vm
            if checkpoint_path is not None and vl < best_val:
                best_val = vl
                save_checkpoint(checkpoint_path, model, optimizer, epoch=epoch, val_loss=vl)
        hist.add(**rec)
        bar.set_postfix({k: f"{v:.4g}" for k, v in rec.items()})
        if early_stopping is not None and val is not None:
            if early_stopping(rec["val_loss"], epoch, model):
                break
    if early_stopping is not None and early_stopping.restore_best and early_stopping.best_state is not None:
        model.load_state_dict(early_stopping.best_state)
    return hist
