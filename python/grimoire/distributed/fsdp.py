"""ZeRO stages 2 and 3 (primer 6.5.5): "sharing parameters, gradients, and optimizer states
across devices, and only regathering full parameters when needed".

:class:`FullyShardedDataParallel` (PyTorch's name) flattens the parameters of each wrapped unit
(the root module, and every sub-module the ``auto_wrap_policy`` picks) into one vector, pads it
to a multiple of the world size, and keeps on each rank only its 1/world_size shard, which is
what the optimizer sees and steps (the fused Adam kernel runs on the shard). Per unit:

- forward: all-gather the shards into the full vector just before the unit's forward; the
  original parameters become views of it;
- backward: as soon as every gradient of a unit is complete, a non-blocking reduce-scatter sums
  them across ranks straight into this rank's shard of the gradient, and the full gradients are
  dropped;
- ``FULL_SHARD`` (ZeRO-3) frees the gathered parameters once backward is done (or right after a
  forward without grad); ``SHARD_GRAD_OP`` (ZeRO-2) keeps them until the next gather.

Between steps a rank holds 1/world_size of the parameters (ZeRO-3), gradients and optimizer
state. Checkpoints are one safetensors file per rank plus an ``index.json``, and load into any
world size, one process included (:func:`load_full_state_dict` for a plain module).
"""

from __future__ import annotations

import enum
import json
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import autograd as ag
from ..nn.module import Module, Parameter, load_safetensors, save_safetensors
from .comm import ProcessGroup, Work, check_same_across_ranks, init

if TYPE_CHECKING:
    from ..optim.optimizers import Optimizer


class ShardingStrategy(enum.Enum):
    FULL_SHARD = "full_shard"  # ZeRO-3: parameters, gradients and optimizer state sharded
    SHARD_GRAD_OP = "shard_grad_op"  # ZeRO-2: gradients and optimizer state sharded


