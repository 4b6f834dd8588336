"""Tour, primer 6.5.5: training beyond one process (DDP, ZeRO/FSDP, tensor parallelism) on MPI."""

from __future__ import annotations

import numpy as np

from . import Tour, section


@section(
    "6.5.5.1",
    "Distributed training: the char-level GPT under DDP and ZeRO-3 on 2 ranks",
    "grimoire.distributed",
)
def distributed(t: Tour) -> None:
    from ..distributed import _runs
    from ..distributed import _scenarios as S

    reason = _runs.available()
    if reason:
        t.say(f"skipped: {reason} (pip install 'ml-grimoire[distributed]')")
        return
    one = _runs.on_ranks("char_gpt", 1)[0]
    two = _runs.on_ranks("char_gpt", 2)
    t.say(
        f"the 5.4 char-level GPT (d {S.CHAR_D}, {S.CHAR_LAYERS} layers) on the pydoc text, "
        f"{S.CHAR_STEPS} AdamW steps of {S.CHAR_BATCH} x {S.CHAR_BLOCK} bytes: one process, and 2 ranks "
        "each training on half of every batch; one thread per process"
    )
    runs = {"1 process": one["plain.losses"], "DDP": two[0]["ddp.losses"], "ZeRO-3": two[0]["zero3.losses"]}
    marks = [0, S.CHAR_STEPS // 4, S.CHAR_STEPS // 2, S.CHAR_STEPS - 1]
    for name, losses in runs.items():
        t.show(
            f"loss at steps {', '.join(str(m + 1) for m in marks)}: {name}",
            ", ".join(f"{losses[m]:.4f}" for m in marks),
        )
    gap = max(float(np.abs(v - runs["1 process"]).max()) for v in runs.values())
    t.show("largest loss difference from one process over all steps (DDP, ZeRO-3)", f"{gap:.1e}")
    ran = {"plain": one, "ddp": two[0], "zero3": two[0]}
    speed = {k: float(r[f"{k}.tokens_per_s"]) for k, r in ran.items()}
    t.show(
        "tokens/s (median step): 1 process / 2 ranks DDP / 2 ranks ZeRO-3",
        f"{speed['plain']:.0f} / {speed['ddp']:.0f} ({speed['ddp'] / speed['plain']:.2f}x) / "
        f"{speed['zero3']:.0f} ({speed['zero3'] / speed['plain']:.2f}x)",
    )
    mem = {k: max(int(r[f"{k}.state_bytes"]) for r in two) for k in ("ddp", "zero3")}
    mem["plain"] = int(one["plain.state_bytes"])
    t.show(
        "bytes a rank holds between steps (parameters, gradients, AdamW state): 1 process / DDP / ZeRO-3",
        f"{mem['plain'] / 2**20:.2f} / {mem['ddp'] / 2**20:.2f} / {mem['zero3'] / 2**20:.2f} MiB "
        f"(ZeRO-3 {mem['zero3'] / mem['ddp']:.2f}x of DDP)",
    )
    tp = _runs.on_ranks("tensor_parallel", 2)[0]
    t.show(
        "tensor-parallel MLP and attention vs unsharded (max relative error, forward / grad x)",
        f"MLP {float(tp['mlp.forward']):.1e} / {float(tp['mlp.grad_x']):.1e}, "
        f"attention {float(tp['attention.forward']):.1e} / {float(tp['attention.grad_x']):.1e}",
    )
