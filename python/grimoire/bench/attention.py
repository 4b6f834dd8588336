"""``grimoire bench attention``: the tiled attention kernels beside PyTorch's
``scaled_dot_product_attention`` on the CPU, same thread count, each in its own process, alternating.

Rows: (B=1, H=8, d=64) at each sequence length, causal and not, forward and forward+backward;
then the decode step (q_len 1 against a k_len 4096 cache). Ratio = median over rounds of
torch time / grimoire time (above 1: grimoire is faster).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from grimoire import get_num_threads
from grimoire.bench import compare_in_processes, emit, isa_of
from grimoire.kernels import attention, attention_backward


def case(lib: str, b: int, h: int, lq: int, lk: int, d: int, causal: bool,
         backward: bool) -> Callable[[], object]:
    """One call of ``lib``'s attention (forward, or forward + backward) on Gaussian data (seed 0)."""
    rng = np.random.default_rng(0)
    q = rng.standard_normal((b, h, lq, d), dtype=np.float32)
    k = rng.standard_normal((b, h, lk, d), dtype=np.float32)
    v = rng.standard_normal((b, h, lk, d), dtype=np.float32)
    g = rng.standard_normal((b, h, lq, d), dtype=np.float32)
    if lib == "grimoire":
        if not backward:
            return lambda: attention(q, k, v, causal=causal)

        def ours():
            out, lse = attention(q, k, v, causal=causal)
            attention_backward(g, q, k, v, out, lse, causal=causal)

        return ours
    import torch

    tq, tk, tv, tg = (torch.from_numpy(x) for x in (q, k, v, g))
    sdpa = torch.nn.functional.scaled_dot_product_attention
    # torch's is_causal aligns top-left; with q_len == k_len (or q_len == 1 and no mask) it is ours.
    t_causal = causal and lq == lk
    if not backward:
        def theirs():
            with torch.no_grad():
                sdpa(tq, tk, tv, is_causal=t_causal)

        return theirs
    for x in (tq, tk, tv):
        x.requires_grad_(True)

    def theirs_backward():
        tq.grad = tk.grad = tv.grad = None
        sdpa(tq, tk, tv, is_causal=t_causal).backward(tg)

    return theirs_backward


def _flops(h: int, lq: int, lk: int, d: int, causal: bool, backward: bool) -> float:
    pairs = lq * lk if not causal else lq * lk - lq * (lq - 1) / 2 if lq <= lk else lk * (lk + 1) / 2
    return h * pairs * d * 2 * (2 + (5 if backward else 0))  # 2 products forward, 5 backward


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench attention", description=__doc__)
    ap.add_argument("--seq", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--decode-len", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    ap.add_argument("--no-backward", action="store_true", help="forward rows only")
    args = ap.parse_args(argv)
    threads = get_num_threads()
    h, d = args.heads, args.head_dim
    rows = []
    cases = [(s, s, c, bw) for s in args.seq for bw in ([False] if args.no_backward else [False, True])
             for c in (False, True)]
    cases.append((1, args.decode_len, False, False))
    for lq, lk, causal, backward in cases:
        kw = {"b": 1, "h": h, "lq": lq, "lk": lk, "d": d, "causal": causal, "backward": backward}
        work = {lib: (__name__, "case", {"lib": lib, **kw}) for lib in ("grimoire", "torch")}
        c = compare_in_processes(work, repeats=args.repeats, min_time=0.02)
        t = c.seconds
        flops = _flops(h, lq, lk, d, causal, backward)
        what = "decode" if lq == 1 else ("fwd+bwd" if backward else "fwd")
        rows.append([f"{lq}x{lk}", what, "yes" if causal else "no", t["grimoire"] * 1e3, t["torch"] * 1e3,
                     flops / t["grimoire"] / 1e9, flops / t["torch"] / 1e9, c.ratio["torch"]])
    header = ["q x k", "pass", "causal", "grimoire ms", "torch ms", "grimoire GF/s", "torch GF/s", "ratio"]
    emit(f"attention B=1 H={h} d={d}, {threads} threads for both, medians of {args.repeats} "
         "alternating rounds in separate processes", header, rows, isa=isa_of("attention"))
