"""Recurrent layers (primer 5.3): RNN, LSTM, GRU; multi-layer, bidirectional, ``batch_first``,
PyTorch's gate order (LSTM: i, f, g, o; GRU: r, z, n) and key names (``weight_ih_l0``,
``bias_hh_l1``, ``weight_ih_l0_reverse``, ...); the single-step RNNCell, LSTMCell, GRUCell.

The input projection of every time step is one GEMM over the whole sequence; only the
recurrent product h W_hh^T runs step by step.
"""

from __future__ import annotations

import math

from .. import autograd as ag
from ..autograd import Tensor
from . import functional as F
from .linear import uniform
from .module import Module


class _RNNBase(Module):
    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bool(bidirectional)
        self._dirs = ("", "_reverse") if bidirectional else ("",)
        bound = 1.0 / math.sqrt(hidden_size)
        g = self._gates * hidden_size
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * len(self._dirs)
            for sfx in self._dirs:
                setattr(self, f"weight_ih_l{layer}{sfx}", uniform((g, n_in), bound))
                setattr(self, f"weight_hh_l{layer}{sfx}", uniform((g, hidden_size), bound))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{sfx}", uniform((g,), bound))
                    setattr(self, f"bias_hh_l{layer}{sfx}", uniform((g,), bound))

    def _weights(self, layer: int, sfx: str = ""):
        b_ih = getattr(self, f"bias_ih_l{layer}{sfx}") if self.bias else None
        b_hh = getattr(self, f"bias_hh_l{layer}{sfx}") if self.bias else None
        w_ih, w_hh = getattr(self, f"weight_ih_l{layer}{sfx}"), getattr(self, f"weight_hh_l{layer}{sfx}")
        return w_ih, w_hh, b_ih, b_hh

    def forward(self, x: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """x (T, B, in) or (B, T, in) with ``batch_first``; returns (output, h_n) (LSTM: (h_n, c_n)).
        Bidirectional: each layer also runs over the reversed sequence with its ``_reverse``
        weights; the output is [forward, backward] on the last axis (T, B, 2H), h_n is
        (num_layers * 2, B, H) ordered layer by layer, forward first (PyTorch's layout)."""
        if self.batch_first:
            x = x.transpose(0, 1)
        t_len, batch = x.shape[0], x.shape[1]
        state = self._initial_state(hx, batch)
        finals = []
        for layer in range(self.num_layers):
            outs_per_dir = []
            for d, sfx in enumerate(self._dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, sfx)
                xw = F.linear(x, w_ih, b_ih)  # (T, B, G*H): all steps at once
                st = tuple(s[layer * len(self._dirs) + d] for s in state)
                outs = []
                for t in range(t_len) if d == 0 else range(t_len - 1, -1, -1):
                    st = self._cell(xw[t], st, w_hh, b_hh)
                    outs.append(st[0])
                finals.append(st)
                outs_per_dir.append(ag.stack(outs if d == 0 else outs[::-1], 0))
            x = outs_per_dir[0] if len(outs_per_dir) == 1 else ag.cat(outs_per_dir, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        out = x.transpose(0, 1) if self.batch_first else x
        hn = tuple(ag.stack([f[i] for f in finals], 0) for i in range(len(state)))
        return out, (hn if len(hn) > 1 else hn[0])

    def _initial_state(self, hx, batch: int):
        if hx is None:
            z = ag.zeros(self.num_layers * len(self._dirs), batch, self.hidden_size)
            return (z,) * self._n_states
        return tuple(hx) if isinstance(hx, tuple) else (hx,)

    _n_states = 1


class RNN(_RNNBase):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu with nonlinearity='relu')."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity

    def _cell(self, xw, st, w_hh, b_hh):
        a = xw + F.linear(st[0], w_hh, b_hh)
        return (a.tanh() if self.nonlinearity == "tanh" else a.relu(),)


class LSTM(_RNNBase):
    """Gates i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh); c' = f c + i g; h' = o tanh(c')."""

    _gates = 4
    _n_states = 2

    def _cell(self, xw, st, w_hh, b_hh):
        h, c = st
        a = xw + F.linear(h, w_hh, b_hh)
        n = self.hidden_size
        i, f, g, o = F.split(a, [n, n, n, n], -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c


class GRU(_RNNBase):
    """r, z = sigmoid(...); n = tanh(x W_in + b_in + r (h W_hn + b_hn)); h' = (1 - z) n + z h."""

    _gates = 3

    def _cell(self, xw, st, w_hh, b_hh):
        h = st[0]
        hw = F.linear(h, w_hh, b_hh)
        n = self.hidden_size
        xr, xz, xn = F.split(xw, [n, n, n], -1)
        hr, hz, hn = F.split(hw, [n, n, n], -1)
        r = (xr + hr).sigmoid()
        z = (xz + hz).sigmoid()
        cand = (xn + r * hn).tanh()
        return (cand + z * (h - cand),)


class _CellBase(Module):
    """One time step of the matching recurrent layer, with PyTorch's cell key names
    (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``): x (B, in) or (in,) -> the new state."""

    _layer: type = RNN

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        g = self._layer._gates * hidden_size
        self.weight_ih, self.weight_hh = uniform((g, input_size), bound), uniform((g, hidden_size), bound)
        self.register_parameter("bias_ih", uniform((g,), bound) if bias else None)
        self.register_parameter("bias_hh", uniform((g,), bound) if bias else None)

    def _step(self, x: Tensor, state: tuple):
        batched = x.ndim == 2
        if not batched:
            x, state = x.reshape(1, -1), tuple(s.reshape(1, -1) for s in state)
        st = self._layer._cell(self, F.linear(x, self.weight_ih, self.bias_ih), state, self.weight_hh,
                               self.bias_hh)
        return st if batched else tuple(s.reshape(-1) for s in st)

    def _zeros(self, x: Tensor) -> Tensor:
        return ag.zeros(*(x.shape[:-1] + (self.hidden_size,)))


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, (self._zeros(x) if hx is None else hx,))[0]


class LSTMCell(_CellBase):
    """(h', c') from x and (h, c), gates i, f, g, o as LSTM."""

    _layer = LSTM

    def forward(self, x: Tensor, hx: tuple | None = None) -> tuple:
        state = (self._zeros(x), self._zeros(x)) if hx is None else tuple(hx)
        return self._step(x, state)


class GRUCell(_CellBase):
    """h' from x and h, gates r, z, n as GRU."""

    _layer = GRU

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, (self._zeros(x) if hx is None else hx,))[0]
