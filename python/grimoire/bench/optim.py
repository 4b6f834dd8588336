"""``grimoire bench optim``: one fused adam_step beside torch.optim.Adam on the CPU (default
foreach, foreach=True, fused=True), same thread count, each in its own process, alternating, on
one tensor of --params float32 parameters (default 50M).

GB/s counts the bytes one step must move: read param, grad, m, v and write param, m, v
(28 bytes a parameter). Ratio = median over rounds of torch time / grimoire time (above 1:
grimoire is faster), against the torch variant with the lowest median.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from grimoire import get_num_threads
from grimoire.bench import compare_in_processes, emit, isa_of

TORCH_VARIANTS = {"torch Adam (default)": {}, "torch Adam foreach=True": {"foreach": True},
                  "torch Adam fused=True": {"fused": True}}


def step(name: str, params: int) -> Callable[[], object]:
    """One Adam step of contender ``name`` on ``params`` Gaussian float32 parameters (seed 0)."""
    rng = np.random.default_rng(0)
    param = rng.standard_normal(params, dtype=np.float32)
    grad = rng.standard_normal(params, dtype=np.float32) * np.float32(1e-3)
    if name == "adam_step grimoire":
        from grimoire.kernels import adam_step

        m, v = np.zeros(params, np.float32), np.zeros(params, np.float32)
        count = [0]

        def ours():
            count[0] += 1
            adam_step(param, grad, m, v, step=count[0], lr=1e-3, decoupled=False)

        return ours
    import torch

    torch.set_grad_enabled(False)
    p = torch.nn.Parameter(torch.from_numpy(param))
    p.grad = torch.from_numpy(grad)
    opt = torch.optim.Adam([p], lr=1e-3, **TORCH_VARIANTS[name])
    return opt.step


def _available(name: str) -> str | None:
    """None if this torch build runs the variant on the CPU, else why not."""
    import torch

    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.zeros(4)
    try:
        torch.optim.Adam([p], lr=1e-3, **TORCH_VARIANTS[name]).step()
    except (RuntimeError, ValueError) as e:
        return str(e)
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench optim", description=__doc__)
    ap.add_argument("--params", type=int, default=50_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    args = ap.parse_args(argv)
    n = args.params
    names = ["adam_step grimoire"]
    for label in TORCH_VARIANTS:
        why = _available(label)
        if why is None:
            names.append(label)
        else:
            print(f"{label}: unavailable ({why})")
    c = compare_in_processes({k: (__name__, "step", {"name": k, "params": n}) for k in names},
                             repeats=args.repeats)
    fastest = min((s, k) for k, s in c.seconds.items() if k.startswith("torch"))[1]
    rows = []
    for name, sec in c.seconds.items():
        ratio = "" if name.startswith("torch") else f"{c.ratio[fastest]:.2f}x vs {fastest}"
        rows.append([name, sec * 1e3, 28 * n / sec / 1e9, ratio])
    emit(f"optim: Adam step on {n / 1e6:g}M float32 parameters, {get_num_threads()} threads for all, "
         f"{args.repeats} alternating rounds in separate processes",
         ["optimizer", "median ms", "GB/s", "vs torch's fastest"], rows, isa=isa_of("optim"))
