"""Tour, primer 6.5.5: training beyond one process (DDP, ZeRO/FSDP, tensor parallelism) on MPI."""

from __future__ import annotations

from . import Tour, section


@section(
    "6.5.5.1", "Distributed training: DDP, ZeRO-3 and tensor parallelism on 2 ranks", "grimoire.distributed"
)
def distributed(t: Tour) -> None:
    from ..distributed import _runs

    reason = _runs.available()
    if reason:
        t.say(f"skipped: {reason} (pip install 'ml-grimoire[distributed]')")
        return
    ddp, zero3 = _runs.on_ranks("ddp", 2), _runs.on_ranks("zero3", 2)
    t.say("the same seeded MLP trained 20 AdamW steps on 2 ranks (each half of every batch)")
    t.show("final loss per rank, DDP", " / ".join(f"{r['losses'][-1]:.4f}" for r in ddp))
    t.show("final loss per rank, ZeRO-3", " / ".join(f"{r['losses'][-1]:.4f}" for r in zero3))
    mem = {k: max(int(r["state_bytes"]) for r in _runs.on_ranks(f"memory_{k}", 2)) for k in ("ddp", "zero3")}
    t.show(
        "bytes a rank keeps between steps (8 x Linear 256): DDP / ZeRO-3",
        f"{mem['ddp'] / 2**20:.2f} MiB / {mem['zero3'] / 2**20:.2f} MiB ({mem['zero3'] / mem['ddp']:.2f}x)",
    )
    one = float(_runs.on_ranks("gpt_1rank", 1)[0]["tokens_per_s"])
    two = float(_runs.on_ranks("gpt_ddp", 2)[0]["tokens_per_s"])
    t.show(
        "char-level GPT step, tokens/s: 1 rank / 2 ranks DDP (one thread each)",
        f"{one:.0f} / {two:.0f} ({two / one:.2f}x)",
    )
    tp = _runs.on_ranks("tensor_parallel", 2)[0]
    t.show(
        "tensor-parallel MLP and attention vs unsharded (max relative error, forward / grad x)",
        f"MLP {float(tp['mlp.forward']):.1e} / {float(tp['mlp.grad_x']):.1e}, "
        f"attention {float(tp['attention.forward']):.1e} / {float(tp['attention.grad_x']):.1e}",
    )
