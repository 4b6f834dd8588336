"""``grimoire bench distributed``: tokens/s of the GPT training step on 1 and 2 ranks (one
thread each), and the memory a rank keeps between steps under DDP and ZeRO-1/2/3.

Each configuration is its own mpiexec run (separate processes), repeated ``--repeats`` times
alternating, and the medians are reported. The last speed row runs 2 ranks that never
communicate: on a machine shared with other work it shows how much of the gap to 2x is the
machine's, not the communication's.
"""

from __future__ import annotations

import argparse
import platform
import statistics

from ..distributed import _runs


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench distributed")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    reason = _runs.available()
    if reason:
        print(f"grimoire bench distributed: skipped ({reason})")
        return
    from .. import _core

    print(f"CPU: {platform.processor() or platform.machine()}, ISA {_core.active_isa()}, one thread per rank")
    runs = {
        "1 rank": ("gpt_1rank", 1),
        "2 ranks DDP": ("gpt_ddp", 2),
        "2 ranks ZeRO-3": ("gpt_zero3", 2),
        "2 ranks, no communication (this machine's ceiling)": ("gpt_alone", 2),
    }
    speed: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):  # alternate the contenders, each in its own processes
        for name, (scenario, ranks) in runs.items():
            speed[name].append(float(_runs.on_ranks(scenario, ranks)[0]["tokens_per_s"]))
    base = statistics.median(speed["1 rank"])
    print(f"{'GPT step (2 layers, d 128, 8 x 64 tokens per rank)':<52}{'tokens/s':>10}{'vs 1 rank':>11}")
    for name, values in speed.items():
        m = statistics.median(values)
        print(f"  {name:<50}{m:>10.0f}{m / base:>10.2f}x   (runs: {', '.join(f'{v:.0f}' for v in values)})")
    print(f"{'bytes a rank keeps after a step (8 x Linear 256)':<52}{'MiB':>10}{'vs DDP':>11}")
    ddp = None
    for kind in ("ddp", "zero1", "zero2", "zero3"):
        held = max(int(r["state_bytes"]) for r in _runs.on_ranks(f"memory_{kind}", 2))
        ddp = ddp or held
        label = "DDP" if kind == "ddp" else f"ZeRO-{kind[-1]}"
        print(f"  {label:<50}{held / 2**20:>10.2f}{held / ddp:>10.2f}x")
