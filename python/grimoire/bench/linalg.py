"""``grimoire bench linalg``: pairwise distances vs SciPy's cdist and scikit-learn, SVD and
symmetric eig vs numpy.linalg (LAPACK); each contender in its own process, alternating
(:func:`grimoire.bench.compare_in_processes`), ratio = median of paired (peer time / grimoire time)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from . import compare_in_processes, emit, isa_of

_HERE = __name__


def distances(lib: str, n: int, d: int, metric: str) -> Callable[[], object]:
    """A call of ``lib``'s pairwise distances between two (n, d) float32 Gaussian samples."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal((n, d)).astype(np.float32)
    if lib == "grimoire":
        from grimoire import linalg

        return lambda: linalg.pairwise_distances(x, y, metric)
    if lib == "scipy cdist":
        from scipy.spatial.distance import cdist

        return lambda: cdist(x, y, metric)
    from sklearn.metrics import pairwise_distances

    return lambda: pairwise_distances(x, y, metric=metric)


def decomposition(lib: str, what: str, n: int) -> Callable[[], object]:
    """A call of ``lib``'s SVD (of a Gaussian (n, n)) or eigh (of its symmetric part), float64."""
    a = np.random.default_rng(0).standard_normal((n, n))
    if what == "eigh":
        a = a + a.T
    if lib == "grimoire":
        from grimoire import linalg

        return lambda: getattr(linalg, what)(a)
    return lambda: getattr(np.linalg, what)(a)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench linalg")
    ap.add_argument("--n", type=int, default=10000, help="rows of X and Y for the distances")
    ap.add_argument("--d", type=int, default=128, help="features")
    ap.add_argument("--eig-n", type=int, nargs="+", default=[512],
                    help="matrix sizes for svd/eigh (issue 10 reports 256 512 1024)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds (one process each)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed calls first in each process (0 saves minutes at 10k on a busy machine)")
    ap.add_argument("--skip-distances", action="store_true")
    args = ap.parse_args(argv)

    flops = 2.0 * args.n * args.n * args.d
    rows = []
    for metric in () if args.skip_distances else ("euclidean", "cosine"):
        c = compare_in_processes(
            {lib: (_HERE, "distances", {"lib": lib, "n": args.n, "d": args.d, "metric": metric})
             for lib in ("grimoire", "scipy cdist", "sklearn")},
            repeats=args.repeats, warmup=args.warmup, min_time=0.0)
        for peer in ("scipy cdist", "sklearn"):
            rows.append([f"{metric} {args.n}x{args.n}x{args.d} f32", peer, c.seconds["grimoire"] * 1e3,
                         c.seconds[peer] * 1e3, flops / c.seconds["grimoire"] / 1e9, c.ratio[peer]])
    for n in args.eig_n:
        for what in ("svd", "eigh"):
            work = {lib: (_HERE, "decomposition", {"lib": lib, "what": what, "n": n})
                    for lib in ("grimoire", "numpy")}
            c = compare_in_processes(work, repeats=args.repeats, warmup=1, min_time=0.0)
            rows.append([f"{what} {n}x{n} f64", "numpy.linalg", c.seconds["grimoire"] * 1e3,
                         c.seconds["numpy"] * 1e3, "", c.ratio["numpy"]])
    emit(f"linalg: each contender in its own process, {args.repeats} alternating rounds, medians",
         ["problem", "peer", "grimoire ms", "peer ms", "grimoire GFLOP/s (2nmd)", "ratio"], rows,
         isa=isa_of("linalg"))
    print("ratio: median over rounds of peer time / grimoire time (> 1: grimoire is faster)")
