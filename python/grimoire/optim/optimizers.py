"""Optimizers (primer 6.5.1) with PyTorch's update formulas, ``param_groups`` and ``state``.

Each ``step()`` reads ``p.grad`` of every parameter and updates ``p.data`` in place; parameters
without a gradient are skipped, as in ``torch.optim``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _array
from .. import kernels as K
from ..autograd import Tensor, _ns

#: What an optimizer takes: the parameters, or param groups (dicts with ``params`` and overrides).
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: ``param_groups`` is a list of dicts, each with ``params`` and its settings."""

    def __init__(self, params: ParamsT, defaults: dict):
        self.defaults = defaults
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict] = []
        for g in groups:
            g = {**defaults, **g, "params": list(g["params"])}
            g.setdefault("initial_lr", g["lr"])
            self.param_groups.append(g)
        self.state: dict[int, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None

    def step(self) -> None:
        for g in self.param_groups:
            live = [p for p in g["params"] if p.grad is not None]
            if live:
                self._update_group(live, g)

    def _update_group(self, params: list, group: dict) -> None:
        """Update the parameters of one group that have a gradient (a loop of :meth:`_update`;
        the fused optimizers update them in one multi-tensor kernel call)."""
        for p in params:
            self._update(p, p.grad, group, self.state.setdefault(id(p), {}))

    def _update(self, p, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """State per parameter index (as PyTorch numbers them) and the groups' settings."""
        idx, state = 0, {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                if id(p) in self.state:
                    state[idx] = {  # host copies, whatever device the state lives on
                        k: (np.array(_array.to_host(v), copy=True) if _is_array(v) else v)
                        for k, v in self.state[id(p)].items()
                    }
                ids.append(idx)
                idx += 1
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        for i, st in sd["state"].items():
            p = params[int(i)]  # the state goes where the parameter lives
            self.state[id(p)] = {
                k: (_array.to_device(_ns(p.data).asarray(np.array(_array.to_host(v), copy=True)), p.device)
                    if _is_array(v) else v)
                for k, v in st.items()
            }
        for g, sg in zip(self.param_groups, sd["param_groups"], strict=True):
            g.update({k: v for k, v in sg.items() if k != "params"})


def _is_array(v) -> bool:
    return isinstance(v, np.ndarray) or hasattr(v, "__array_namespace__")


def _float32(g):
    """A gradient as float32 C-contiguous in its namespace (the fused kernels' layout)."""
    xp = _ns(g)
    return _array.ascontiguous(xp, g if g.dtype == xp.float32 else xp.astype(g, xp.float32))


def _batches(params: list, key) -> list[list]:
    """``params`` split into lists that share ``key(p)`` (and a device), in first-seen order:
    each list is one multi-tensor kernel call (one launch on a GPU)."""
    out: dict = {}
    for p in params:
        out.setdefault((_array.device(p.data), key(p)), []).append(p)
    return list(out.values())


class SGD(Optimizer):
    """g += wd p; buf = mu buf + (1 - dampening) g (buf = g at the first step);
    g = g + mu buf (Nesterov) or buf; p -= lr g."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _update_group(self, params, group):  # the fused multi-tensor kernel, in place
        mu = group["momentum"]
        for batch in _batches(params, lambda p: "momentum_buffer" not in self.state.get(id(p), {})):
            states = [self.state.setdefault(id(p), {}) for p in batch]
            first = "momentum_buffer" not in states[0]
            if mu and first:
                for p, st in zip(batch, states, strict=True):
                    st["momentum_buffer"] = _ns(p.data).zeros_like(p.data)
            K.multi_tensor_sgd_step(
                [p.data for p in batch],
                [_float32(-p.grad if group["maximize"] else p.grad) for p in batch],
                [st["momentum_buffer"] for st in states] if mu else None,
                lr=group["lr"],
                momentum=mu,
                dampening=group["dampening"],
                nesterov=group["nesterov"],
                weight_decay=group["weight_decay"],
                first_step=first,
            )


class Adagrad(Optimizer):
    """sum += g^2; p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(sum) + eps)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
            ),
        )
        for g in self.param_groups:
            for p in g["params"]:
                self.state[id(p)] = {
                    "step": 0,
                    "sum": _ns(p.data).full(p.shape, initial_accumulator_value, dtype=p.data.dtype),
                }

    def _update(self, p, grad, group, state):
        state["step"] += 1
        g = grad + group["weight_decay"] * p.data if group["weight_decay"] else grad
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p.data -= clr * g / (_ns(p.data).sqrt(state["sum"]) + group["eps"])


class RMSprop(Optimizer):
    """v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps) (with momentum: buf = mu buf +
    g / (sqrt(v) + eps), p -= lr buf; centered: v - mean(g)^2 in the root)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered
            ),
        )

    def _update(self, p, grad, group, state):
        if not state:
            state.update(step=0, square_avg=_ns(p.data).zeros_like(p.data))
            if group["momentum"]:
                state["momentum_buffer"] = _ns(p.data).zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = _ns(p.data).zeros_like(p.data)
        state["step"] += 1
        g = grad + group["weight_decay"] * p.data if group["weight_decay"] else grad
        a = group["alpha"]
        v = state["square_avg"]
        v *= a
        v += (1 - a) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= a
            ga += (1 - a) * g
            avg = _ns(p.data).sqrt(v - ga * ga) + group["eps"]
        else:
            avg = _ns(p.data).sqrt(v) + group["eps"]
        if group["momentum"]:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * g / avg


class Adam(Optimizer):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).

    ``weight_decay`` adds wd p to the gradient (L2, Adam); AdamW decays the weights directly.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        super().__init__(
            params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        )

    def _update_group(self, params, group):  # the fused multi-tensor kernel, in place
        for p in params:
            state = self.state.setdefault(id(p), {})
            if not state:
                zeros = _ns(p.data).zeros_like
                state.update(step=0, exp_avg=zeros(p.data), exp_avg_sq=zeros(p.data))
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros(p.data)
            state["step"] += 1
        b1, b2 = group["betas"]
        # one call per step count (parameters that missed a step count fewer) and device
        for batch in _batches(params, lambda p: self.state[id(p)]["step"]):
            states = [self.state[id(p)] for p in batch]
            K.multi_tensor_adam_step(
                [p.data for p in batch],
                [_float32(p.grad) for p in batch],
                [st["exp_avg"] for st in states],
                [st["exp_avg_sq"] for st in states],
                step=states[0]["step"],
                lr=group["lr"],
                beta1=b1,
                beta2=b2,
                eps=group["eps"],
                weight_decay=group["weight_decay"],
                decoupled=self._decoupled,
                amsgrad=group["amsgrad"],
                max_vs=[st["max_exp_avg_sq"] for st in states] if group["amsgrad"] else None,
            )


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr wd before the step."""

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
