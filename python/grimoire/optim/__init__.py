"""``grimoire.optim``: optimisation: the primer's plain gradient descent (2.3.1, in
``grimoire.optim.descent``), optimizers (6.5.1) and learning-rate schedules (6.5.4) with
PyTorch's names and update rules."""

from __future__ import annotations

from . import lr_scheduler
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
