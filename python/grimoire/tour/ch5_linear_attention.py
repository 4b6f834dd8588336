"""Tour, primer 5.4.5: linear attention beside softmax attention (time and memory over length)."""

from __future__ import annotations

import time

import numpy as np

from . import Tour, section


def _best_time(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _growth(ms: dict[int, float]) -> str:
    """'4x T: 3.9x time, ...; time ~ T^e' from the measured times, e the least-squares slope of
    log time over log T."""
    ns = sorted(ms)
    if len(ns) < 2:
        return "(one length only)"
    steps = ", ".join(f"{b // a}x T: {ms[b] / ms[a]:.1f}x time" for a, b in zip(ns, ns[1:], strict=False))
    slope = np.polyfit(np.log(ns), np.log([ms[n] for n in ns]), 1)[0]
    return f"{steps} (time ~ T^{slope:.2f})"


@section(
    "5.4.5.1", "Linear attention: cost linear in the sequence length", "grimoire.kernels.linear_attention"
)
def linear_attention_scaling(t: Tour) -> None:
    from grimoire.kernels import attention, linear_attention

    d = 64
    rng = np.random.default_rng(0)
    t.say(
        "Softmax attention scores every query against every key: time O(T^2 d). With a positive "
        "feature map phi(x) = elu(x) + 1 in place of exp(q.k), the key sums S = sum phi(k) v^T "
        "(d x d) and z = sum phi(k) are taken once (causal: as running prefix sums, an RNN), so "
        "time is O(T d^2) and the state is d x d per head whatever T is."
    )
    t.say(
        f"one head, d = {d}, causal, float32 (time: best of 3 up to 4k, one run beyond; "
        "'score matrix' is what a naive softmax "
        "would store, the FlashAttention kernel itself keeps O(T d))"
    )
    t.say(f"  {'T':>6} {'linear (ms)':>12} {'softmax (ms)':>13} {'linear state':>13} {'score matrix':>13}")
    lengths = (1024, 4096, 16384, 32768) if not t.quick else (1024, 4096)
    softmax_cap = 8192
    lin_ms: dict[int, float] = {}
    soft_ms: dict[int, float] = {}
    for n in lengths:
        q, k, v = (rng.standard_normal((1, 1, n, d)).astype(np.float32) for _ in range(3))
        lin_ms[n] = (
            _best_time(lambda q=q, k=k, v=v: linear_attention(q, k, v, causal=True), 3 if n <= 4096 else 1)
            * 1e3
        )
        soft = "-"
        if n <= softmax_cap:
            soft_ms[n] = _best_time(lambda q=q, k=k, v=v: attention(q, k, v, causal=True)) * 1e3
            soft = f"{soft_ms[n]:13.1f}"
        lin = lin_ms[n]
        t.say(f"  {n:6d} {lin:12.1f} {soft:>13} {d * d * 8 / 1024:10.0f} KiB {n * n * 4 / 2**20:9.0f} MiB")
    t.say(
        f"measured growth: linear attention {_growth(lin_ms)}; softmax {_growth(soft_ms)} "
        "(linear cost would be T^1, quadratic T^2; at short T fixed overheads flatten both). The "
        "price is expressiveness: phi(q).phi(k) is a smoother kernel than exp(q.k), so it cannot "
        "focus as sharply on one key."
    )
