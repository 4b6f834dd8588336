"""Transformer blocks (primer 5.4): encoder and decoder layers with PyTorch's key names
(``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1..3``), pre-norm
(``norm_first=True``) or post-norm, and a decoder-only language model (``GPT``) that generates
with a KV cache.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .. import autograd as ag
from ..autograd import Tensor, TensorLike
from . import functional as F
from .attention import KVCache, MultiheadAttention
from .containers import ModuleList
from .linear import Embedding, Linear
from .module import Module, Parameter
from .norm import LayerNorm


def _activation(name):
    if callable(name):
        return name
    return {"relu": F.relu, "gelu": F.gelu, "silu": F.silu}[name]


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward, each in a residual; pre-norm with ``norm_first=True``:
    x = x + SA(LN1(x)); x = x + FF(LN2(x)). Post-norm: x = LN1(x + SA(x)); x = LN2(x + FF(x))."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Literal["relu", "gelu", "silu"] | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=True)
        self.linear1 = Linear(d_model, dim_feedforward, bias)
        self.linear2 = Linear(dim_feedforward, d_model, bias)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.p, self.batch_first, self.norm_first = dropout, batch_first, norm_first
        self.activation = _activation(activation)

    def _sa(self, x, mask, kpm, is_causal, cache):
        y = self.self_attn(x, x, x, key_padding_mask=kpm, attn_mask=mask, is_causal=is_causal, cache=cache)[0]
        return F.dropout(y, self.p, self.training)

    def _ff(self, x):
        y = self.linear2(F.dropout(self.activation(self.linear1(x)), self.p, self.training))
        return F.dropout(y, self.p, self.training)

    def forward(
        self,
        src: Tensor,
        src_mask: TensorLike | None = None,
        src_key_padding_mask: TensorLike | None = None,
        is_causal: bool = False,
        cache: KVCache | None = None,
    ) -> Tensor:
        x = src if self.batch_first else src.transpose(0, 1)
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal, cache)
            x = x + self._ff(self.norm2(x))
        else:
            x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal, cache))
            x = self.norm2(x + self._ff(x))
        return x if self.batch_first else x.transpose(0, 1)


class TransformerDecoderLayer(Module):
    """Masked self-attention, cross-attention over the encoder's ``memory``, feed-forward: the
    encoder-decoder block. Pre-norm with ``norm_first=True``."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Literal["relu", "gelu", "silu"] | Callable[[Tensor], Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=True)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=True)
        self.linear1 = Linear(d_model, dim_feedforward, bias)
        self.linear2 = Linear(dim_feedforward, d_model, bias)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, layer_norm_eps, bias=bias)
        self.p, self.batch_first, self.norm_first = dropout, batch_first, norm_first
        self.activation = _activation(activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: TensorLike | None = None,
        memory_mask: TensorLike | None = None,
        tgt_key_padding_mask: TensorLike | None = None,
        memory_key_padding_mask: TensorLike | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt if self.batch_first else tgt.transpose(0, 1)
        mem = memory if self.batch_first else memory.transpose(0, 1)
        p, tr = self.p, self.training

        def sa(h):
            return F.dropout(
                self.self_attn(
                    h,
                    h,
                    h,
                    key_padding_mask=tgt_key_padding_mask,
                    attn_mask=tgt_mask,
                    is_causal=tgt_is_causal,
                )[0],
                p,
                tr,
            )

        def ca(h):
            return F.dropout(
                self.multihead_attn(
                    h,
                    mem,
                    mem,
                    key_padding_mask=memory_key_padding_mask,
                    attn_mask=memory_mask,
                    is_causal=memory_is_causal,
                )[0],
                p,
                tr,
            )

        def ff(h):
            return F.dropout(self.linear2(F.dropout(self.activation(self.linear1(h)), p, tr)), p, tr)

        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + ca(self.norm2(x))
            x = x + ff(self.norm3(x))
        else:
            x = self.norm1(x + sa(x))
            x = self.norm2(x + ca(x))
            x = self.norm3(x + ff(x))
        return x if self.batch_first else x.transpose(0, 1)


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (keys ``layers.0.*``), then an optional norm."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.norm = norm

    def forward(self, src: Tensor, mask: TensorLike | None = None,
                src_key_padding_mask: TensorLike | None = None, is_causal: bool = False) -> Tensor:
        for layer in self.layers:
            src = layer(src, mask, src_key_padding_mask, is_causal)
        return self.norm(src) if self.norm is not None else src


class TransformerDecoder(Module):
    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(decoder_layer) for _ in range(num_layers))
        self.norm = norm

    def forward(
        self, tgt: Tensor, memory: Tensor, tgt_mask: TensorLike | None = None,
        memory_mask: TensorLike | None = None, tgt_is_causal: bool = False
    ) -> Tensor:
        for layer in self.layers:
            tgt = layer(tgt, memory, tgt_mask, memory_mask, tgt_is_causal=tgt_is_causal)
        return self.norm(tgt) if self.norm is not None else tgt


