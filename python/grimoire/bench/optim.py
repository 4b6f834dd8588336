"""``grimoire bench optim``: one fused adam_step beside torch.optim.Adam on the CPU (default
foreach, foreach=True, fused=True), same thread count, timed interleaved, on one tensor of
--params float32 parameters (default 50M).

GB/s counts the bytes one step must move: read param, grad, m, v and write param, m, v
(28 bytes a parameter). Ratio = torch time / grimoire time (above 1: grimoire is faster).
"""

from __future__ import annotations

import argparse

import numpy as np

from grimoire import get_num_threads
from grimoire.bench import compare, table
from grimoire.kernels import adam_step


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench optim", description=__doc__)
    ap.add_argument("--params", type=int, default=50_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(get_num_threads())
    n = args.params
    rng = np.random.default_rng(0)
    param = rng.standard_normal(n, dtype=np.float32)
    grad = rng.standard_normal(n, dtype=np.float32) * np.float32(1e-3)
    m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
    step = [0]

    def ours():
        step[0] += 1
        adam_step(param, grad, m, v, step=step[0], lr=1e-3, decoupled=False)

    contenders = {"adam_step grimoire": ours}
    for label, kw in (("torch Adam (default)", {}), ("torch Adam foreach=True", {"foreach": True}),
                      ("torch Adam fused=True", {"fused": True})):
        p = torch.nn.Parameter(torch.from_numpy(param.copy()))
        p.grad = torch.from_numpy(grad)
        try:
            opt = torch.optim.Adam([p], lr=1e-3, **kw)
            opt.step()
        except (RuntimeError, ValueError) as e:  # a variant this torch build lacks on the CPU
            print(f"{label}: unavailable ({e})")
            continue
        contenders[label] = opt.step
    with torch.no_grad():
        t = compare(contenders, repeats=args.repeats)
    fastest = min((s, k) for k, s in t.items() if k.startswith("torch"))
    rows = []
    for name, sec in t.items():
        ratio = "" if name.startswith("torch") else f"{fastest[0] / sec:.2f}x vs {fastest[1]}"
        rows.append([name, sec * 1e3, 28 * n / sec / 1e9, ratio])
    print(f"optim: Adam step on {n / 1e6:g}M float32 parameters, {get_num_threads()} threads "
          f"(torch {torch.get_num_threads()})")
    print(table(["optimizer", "median ms", "GB/s", "vs torch's fastest"], rows))
