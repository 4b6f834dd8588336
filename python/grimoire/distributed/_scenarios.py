"""Small training runs shared by the tests, the benchmark and the tour: each builds the same
seeded model and data on every rank, so a run on N ranks can be compared with one process on
the concatenated batch. ``python -m grimoire.distributed._scenarios NAME OUT_DIR`` (under
mpiexec) writes each rank's results to ``OUT_DIR/NAME-rank{r}.npz``.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc

import numpy as np

from .. import autograd as ag
from .. import nn, optim
from ..autograd import Tensor
from . import comm
from .ddp import DistributedDataParallel
from .fsdp import FullyShardedDataParallel, ShardingStrategy
from .tensor_parallel import (
    ColumnParallelLinear,
    ParallelMLP,
    ParallelMultiheadAttention,
    RowParallelLinear,
)
from .zero import ZeroRedundancyOptimizer

STEPS, BATCH, D_IN, D_HIDDEN, CLASSES = 20, 16, 12, 32, 5


def mlp() -> nn.Module:
    ag.manual_seed(0)
    return nn.Sequential(
        nn.Linear(D_IN, D_HIDDEN),
        nn.GELU(),
        nn.Linear(D_HIDDEN, D_HIDDEN),
        nn.GELU(),
        nn.Linear(D_HIDDEN, CLASSES),
    )


def data(step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return rng.standard_normal((BATCH, D_IN)).astype(np.float32), rng.integers(0, CLASSES, BATCH)


def shard(x: np.ndarray, rank: int, size: int) -> np.ndarray:
    n = len(x) // size
    return x[rank * n : (rank + 1) * n]


def train(model, opt, rank: int, size: int, steps: int = STEPS, first: int = 0) -> list[float]:
    losses = []
    for s in range(first, first + steps):
        x, y = data(s)
        loss = nn.functional.cross_entropy(model(Tensor(shard(x, rank, size))), shard(y, rank, size))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


def single_process(steps: int = STEPS) -> dict[str, np.ndarray]:
    """The reference: one process, the whole batch, plain AdamW."""
    model = mlp()
    train(model, optim.AdamW(model.parameters(), lr=1e-2), 0, 1, steps)
    return dict(model.state_dict())


def run(name: str, out_dir: str) -> None:
    world = comm.init()
    r, n = world.rank, world.size
    result: dict[str, np.ndarray] = {}
    if name == "collectives":
        x = np.arange(6, dtype=np.float32) + 10 * r
        s = x.copy()
        world.all_reduce(s, "sum")
        m = x.copy()
        world.all_reduce(m, "mean")
        mx = x.copy()
        world.all_reduce(mx, "max")
        rs = np.empty(6 // n, np.float32)
        world.reduce_scatter(rs, x, "sum")
        ag_ = np.empty(6 * n, np.float32)
        world.all_gather(ag_, x)
        b = x.copy()
        world.broadcast(b, src=n - 1)
        a = x.copy()
        w = world.all_reduce(a, "sum", async_op=True)
        w.wait()
        result = dict(sum=s, mean=m, max=mx, reduce_scatter=rs, all_gather=ag_, broadcast=b, async_sum=a)
    elif name in ("ddp", "zero1", "zero2", "zero3"):
        model = mlp()
        if name == "ddp":
            model = DistributedDataParallel(model, bucket_cap_mb=0.002)  # several buckets
            opt = optim.AdamW(model.parameters(), lr=1e-2)
        elif name == "zero1":
            model = DistributedDataParallel(model)
            opt = ZeroRedundancyOptimizer(model.parameters(), optim.AdamW, lr=1e-2)
        else:
            strategy = ShardingStrategy.FULL_SHARD if name == "zero3" else ShardingStrategy.SHARD_GRAD_OP
            model = FullyShardedDataParallel(model, strategy, auto_wrap_policy={nn.Linear})
            opt = optim.AdamW(model.parameters(), lr=1e-2)
        result["losses"] = np.array(train(model, opt, r, n))
        result.update({f"param.{k}": v for k, v in model.state_dict().items()})
    elif name == "no_sync":
        model = DistributedDataParallel(mlp())
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        for s in range(STEPS):  # two half-batches accumulated per step, one reduction
            x, y = data(s)
            xs, ys = shard(x, r, n), shard(y, r, n)
            opt.zero_grad()
            with model.no_sync():
                (
                    nn.functional.cross_entropy(model(Tensor(xs[: len(xs) // 2])), ys[: len(ys) // 2]) * 0.5
                ).backward()
            (
                nn.functional.cross_entropy(model(Tensor(xs[len(xs) // 2 :])), ys[len(ys) // 2 :]) * 0.5
            ).backward()
            opt.step()
        result.update({f"param.{k}": v for k, v in model.state_dict().items()})
    elif name == "tensor_parallel":
        result.update(_tensor_parallel(world))
    elif name == "tp_dp":
        grid = comm.ProcessGrid(dp=n // 2, tp=2)
        ag.manual_seed(0)
        fc1, fc2 = nn.Linear(D_IN, D_HIDDEN), nn.Linear(D_HIDDEN, D_IN)
        model = DistributedDataParallel(
            ParallelMLP.from_linears(fc1, fc2, process_group=grid.tp), process_group=grid.dp
        )
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        for s in range(STEPS):
            x, _ = data(s)
            loss = (model(Tensor(shard(x, grid.dp_rank, grid.dp_size))) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        result.update({f"param.{k}": v for k, v in model.module.state_dict().items()})
        result["tp_rank"] = np.array(grid.tp_rank)
    elif name == "checkpoint":
        directory = os.path.join(out_dir, "ckpt")
        model = FullyShardedDataParallel(mlp(), ShardingStrategy.FULL_SHARD, auto_wrap_policy={nn.Linear})
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        train(model, opt, r, n, steps=10)
        model.save_sharded(directory, opt)
        result["losses_after"] = np.array(train(model, opt, r, n, steps=10, first=10))
    elif name == "resume":  # one process continues from the checkpoint written by N ranks
        model = FullyShardedDataParallel(mlp(), ShardingStrategy.FULL_SHARD, auto_wrap_policy={nn.Linear})
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        model.load_sharded(os.path.join(out_dir, "ckpt"), opt)
        result["losses_after"] = np.array(train(model, opt, r, n, steps=10, first=10))
    elif name == "mismatch":
        ag.manual_seed(0)
        model = nn.Linear(4 + r, 3)
        try:
            DistributedDataParallel(model)
            result["error"] = np.array("no error")
        except ValueError as e:
            result["error"] = np.array(str(e))
    elif name == "tp_indivisible":  # every layer whose split the world size does not divide
        attempts = {
            "column": lambda: ColumnParallelLinear(4, 3),
            "row": lambda: RowParallelLinear(3, 4),
            "mlp": lambda: ParallelMLP(4, 5),
            "attention": lambda: ParallelMultiheadAttention(9, 3),
        }
        for key, build in attempts.items():
            try:
                build()
                result[key] = np.array("no error")
            except ValueError as e:
                result[key] = np.array(str(e))
        world.barrier()  # every rank got here: the refusal took no collective that could hang
    elif name in ("memory_ddp", "memory_zero1", "memory_zero2", "memory_zero3"):
        result["state_bytes"] = np.array(_state_bytes(name.split("_")[1], world))
    elif name in ("gpt_1rank", "gpt_ddp", "gpt_zero3", "gpt_alone"):
        result["tokens_per_s"] = np.array(_gpt_speed(name.split("_")[1], world))
    elif name == "char_gpt":  # one process: plain; N ranks: DDP, then ZeRO-3
        for kind in ("plain",) if n == 1 else ("ddp", "zero3"):
            result.update({f"{kind}.{k}": v for k, v in _char_gpt(kind, world).items()})
    else:
        raise ValueError(f"unknown scenario {name!r}")
    np.savez(os.path.join(out_dir, f"{name}-rank{r}.npz"), **result)


def _tensor_parallel(world) -> dict[str, np.ndarray]:
    """Each rank builds the unsharded blocks and its shard of them; the differences of outputs
    and gradients (input and every weight slice) are returned."""
    r, n = world.rank, world.size
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, D_HIDDEN)).astype(np.float32)
    out = {}
    ag.manual_seed(1)
    fc1, fc2 = nn.Linear(D_HIDDEN, 4 * D_HIDDEN), nn.Linear(4 * D_HIDDEN, D_HIDDEN)
    mha = nn.MultiheadAttention(D_HIDDEN, 4, batch_first=True)
    pairs = {
        "mlp": (lambda t: fc2(fc1(t).gelu()), ParallelMLP.from_linears(fc1, fc2)),
        "attention": (
            lambda t: mha(t, is_causal=True)[0],
            ParallelMultiheadAttention.from_multihead_attention(mha),
        ),
    }
    for name, (full, par) in pairs.items():
        xf, xp = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
        yf = full(xf)
        yp = par(xp, is_causal=True) if name == "attention" else par(xp)
        gy = np.cos(yf.data)
        yf.backward(gy)
        yp.backward(gy)
        out[f"{name}.forward"] = np.abs(yf.data - yp.data).max() / np.abs(yf.data).max()
        out[f"{name}.grad_x"] = np.abs(xf.grad - xp.grad).max() / np.abs(xf.grad).max()
        if name == "mlp":
            h = fc1.weight.shape[0] // n
            ref = fc1.weight.grad[r * h : (r + 1) * h]
            out["mlp.grad_w1"] = np.abs(ref - par.fc1.weight.grad).max() / np.abs(ref).max()
            ref = fc2.weight.grad[:, r * h : (r + 1) * h]
            out["mlp.grad_w2"] = np.abs(ref - par.fc2.weight.grad).max() / np.abs(ref).max()
        for p in [*fc1.parameters(), *fc2.parameters(), *mha.parameters()]:
            p.grad = None
    return out


def _state_bytes(kind: str, world) -> int:
    """Bytes still allocated after a training step (parameters, gradients, optimizer state and
    whatever the wrapper keeps), measured by tracemalloc, on a model large enough to dominate."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ag.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(256, 256) for _ in range(8)])
    if kind == "ddp":
        model = DistributedDataParallel(model)
        opt = optim.AdamW(model.parameters(), lr=1e-3)
    elif kind == "zero1":
        model = DistributedDataParallel(model)
        opt = ZeroRedundancyOptimizer(model.parameters(), optim.AdamW, lr=1e-3)
    else:
        strategy = ShardingStrategy.FULL_SHARD if kind == "zero3" else ShardingStrategy.SHARD_GRAD_OP
        model = FullyShardedDataParallel(model, strategy, auto_wrap_policy={nn.Linear})
        opt = optim.AdamW(model.parameters(), lr=1e-3)
    x = np.random.default_rng(0).standard_normal((8, 256)).astype(np.float32)
    for _ in range(2):
        loss = (model(Tensor(x)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        del loss
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return held


def _gpt_speed(kind: str, world, steps: int = 12) -> float:
    """Tokens per second of GPT training steps (batch 8 x 64 tokens per rank). ``alone``: every
    rank trains its own model with no communication and no barrier, the most N ranks could do
    on this machine now (the ceiling the others are measured against)."""
    ag.manual_seed(0)
    model = nn.GPT(vocab_size=96, d_model=128, n_heads=4, n_layers=2, max_len=64)
    if kind == "ddp":
        model = DistributedDataParallel(model)
    elif kind == "zero3":
        model = FullyShardedDataParallel(model, auto_wrap_policy={nn.TransformerEncoderLayer})
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(world.rank)
    idx = rng.integers(0, 96, (8, 65))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        logits = model(idx[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, 96), idx[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind != "alone":
            world.barrier()
        times.append(time.perf_counter() - t0)
    return 8 * 64 * world.size / float(np.median(times[1:]))


# The 5.4 char-level GPT (nn.zoo.train_char_gpt's model, data, schedule and clipping) with a
# global batch of CHAR_BATCH x CHAR_BLOCK bytes, each rank taking its share of every batch.
CHAR_STEPS, CHAR_BATCH, CHAR_BLOCK, CHAR_D, CHAR_LAYERS, CHAR_LR = 40, 32, 64, 64, 2, 3e-3
CHAR_MEMORY_STEPS = 2  # steps under tracemalloc before the bytes held are read


def _char_gpt(kind: str, world) -> dict[str, np.ndarray]:
    """``plain`` (one process), ``ddp`` or ``zero3``: the loss of the whole batch at every step
    (the ranks' losses averaged), tokens/s (the whole batch over the median step, steps after
    the memory reading), and the bytes this rank holds after CHAR_MEMORY_STEPS steps (parameters,
    gradients, optimizer state and what the wrapper keeps, by tracemalloc)."""
    from ..nn.zoo import char_data
    from ..train import clip_grad_norm_

    r, n = world.rank, world.size
    data = char_data()
    train_ = data[: int(0.9 * len(data))]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ag.manual_seed(0)
    model = nn.GPT(256, CHAR_D, 4, CHAR_LAYERS, max_len=CHAR_BLOCK)
    if kind == "ddp":
        model = DistributedDataParallel(model)
    elif kind == "zero3":
        model = FullyShardedDataParallel(
            model, ShardingStrategy.FULL_SHARD, auto_wrap_policy={nn.TransformerEncoderLayer}
        )
    opt = optim.AdamW(model.parameters(), lr=CHAR_LR, weight_decay=0.01)
    warm = max(CHAR_STEPS // 10, 1)
    sched = optim.lr_scheduler.SequentialLR(
        opt,
        [
            optim.lr_scheduler.LinearLR(opt, 0.1, 1.0, warm),
            optim.lr_scheduler.CosineAnnealingLR(opt, CHAR_STEPS),
        ],
        milestones=[warm],
    )
    rng = np.random.default_rng(0)
    losses, times, held = np.empty(CHAR_STEPS), [], 0
    for step in range(CHAR_STEPS):
        if step == CHAR_MEMORY_STEPS:
            held = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.stop()
        starts = shard(rng.integers(0, len(train_) - CHAR_BLOCK - 1, CHAR_BATCH), r, n)
        xb = np.stack([train_[s : s + CHAR_BLOCK] for s in starts])
        yb = np.stack([train_[s + 1 : s + CHAR_BLOCK + 1] for s in starts])
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(model(xb).reshape(-1, 256), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if kind == "zero3":
            model.clip_grad_norm_(1.0)
        else:
            clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        world.barrier()
        times.append(time.perf_counter() - t0)
        losses[step] = loss.item()
        del loss
    world.all_reduce(losses, "mean")
    return {
        "losses": losses,
        "tokens_per_s": np.array(CHAR_BATCH * CHAR_BLOCK / float(np.median(times[CHAR_MEMORY_STEPS:]))),
        "state_bytes": np.array(held),
    }


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