def _placeholder(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of the right shape that holds one float: what a freed parameter's
    ``.data`` is, so shapes stay readable and a stray write fails loudly."""
    return np.broadcast_to(np.zeros(1, np.float32), shape)


class _FlatUnit:
    """The parameters of one wrapped module as one padded vector, of which this rank keeps a shard."""

    def __init__(self, names: list[str], params: list[Parameter], group: ProcessGroup):
        self.names, self.params, self.group = names, params, group
        self.shapes = [tuple(p.shape) for p in params]
        self.offsets = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.numel = self.offsets[-1]
        self.shard_size = max(1, math.ceil(self.numel / group.size))
        full = self._padded([p.data for p in params])
        lo = group.rank * self.shard_size
        self.shard = Parameter(full[lo : lo + self.shard_size].copy())
        self.gathered = False
        self.ready: set[int] = set()
        self.work: Work | None = None
        self.flat_grad: np.ndarray | None = None
        self.shard_grad: np.ndarray | None = None

    def _padded(self, arrays) -> np.ndarray:
        full = np.zeros(self.shard_size * self.group.size, np.float32)
        for a, lo, hi in zip(arrays, self.offsets, self.offsets[1:], strict=False):
            full[lo:hi] = np.asarray(a, np.float32).reshape(-1)
        return full

    def gather(self) -> None:
        """All-gather the shards; the parameters become views of the full vector."""
        full = np.empty(self.shard_size * self.group.size, np.float32)
        self.group.all_gather(full, self.shard.data)
        for p, shape, lo, hi in zip(self.params, self.shapes, self.offsets, self.offsets[1:], strict=False):
            p.data = full[lo:hi].reshape(shape)
        self.gathered = True

    def release(self) -> None:
        for p, shape in zip(self.params, self.shapes, strict=True):
            p.data = _placeholder(shape)
        self.gathered = False

    def launch_reduce(self) -> None:
        """Start summing the full gradients across ranks into this rank's shard of the gradient."""
        self.flat_grad = self._padded(
            [
                np.zeros(s, np.float32) if p.grad is None else p.grad
                for p, s in zip(self.params, self.shapes, strict=True)
            ]
        )
        for p in self.params:
            p.grad = None  # the full gradient is no longer needed on this rank
        self.shard_grad = np.empty(self.shard_size, np.float32)
        self.work = self.group.reduce_scatter(self.shard_grad, self.flat_grad, "sum", async_op=True)

    def finish_reduce(self) -> None:
        if self.work is None:
            self.launch_reduce()
        self.work.wait()
        self.shard_grad /= self.group.size
        if self.shard.grad is None:
            self.shard.grad = self.shard_grad
        else:
            self.shard.grad += self.shard_grad
        self.work = self.flat_grad = self.shard_grad = None
        self.ready.clear()

    def full_vector(self) -> np.ndarray:
        full = np.empty(self.shard_size * self.group.size, np.float32)
        self.group.all_gather(full, self.shard.data)
        return full[: self.numel]

    def load_full_vector(self, vector: np.ndarray) -> None:
        full = np.zeros(self.shard_size * self.group.size, np.float32)
        full[: self.numel] = vector[: self.numel]
        lo = self.group.rank * self.shard_size
        np.copyto(self.shard.data, full[lo : lo + self.shard_size])


class FullyShardedDataParallel(Module):
    """Shard ``module``'s parameters, gradients and optimizer state across ``process_group``.

    Parameters
    ----------
    module : the model, built identically on every rank (names and shapes checked once; rank
        0's values are broadcast).
    sharding_strategy : ``ShardingStrategy.FULL_SHARD`` (ZeRO-3, default) or ``SHARD_GRAD_OP``.
    auto_wrap_policy : which sub-modules become units of their own (gathered one at a time):
        a set of Module classes, or a callable ``module -> bool``; None puts everything in one.

    Notes
    -----
    ``parameters()`` yields the flat shards: build the optimizer on them.
    """

    def __init__(
        self,
        module: Module,
        sharding_strategy: ShardingStrategy = ShardingStrategy.FULL_SHARD,
        process_group: ProcessGroup | None = None,
        auto_wrap_policy: Callable[[Module], bool] | type[Module] | Iterable[type[Module]] | None = None,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"module must be a grimoire.nn.Module, got {type(module).__name__}")
        if not isinstance(sharding_strategy, ShardingStrategy):
            raise ValueError(f"sharding_strategy must be a ShardingStrategy, got {sharding_strategy!r}")
        group = process_group or init()
        object.__setattr__(self, "module", module)  # not a child: parameters() are the shards
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "strategy", sharding_strategy)
        named = list(module.named_parameters())
        check_same_across_ranks(
            [(n, tuple(p.shape)) for n, p in named], "the parameters (names, shapes)", group
        )
        for _, p in named:
            group.broadcast(p.data, 0)
        parts = _partition(module, _policy(auto_wrap_policy))
        units = [self._unit(names, params) for _, names, params in parts]
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "_unit_modules", [(m, u) for (m, _, _), u in zip(parts, units, strict=True)])
        object.__setattr__(self, "_pending", False)
        object.__setattr__(self, "_unit_of", {id(p): u for u in units for p in u.params})
        for i, u in enumerate(units):
            self._parameters[f"flat_param_{i}"] = u.shard
            u.release()
        object.__setattr__(self, "_modules_of", None)

    def _unit(self, names, params) -> _FlatUnit:
        unit = _FlatUnit(names, params, self.group)
        for p in params:
            p.register_post_accumulate_grad_hook(self._grad_ready)
        return unit

    # ---------------------------------------------------------------- forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._wrap_forwards()
        for module, unit in self._unit_modules:
            if module is None:  # the root's own parameters: gathered now
                unit.gather()
        out = self.module(*args, **kwargs)
        if not ag.is_grad_enabled():
            self._after_backward_or_eval()
        return out

    def _wrap_forwards(self) -> None:
        """Child units gather just before their module's forward (an instance attribute that
        shadows the class's forward; done once)."""
        if self._modules_of is not None:
            return
        object.__setattr__(self, "_modules_of", {})
        for module, unit in self._unit_modules:
            if module is None:
                continue
            original = module.forward

            def forward(*a, _unit=unit, _original=original, **k):
                _unit.gather()
                return _original(*a, **k)

            object.__setattr__(module, "forward", forward)

    # ---------------------------------------------------------------- backward
    def _grad_ready(self, p) -> None:
        if not self._pending:
            object.__setattr__(self, "_pending", True)
            ag.queue_callback(self._after_backward_or_eval)
        unit = self._unit_of[id(p)]
        unit.ready.add(id(p))
        if len(unit.ready) == len(unit.params):
            unit.launch_reduce()

    def _after_backward_or_eval(self) -> None:
        if self._pending:
            for unit in self.units:
                unit.finish_reduce()
            object.__setattr__(self, "_pending", False)
        if self.strategy is ShardingStrategy.FULL_SHARD:
            for unit in self.units:
                unit.release()

    # ---------------------------------------------------------------- clipping
    def clip_grad_norm_(self, max_norm: float, norm_type: float = 2.0) -> float:
        """Clip by the norm of the whole (unsharded) gradient, as PyTorch's
        ``FullyShardedDataParallel.clip_grad_norm_``: with the shards' gradients ``g_r``,

        ``total = (sum_r sum_i |g_r,i|^p)^(1/p)`` (``max_r,i |g_r,i|`` for ``p = inf``),

        every shard's gradient is scaled by ``min(1, max_norm / (total + 1e-6))``, which is what
        :func:`grimoire.train.clip_grad_norm_` does to the full gradients in one process (the
        padding holds zeros). A collective: every rank calls it. Returns ``total``.
        """
        p = float(norm_type)
        if not (p == math.inf or p > 0):
            raise ValueError(f"norm_type must be > 0 or inf, got {norm_type!r}")
        if not max_norm >= 0:
            raise ValueError(f"max_norm must be >= 0, got {max_norm!r}")
        grads = [u.shard.grad for u in self.units if u.shard.grad is not None]
        if p == math.inf:
            local = np.array([max((float(np.abs(g).max()) for g in grads), default=0.0)])
            self.group.all_reduce(local, "max")
            total = float(local[0])
        else:
            local = np.array([sum(float(np.sum(np.abs(g, dtype=np.float64) ** p)) for g in grads)])
            self.group.all_reduce(local, "sum")
            total = float(local[0]) ** (1.0 / p)
        coef = max_norm / (total + 1e-6)
        if coef < 1.0:
            for g in grads:
                g *= np.float32(coef)
        return total

    # ---------------------------------------------------------------- state
    def full_state_dict(self) -> OrderedDict[str, np.ndarray]:
        """The unsharded parameters (and buffers) under the wrapped module's own keys, on every
        rank (a collective: every rank calls it)."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for unit in self.units:
            full = unit.full_vector()
            for name, shape, lo, hi in zip(
                unit.names, unit.shapes, unit.offsets, unit.offsets[1:], strict=False
            ):
                out[name] = full[lo:hi].reshape(shape).copy()
        for name, b in self.module.named_buffers():
            if b is not None:
                out[name] = np.array(b, copy=True)
        return out

    def state_dict(self) -> OrderedDict[str, np.ndarray]:  # the keys a plain model would have
        return self.full_state_dict()

    def load_state_dict(self, state: dict, strict: bool = True) -> FullyShardedDataParallel:
        names = [n for u in self.units for n in u.names]
        missing = [n for n in names if n not in state]
        if strict and missing:
            raise KeyError(f"load_state_dict: missing keys {missing}")
        for unit in self.units:
            for name, shape in zip(unit.names, unit.shapes, strict=True):
                if name in state and tuple(np.shape(state[name])) != shape:
                    raise ValueError(
                        f"load_state_dict: {name} has shape {np.shape(state[name])}, expected {shape}"
                    )
        for unit in self.units:
            unit.load_full_vector(
                unit._padded(
                    [state.get(n, np.zeros(s)) for n, s in zip(unit.names, unit.shapes, strict=True)]
                )
            )
        return self

    def save_sharded(self, directory: str | os.PathLike, optimizer: Optimizer | None = None) -> None:
        """Each rank writes its shards (and its optimizer state's shards) to
        ``rank{r}-of-{n}.safetensors``; rank 0 writes ``index.json`` (units, names, shapes,
        world size, the optimizer's scalar state). A collective: every rank calls it."""
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        tensors, scalars = {}, {}
        for i, unit in enumerate(self.units):
            tensors[f"unit{i}.param"] = unit.shard.data
            state = optimizer.state.get(id(unit.shard), {}) if optimizer is not None else {}
            for k, v in state.items():
                if isinstance(v, np.ndarray) and v.shape == unit.shard.shape:
                    tensors[f"unit{i}.{k}"] = v
                else:
                    scalars[f"unit{i}.{k}"] = v
        save_safetensors(
            tensors, os.path.join(directory, f"rank{self.group.rank}-of-{self.group.size}.safetensors")
        )
        if self.group.rank == 0:
            index = {
                "world_size": self.group.size,
                "units": [
                    {"names": u.names, "shapes": [list(s) for s in u.shapes], "numel": u.numel}
                    for u in self.units
                ],
                "optimizer_scalars": scalars,
            }
            _write_json(os.path.join(directory, "index.json"), index)
        self.group.barrier()

    def load_sharded(self, directory: str | os.PathLike,
                     optimizer: Optimizer | None = None) -> FullyShardedDataParallel:
        """Load a checkpoint written by :meth:`save_sharded` at any world size (re-sharded)."""
        index, vectors = _read_sharded(directory)
        if [u.names for u in self.units] != [u["names"] for u in index["units"]]:
            raise ValueError("load_sharded: the checkpoint's units/parameters differ from this model's")
        for i, unit in enumerate(self.units):
            unit.load_full_vector(vectors[f"unit{i}.param"])
            if optimizer is None:
                continue
            state = {}
            for key, vec in vectors.items():
                if key.startswith(f"unit{i}.") and key != f"unit{i}.param":
                    arr = np.zeros(unit.shard_size, np.float32)
                    full = np.zeros(unit.shard_size * unit.group.size, np.float32)
                    full[: unit.numel] = vec[: unit.numel]
                    lo = unit.group.rank * unit.shard_size
                    arr[:] = full[lo : lo + unit.shard_size]
                    state[key.split(".", 1)[1]] = arr
            for key, v in index["optimizer_scalars"].items():
                if key.startswith(f"unit{i}."):
                    state[key.split(".", 1)[1]] = v
            if state:
                optimizer.state[id(unit.shard)] = state
        return self


def load_full_state_dict(directory: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """The unsharded parameters of a :meth:`FullyShardedDataParallel.save_sharded` checkpoint,
    for a plain (unwrapped) module's ``load_state_dict``; needs no MPI."""
    index, vectors = _read_sharded(directory)
    out: OrderedDict[str, np.ndarray] = OrderedDict()
    for i, u in enumerate(index["units"]):
        vec = vectors[f"unit{i}.param"]
        offset = 0
        for name, shape in zip(u["names"], u["shapes"], strict=True):
            n = int(np.prod(shape))
            out[name] = vec[offset : offset + n].reshape(shape).copy()
            offset += n
    return out


def _read_sharded(directory) -> tuple[dict, dict[str, np.ndarray]]:
    directory = os.fspath(directory)
    path = os.path.join(directory, "index.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{directory} holds no index.json: not a sharded checkpoint")
    with open(path) as f:
        index = json.load(f)
    n = index["world_size"]
    shards = [load_safetensors(os.path.join(directory, f"rank{r}-of-{n}.safetensors")) for r in range(n)]
    vectors = {key: np.concatenate([s[key] for s in shards]) for key in shards[0]}
    return index, vectors


def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, default=float)
    os.replace(tmp, path)


def _policy(auto_wrap_policy) -> Callable[[Module], bool]:
    if auto_wrap_policy is None:
        return lambda m: False
    if callable(auto_wrap_policy) and not isinstance(auto_wrap_policy, type):
        return auto_wrap_policy
    classes = tuple(auto_wrap_policy) if not isinstance(auto_wrap_policy, type) else (auto_wrap_policy,)
    if not all(isinstance(c, type) and issubclass(c, Module) for c in classes):
        raise TypeError("auto_wrap_policy must be a callable or a set of grimoire.nn.Module classes")
    return lambda m: isinstance(m, classes)


def _partition(module: Module, wrap: Callable[[Module], bool]) -> list[tuple[Module | None, list[str], list]]:
    """[(module, names, params)] per unit: one per picked sub-module (not descending into it),
    then the root's remaining parameters (module None) if any; a parameter belongs to the first
    unit that reaches it (tied weights)."""
    picked: list[tuple[str, Module]] = []

    def visit(prefix: str, m: Module) -> None:
        for name, child in m.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if wrap(child):
                picked.append((full, child))
            else:
                visit(full, child)

    visit("", module)
    seen: set[int] = set()
    units = []
    for prefix, m in picked:
        names, params = [], []
        for name, p in m.named_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                names.append(name)
                params.append(p)
        if params:
            units.append((m, names, params))
    root = [(n, p) for n, p in module.named_parameters() if id(p) not in seen]
    if root:
        units.append((None, [n for n, _ in root], [p for _, p in root]))
    return units
