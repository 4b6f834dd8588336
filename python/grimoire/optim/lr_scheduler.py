"""Learning-rate schedules (primer 6.5.4), PyTorch's classes and semantics: the constructor sets
the epoch-0 rate, each ``step()`` advances one epoch and writes ``lr`` into every param group;
``get_last_lr()`` returns the rates. Closed forms, so any epoch can be asked for directly."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..distributed.zero import ZeroRedundancyOptimizer
    from .optimizers import Optimizer


class LRScheduler:
    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer, last_epoch: int = -1):
        self.optimizer = optimizer
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def factor(self, epoch: int, base_lr: float) -> float:
        """The learning rate at ``epoch`` for a group whose initial rate is ``base_lr``."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        return [self.factor(self.last_epoch, b) for b in self.base_lrs]

    def step(self) -> None:
        self.last_epoch += 1
        for g, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, sd: dict) -> None:
        self.__dict__.update(sd)


class StepLR(LRScheduler):
    """lr = base * gamma^(epoch // step_size)."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer,
                 step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base * gamma^(number of milestones <= epoch)."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer,
                 milestones: list[int], gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma ** sum(m <= epoch for m in self.milestones)


class ExponentialLR(LRScheduler):
    """lr = base * gamma^epoch."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2 (SGDR without restarts)."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer,
                 T_max: int, eta_min: float = 0.0, last_epoch: int = -1):  # noqa: N803
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of the multiplier from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, constant after."""

    def __init__(
        self,
        optimizer: Optimizer | ZeroRedundancyOptimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        t = min(epoch, self.total_iters)
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * t / self.total_iters)


class LambdaLR(LRScheduler):
    """lr = base * lr_lambda(epoch)."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer, lr_lambda: Callable[[int], float],
                 last_epoch: int = -1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        return base_lr * self.lr_lambda(epoch)


class SequentialLR(LRScheduler):
    """Schedulers one after another: ``schedulers[i]`` runs from ``milestones[i-1]``, its epoch
    counted from there (e.g. LinearLR warm-up, then CosineAnnealingLR)."""

    def __init__(self, optimizer: Optimizer | ZeroRedundancyOptimizer,
                 schedulers: list[LRScheduler], milestones: list[int], last_epoch: int = -1):
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("SequentialLR needs one milestone fewer than schedulers")
        self.schedulers, self.milestones = schedulers, list(milestones)
        super().__init__(optimizer, last_epoch)

    def factor(self, epoch: int, base_lr: float) -> float:
        i = sum(m <= epoch for m in self.milestones)
        start = self.milestones[i - 1] if i else 0
        return self.schedulers[i].factor(epoch - start, base_lr)
