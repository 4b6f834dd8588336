"""Mixture of Experts (primer 5.4.x, Shazeer et al. 2017; Switch Transformer): a router picks the
top-k experts of each token, the token goes only through those, and their outputs are mixed with
the renormalised router probabilities. ``aux_loss`` after each forward is the load-balancing loss
n_experts * sum_i f_i P_i (f_i: the fraction of routing slots given to expert i, P_i: its mean
router probability), minimal when the experts share the load evenly."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor
from . import functional as F
from .activation import GELU
from .containers import ModuleList, Sequential
from .linear import Linear
from .module import Module


class MoE(Module):
    """x (..., d_model) -> (..., d_model); experts are 2-layer GELU MLPs."""

    def __init__(self, d_model: int, d_hidden: int, num_experts: int = 4, top_k: int = 2):
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in [1, num_experts={num_experts}], got {top_k}")
        self.num_experts, self.top_k = num_experts, top_k
        self.router = Linear(d_model, num_experts, bias=False)
        self.experts = ModuleList(
            Sequential(Linear(d_model, d_hidden), GELU(), Linear(d_hidden, d_model))
            for _ in range(num_experts)
        )
        self.aux_loss: Tensor | None = None
        self.last_load: np.ndarray | None = None

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        h = x.reshape(-1, shape[-1])
        n = h.shape[0]
        probs = F.softmax(self.router(h), -1)  # (N, E)
        top = np.argsort(-probs.numpy(), axis=1, kind="stable")[:, : self.top_k]  # (N, k), routed on the host
        rows = np.arange(n)[:, None]
        gate = probs[rows, top]  # (N, k), differentiable
        gate = gate / gate.sum(axis=1, keepdims=True)
        out = None
        load = np.zeros(self.num_experts)
        for e, expert in enumerate(self.experts):
            tok, slot = np.nonzero(top == e)
            load[e] = len(tok)
            if len(tok) == 0:
                continue
            y = expert(h[tok]) * gate[tok, slot].reshape(-1, 1)
            part = F.index_add(n, tok, y)
            out = part if out is None else out + part
        frac = load / (n * self.top_k)
        self.last_load = frac
        self.aux_loss = (probs.mean(axis=0) * Tensor(frac)).sum() * float(self.num_experts)
        return out.reshape(shape)
