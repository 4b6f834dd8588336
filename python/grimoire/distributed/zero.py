"""ZeRO stage 1 (primer 6.5.5): the optimizer state sharded across data-parallel ranks.

:class:`ZeroRedundancyOptimizer` (PyTorch's name) gives each rank a disjoint share of the
parameters (balanced by size); a rank keeps optimizer state (Adam's two moments) only for its
share and steps only it, with the same fused kernel as a plain optimizer, then each rank
broadcasts the parameters it updated. With gradients averaged by DistributedDataParallel the
result equals an unsharded optimizer, at 1/world_size of the optimizer-state memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .comm import ProcessGroup, init

if TYPE_CHECKING:
    from ..autograd import Tensor
    from ..optim.optimizers import Optimizer


class ZeroRedundancyOptimizer:
    """``ZeroRedundancyOptimizer(params, optimizer_class=AdamW, lr=..., ...)``.

    Parameters
    ----------
    params : the model's parameters (the same list, in the same order, on every rank).
    optimizer_class : a grimoire.optim optimizer class; ``**defaults`` go to it.
    process_group : the data-parallel ranks (default: the world).
    """

    def __init__(self, params: Iterable[Tensor], optimizer_class: type[Optimizer],
                 process_group: ProcessGroup | None = None, **defaults: Any):
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        self.group = process_group or init()
        size = self.group.size
        load = [0] * size
        self.owner: list[int] = [0] * len(self.params)
        for i in sorted(range(len(self.params)), key=lambda i: -self.params[i].data.size):
            r = int(np.argmin(load))  # largest first onto the least loaded rank
            self.owner[i] = r
            load[r] += self.params[i].data.size
        self.owned = [p for p, r in zip(self.params, self.owner, strict=True) if r == self.group.rank]
        self.optim = optimizer_class(self.owned, **defaults) if self.owned else None
        self.defaults = defaults
        self._by_rank = [
            [p for p, r in zip(self.params, self.owner, strict=True) if r == rank] for rank in range(size)
        ]

    @property
    def param_groups(self) -> list[dict]:
        """The local optimizer's groups (a learning-rate schedule sets ``lr`` on every rank)."""
        if self.optim is not None:
            return self.optim.param_groups
        if not hasattr(self, "_empty_groups"):
            self._empty_groups = [{**self.defaults, "params": [], "initial_lr": self.defaults.get("lr")}]
        return self._empty_groups

    @property
    def state(self) -> dict:
        return {} if self.optim is None else self.optim.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        if self.optim is not None:
            self.optim.step()
        for rank, owned in enumerate(self._by_rank):  # each owner broadcasts what it updated
            if not owned:
                continue
            flat = (
                np.concatenate([p.data.reshape(-1) for p in owned])
                if rank == self.group.rank
                else np.empty(sum(p.data.size for p in owned), np.float32)
            )
            self.group.broadcast(flat, rank)
            if rank != self.group.rank:
                offset = 0
                for p in owned:
                    np.copyto(p.data, flat[offset : offset + p.data.size].reshape(p.shape))
                    offset += p.data.size

    def state_dict(self) -> dict:
        """This rank's shard of the optimizer state (see :meth:`consolidate_state_dict`)."""
        return {} if self.optim is None else self.optim.state_dict()

    def consolidate_state_dict(self) -> dict:
        """The whole optimizer state, keyed by the index of the parameter in ``params`` (as an
        unsharded optimizer numbers them), gathered onto every rank."""
        local = {}
        if self.optim is not None:
            for i, p in enumerate(self.params):
                if self.owner[i] == self.group.rank and id(p) in self.optim.state:
                    local[i] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v)
                        for k, v in self.optim.state[id(p)].items()
                    }
        merged: dict = {}
        for part in self.group.all_gather_object(local):
            merged.update(part)
        return {
            "state": merged,
            "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
        }