class Transformer(Module):
    """The encoder-decoder transformer (Vaswani et al. 2017) with PyTorch's layout
    (``encoder.layers.i.*``, ``encoder.norm``, ``decoder.layers.i.*``, ``decoder.norm``):
    ``forward(src, tgt)`` encodes ``src`` and decodes ``tgt`` with cross-attention to it."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Literal["relu", "gelu", "silu"] | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True):
        super().__init__()
        cfg = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                   layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias)
        self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **cfg), num_encoder_layers,
                                          LayerNorm(d_model, layer_norm_eps, bias=bias))
        self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **cfg), num_decoder_layers,
                                          LayerNorm(d_model, layer_norm_eps, bias=bias))

    def forward(self, src: Tensor, tgt: Tensor, src_mask: TensorLike | None = None,
                tgt_mask: TensorLike | None = None, memory_mask: TensorLike | None = None,
                tgt_is_causal: bool = False) -> Tensor:
        memory = self.encoder(src, src_mask)
        return self.decoder(tgt, memory, tgt_mask, memory_mask, tgt_is_causal=tgt_is_causal)


class GPT(Module):
    """A decoder-only language model: token + learned position embeddings, ``n_layers`` pre-norm
    causal blocks, a final LayerNorm and a linear head over the vocabulary.

    ``forward(idx)`` (B, T) -> logits (B, T, vocab). ``generate`` samples with a KV cache
    (each step feeds only the new token) or without one (re-runs the whole context); with the
    same seed the two give identical tokens.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        max_len: int = 256,
        d_ff: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.tok = Embedding(vocab_size, d_model)
        self.tok.weight.data *= 0.02
        self.pos = Parameter(ag.rng().standard_normal((max_len, d_model), dtype=np.float32) * 0.02)
        self.blocks = ModuleList(
            TransformerEncoderLayer(
                d_model, n_heads, d_ff or 4 * d_model, dropout, "gelu", batch_first=True, norm_first=True
            )
            for _ in range(n_layers)
        )
        self.ln_f = LayerNorm(d_model)
        self.head = Linear(d_model, vocab_size, bias=False)

    def forward(self, idx: TensorLike, caches: list[KVCache] | None = None) -> Tensor:
        idx = idx.data if isinstance(idx, Tensor) else idx
        if not hasattr(idx, "shape"):  # token ids as lists; arrays stay in their namespace
            idx = np.asarray(idx)
        t = idx.shape[1]
        start = len(caches[0]) if caches else 0
        if start + t > self.max_len:
            raise ValueError(f"sequence of {start + t} tokens exceeds max_len={self.max_len}")
        x = self.tok(idx) + self.pos[start : start + t]
        for i, block in enumerate(self.blocks):
            x = block(x, is_causal=True, cache=caches[i] if caches else None)
        return self.head(self.ln_f(x))

    def generate(
        self,
        idx: ArrayLike,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        use_cache: bool = True,
        seed: int = 0,
    ) -> np.ndarray:
        """Sample ``max_new_tokens`` after the prompt ``idx`` (B, T); greedy when temperature == 0."""
        rng = np.random.default_rng(seed)
        idx = np.asarray(idx, np.int64)
        was = self.training
        self.eval()
        cap = min(idx.shape[1] + max_new_tokens, self.max_len)  # every position it will hold
        caches = [KVCache(cap) for _ in self.blocks] if use_cache else None
        feed = idx
        with ag.no_grad():
            for _ in range(max_new_tokens):
                if use_cache:
                    logits = self.forward(feed, caches)[:, -1].numpy()  # sampled on the host
                else:
                    logits = self.forward(idx[:, -self.max_len :])[:, -1].numpy()
                nxt = _sample(logits, temperature, top_k, rng)
                idx = np.concatenate([idx, nxt[:, None]], axis=1)
                feed = nxt[:, None]
        self.train(was)
        return idx


def _sample(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> np.ndarray:
    if temperature == 0:
        return logits.argmax(-1)
    z = logits.astype(np.float64) / temperature
    if top_k is not None:
        kth = np.sort(z, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    u = rng.random(len(p))[:, None]
    return np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)
