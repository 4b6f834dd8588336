"""``grimoire bench linalg``: pairwise distances vs SciPy's cdist and scikit-learn, SVD and
symmetric eig vs numpy.linalg (LAPACK), timed interleaved in one process."""

from __future__ import annotations

import argparse

import numpy as np

from . import compare, table


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="grimoire bench linalg")
    ap.add_argument("--n", type=int, default=10000, help="rows of X and Y for the distances")
    ap.add_argument("--d", type=int, default=128, help="features")
    ap.add_argument("--eig-n", type=int, default=512, help="matrix size for svd/eigh")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed calls first (0 saves minutes at 10k on a busy machine)")
    ap.add_argument("--skip-distances", action="store_true")
    args = ap.parse_args(argv)

    from scipy.spatial.distance import cdist
    from sklearn.metrics import pairwise_distances as sk_pairwise

    from grimoire import linalg

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d)).astype(np.float32)
    y = rng.standard_normal((args.n, args.d)).astype(np.float32)
    flops = 2.0 * args.n * args.n * args.d
    rows = []
    for metric in () if args.skip_distances else ("euclidean", "cosine"):
        times = compare({
            "grimoire": lambda m=metric: linalg.pairwise_distances(x, y, m),
            "scipy cdist": lambda m=metric: cdist(x, y, m),
            "sklearn": lambda m=metric: sk_pairwise(x, y, metric=m),
        }, repeats=args.repeats, min_time=0.0, warmup=args.warmup)
        for name, sec in times.items():
            rows.append([f"{metric} {args.n}x{args.n}x{args.d} f32", name, sec * 1e3, flops / sec / 1e9,
                         times[name] / times["grimoire"]])
    n = args.eig_n
    a = rng.standard_normal((n, n))
    s = a + a.T
    for label, ours, peer in [
        (f"svd {n}x{n} f64", lambda: linalg.svd(a), lambda: np.linalg.svd(a)),
        (f"eigh {n}x{n} f64", lambda: linalg.eigh(s), lambda: np.linalg.eigh(s)),
    ]:
        times = compare({"grimoire": ours, "numpy.linalg": peer}, repeats=max(args.repeats, 3), min_time=0.0)
        for name, sec in times.items():
            rows.append([label, name, sec * 1e3, "", times[name] / times["grimoire"]])
    print(table(["problem", "contender", "median ms", "GFLOP/s (2nmd)", "time / grimoire's"], rows))
    print("time / grimoire's > 1 means grimoire is faster. Single shared machine: ratios, not absolutes.")
