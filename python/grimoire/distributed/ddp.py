"""Data parallelism (primer 6.5.5): every rank holds the whole model, trains on its own shard of
each batch, and the gradients are averaged across ranks before the optimizer step.

:class:`DistributedDataParallel` (PyTorch's name and contract) broadcasts rank 0's parameters
at wrap time, groups the gradients into buckets (in the reverse order of registration, the order
backward produces them), and starts a non-blocking all-reduce of a bucket as soon as backward has
finished every gradient in it, so communication overlaps the rest of backward; the end of
backward waits for the buckets and writes the averages back into ``.grad``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np

from .. import autograd as ag
from ..nn.module import Module
from .comm import ProcessGroup, Work, check_same_across_ranks, init


class _Bucket:
    def __init__(self, params: list):
        self.params = params
        self.offsets = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.flat = np.empty(self.offsets[-1], np.float32)
        self.ready: set[int] = set()
        self.work: Work | None = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over ``process_group`` (default: the world).

    Parameters
    ----------
    module : the model; every rank must build it with the same parameter names and shapes
        (checked once here).
    process_group : the ranks that share the data parallelism (a ``ProcessGrid.dp`` group when
        combined with tensor parallelism).
    bucket_cap_mb : size of a gradient bucket; smaller buckets start communicating earlier.
    broadcast_buffers : also broadcast rank 0's buffers (BatchNorm statistics) at wrap time.

    Notes
    -----
    ``state_dict()`` keys carry the ``module.`` prefix, as in PyTorch.
    """

    def __init__(
        self,
        module: Module,
        process_group: ProcessGroup | None = None,
        bucket_cap_mb: float = 25.0,
        broadcast_buffers: bool = True,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"module must be a grimoire.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        object.__setattr__(self, "group", process_group or init())
        named = list(module.named_parameters())
        check_same_across_ranks(
            [(n, tuple(p.shape)) for n, p in named], "the parameters (names, shapes)", self.group
        )
        for _, p in named:
            self.group.broadcast(p.data, 0)
        if broadcast_buffers:
            for _, b in module.named_buffers():
                if isinstance(b, np.ndarray) and b.flags.c_contiguous and b.flags.writeable:
                    self.group.broadcast(b, 0)
        object.__setattr__(
            self, "_buckets", self._make_buckets([p for _, p in named if p.requires_grad], bucket_cap_mb)
        )
        object.__setattr__(self, "_bucket_of", {id(p): b for b in self._buckets for p in b.params})
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_pending", False)
        for b in self._buckets:
            for p in b.params:
                p.register_post_accumulate_grad_hook(self._grad_ready)

    @staticmethod
    def _make_buckets(params: list, cap_mb: float) -> list[_Bucket]:
        cap = max(1, int(cap_mb * 2**20 / 4))
        buckets, current, size = [], [], 0
        for p in reversed(params):  # backward finishes the last layers first
            if current and size + p.data.size > cap:
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.data.size
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally without communicating (gradient
        accumulation); the first synchronised backward after it reduces the accumulated sums."""
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", True)

    # ---------------------------------------------------------------- backward-time reduction
    def _grad_ready(self, p) -> None:
        if not self._sync:
            return
        if not self._pending:  # first gradient of this backward: finish at its end
            object.__setattr__(self, "_pending", True)
            ag.queue_callback(self._finish)
        bucket = self._bucket_of[id(p)]
        bucket.ready.add(id(p))
        if len(bucket.ready) == len(bucket.params):
            self._launch(bucket)
        for b in self._buckets:  # let MPI progress the reductions already in flight
            if b.work is not None:
                b.work.is_completed()

    def _launch(self, bucket: _Bucket) -> None:
        for p, lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:], strict=False):
            if p.grad is None:  # not used in this forward: contributes zeros on this rank
                bucket.flat[lo:hi] = 0.0
            else:
                bucket.flat[lo:hi] = p.grad.reshape(-1)
        bucket.work = self.group.all_reduce(bucket.flat, "sum", async_op=True)

    def _finish(self) -> None:
        object.__setattr__(self, "_pending", False)
        scale = 1.0 / self.group.size
        for bucket in self._buckets:
            if bucket.work is None:  # some parameter got no gradient on this rank
                self._launch(bucket)
            bucket.work.wait()
            bucket.flat *= scale
            for p, lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:], strict=False):
                avg = bucket.flat[lo:hi].reshape(p.shape)
                if p.grad is None:
                    p.grad = avg.copy()
                else:
                    np.copyto(p.grad, avg)
            bucket.work = None
            bucket.ready.clear()


class DistributedSampler:
    """Indices of this rank's shard of a dataset, reshuffled each epoch with ``seed + epoch``
    (call :meth:`set_epoch`), as ``torch.utils.data.DistributedSampler``: the permutation is
    padded (or, with ``drop_last``, cut) to a multiple of the number of ranks, and rank r takes
    every ``num_replicas``-th index from r, so the shards are disjoint and equally long."""

    def __init__(
        self,
        dataset: int | Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        n = dataset if isinstance(dataset, int) else len(dataset)
        if n < 0:
            raise ValueError(f"dataset length must be >= 0, got {n}")
        if num_replicas is None or rank is None:
            g = init()
            num_replicas = g.size if num_replicas is None else num_replicas
            rank = g.rank if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas - 1}], got {rank}")
        self.n, self.num_replicas, self.rank = n, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        self.num_samples = n // num_replicas if drop_last else math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        order = (
            np.random.default_rng(self.seed + self.epoch).permutation(self.n)
            if self.shuffle
            else np.arange(self.n)
        )
        if self.total_size > self.n and self.n:
            order = np.resize(order, self.total_size)  # pad by wrapping around
        order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
