"""GPU GPT training step: grimoire's ``nn.GPT`` against the same decoder-only transformer in
PyTorch eager mode, both on CUDA under bf16 autocast with float32 master weights and AdamW.

The model is GPT-2 small's shape (12 layers, d_model 768, 12 heads, d_ff 3072, vocabulary
50257, learned positions, pre-norm, GELU, untied head): batch 8 of 1024 tokens (``--small``: 2
layers, d_model 256, batch 4 of 256). One step is zero_grad, the forward pass with the
cross-entropy loss, the backward pass and the optimizer step, timed with CUDA events (no
host read-back inside the step). The row's note gives both tokens per second
(``batch * seq / step time``); ``torch/grimoire`` is grimoire's tokens/s over PyTorch's.
"""

from __future__ import annotations

import argparse

from .gpu import time_ms


def _config(small: bool) -> dict:
    if small:
        return dict(vocab=50257, d_model=256, heads=4, layers=2, seq=256, batch=4)
    return dict(vocab=50257, d_model=768, heads=12, layers=12, seq=1024, batch=8)


def _torch_gpt(c: dict):
    """The PyTorch twin of grimoire.nn.GPT: the same blocks (pre-norm, fused QKV projection,
    causal scaled_dot_product_attention, GELU MLP), eager mode."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self, d: int, h: int):
            super().__init__()
            self.h = h
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.norm1(x)).split(d, dim=-1)
            q, k, v = (a.view(b, t, self.h, d // self.h).transpose(1, 2) for a in (q, k, v))
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
            x = x + self.proj(o)
            return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            d = c["d_model"]
            self.tok = nn.Embedding(c["vocab"], d)
            self.pos = nn.Parameter(torch.randn(c["seq"], d) * 0.02)
            self.blocks = nn.ModuleList(Block(d, c["heads"]) for _ in range(c["layers"]))
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, c["vocab"], bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos[: idx.shape[1]]
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln_f(x))

    return GPT().cuda()


def run(args: argparse.Namespace) -> list[list[object]]:
    import cupy as cp
    import numpy as np
    import torch

    from grimoire import autograd as ag
    from grimoire import nn, optim
    from grimoire.nn import functional as F

    c = _config(args.small)
    tokens = c["batch"] * c["seq"]
    data = np.random.default_rng(0).integers(0, c["vocab"], (c["batch"], c["seq"] + 1))

    ag.manual_seed(0)
    model = nn.GPT(c["vocab"], c["d_model"], c["heads"], c["layers"], max_len=c["seq"]).to("cuda")
    opt = optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    x, y = cp.asarray(data[:, :-1]), cp.asarray(data[:, 1:].reshape(-1))

    def grimoire_step():
        opt.zero_grad()
        with ag.autocast():
            loss = F.cross_entropy(model(x).reshape(-1, c["vocab"]), y)
        loss.backward()
        opt.step()

    tmodel = _torch_gpt(c)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-4, weight_decay=0.1)
    tx = torch.as_tensor(data[:, :-1], device="cuda")
    ty = torch.as_tensor(data[:, 1:].reshape(-1), device="cuda")

    def torch_step():
        topt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(tmodel(tx).reshape(-1, c["vocab"]).float(), ty)
        loss.backward()
        topt.step()

    g = time_ms(grimoire_step, repeats=5, warmup=2)
    t = time_ms(torch_step, repeats=5, warmup=2)
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    case = (f"GPT {c['layers']}L d{c['d_model']} {n_params / 1e6:.0f}M params, batch {c['batch']} x "
            f"seq {c['seq']}, bf16 autocast, AdamW step")
    note = f"{tokens / (g * 1e-3):,.0f} vs torch {tokens / (t * 1e-3):,.0f} tokens/s"
    return [["gpt", case, g, t, t / g, note]]
