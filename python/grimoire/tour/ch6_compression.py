"""Tour, primer 6.2: model compression (quantisation, low-precision formats, pruning, low rank)."""

from __future__ import annotations

import numpy as np

from ..kernels import (
    dequantize_int8,
    from_bf16,
    from_fp8,
    gemm_int8,
    linear_int8,
    quantize_int8,
    to_bf16,
    to_fp8,
)
from . import Tour, section


def _rel(approx: np.ndarray, exact: np.ndarray) -> float:
    """Relative Frobenius error ||approx - exact|| / ||exact||."""
    exact64 = exact.astype(np.float64)
    return float(np.linalg.norm(approx.astype(np.float64) - exact64) / np.linalg.norm(exact64))


def _weight(rng: np.random.Generator, n: int = 256) -> np.ndarray:
    """A stand-in for a trained layer's weight: a decaying spectrum (most of the energy in a few
    directions, as in trained networks), rows of different scale, plus small noise."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = 1.0 / (1.0 + np.arange(n)) ** 1.2
    w = (u * s) @ v.T
    w *= rng.uniform(0.3, 3.0, (n, 1))  # output channels with different ranges
    w += 2e-4 * rng.standard_normal((n, n))
    return (w / np.abs(w).max()).astype(np.float32)


@section("6.2", "Model compression", "grimoire.kernels.quant (int8, FP8, bf16), numpy (pruning, SVD)")
def model_compression(t: Tour) -> None:
    rng = np.random.default_rng(0)
    w = _weight(rng)
    n = w.shape[0]
    x = rng.standard_normal((64, n)).astype(np.float32)
    y = x @ w.T
    t.say(f"a {n}x{n} float32 weight W ({w.nbytes // 1024} KiB), a batch x of 64 inputs, y = x W^T")

    # ---- quantisation: fewer bits per weight -------------------------------------------------
    t.say("", "Quantization: store each weight in fewer bits (error = ||W' - W|| / ||W||)")
    rows = []
    q, s, z = quantize_int8(w)
    rows.append(("int8, one scale for the tensor", q.nbytes + 8, _rel(dequantize_int8(q, s, z), w)))
    qc, sc, zc = quantize_int8(w, axis=0)
    rows.append(("int8, one scale per output row", qc.nbytes + sc.nbytes + zc.nbytes,
                 _rel(dequantize_int8(qc, sc, zc, axis=0), w)))
    for fmt, top in (("e4m3", 448.0), ("e5m2", 57344.0)):
        scale = np.float32(np.abs(w).max() / top)  # map the largest weight to the format's max
        codes = to_fp8(w / scale, fmt)
        rows.append((f"FP8 {fmt.upper()}, scaled to its max {top:g}", codes.nbytes + 4,
                     _rel(from_fp8(codes, fmt) * scale, w)))
    b16 = to_bf16(w)
    rows.append(("bf16 (float32 with 8 mantissa bits)", b16.nbytes, _rel(from_bf16(b16), w)))
    for name, nbytes, err in rows:
        t.say(f"  {name:<40} {nbytes / 1024:7.0f} KiB ({w.nbytes / nbytes:3.1f}x smaller)  error {err:.2e}")
    t.say("int8 spends its 256 levels evenly over [-max, max]; FP8 spends them logarithmically "
          "(relative precision), bf16 keeps float32's range with 3 significant digits.")

    # ---- an int8 layer computes in integers ------------------------------------------------------
    y8 = linear_int8(x, qc, sc)
    t.say("", "An int8 linear layer: x quantised per row on the fly, int32 products (gemm_int8), "
          "scales applied at the end:")
    t.show("  relative error of y = linear_int8(x, W_q, scales) against float32", f"{_rel(y8, y):.2e}")
    a = np.array([[-128, 127], [5, -3]], dtype=np.int8)
    t.show("  gemm_int8 is exact: [[-128, 127], [5, -3]] @ itself (int32)", gemm_int8(a, a))

    # ---- pruning: drop the smallest weights -------------------------------------------------------
    t.say("", "Pruning by magnitude: zero the weights with the smallest |w|")
    mags = np.sort(np.abs(w).ravel())
    for sparsity in (0.5, 0.8, 0.9, 0.95, 0.99):
        cut = mags[int(sparsity * mags.size) - 1]
        pruned = np.where(np.abs(w) > cut, w, np.float32(0))
        t.say(f"  sparsity {sparsity:4.0%}: {np.count_nonzero(pruned):7d} weights left, "
              f"error of W {_rel(pruned, w):.3f}, of y {_rel(x @ pruned.T, y):.3f}")

    # ---- low-rank factorisation ---------------------------------------------------------------
    t.say("", "Low-rank factorization: W ~ U_r S_r V_r^T (truncated SVD), 2 n r numbers instead of n^2")
    u, sv, vt = np.linalg.svd(w.astype(np.float64))
    energy = np.cumsum(sv**2) / np.sum(sv**2)
    for r in (4, 16, 32, 64):
        wr = (u[:, :r] * sv[:r]) @ vt[:r]
        t.say(f"  rank {r:3d}: {2 * n * r / n**2:5.1%} of the parameters, {energy[r - 1]:6.1%} of the "
              f"energy, error of W {_rel(wr, w):.3f}")
    t.say("This W keeps its energy in a few directions but spreads it over every entry: low rank "
          "compresses it far better than pruning, which pays off when many weights are near zero.")
    t.say("6.2.1 applies all of this to a trained digits CNN with grimoire.compress.")


@section("6.2.1", "Compressing the digits CNN", "grimoire.compress")
def compress_digits(t: Tour) -> None:
    import copy
    import time

    from .. import _core, compress, get_num_threads, optim, set_num_threads
    from .. import autograd as ag
    from ..nn import CrossEntropyLoss, Flatten, Linear, ReLU, Sequential, zoo
    from ..train import fit

    epochs = 2 if t.quick else 4
    Xtr, ytr, Xte, yte = zoo.digits_split()
    base = zoo.train_digits_cnn(epochs=epochs, width=16)["model"]

    def report(model, X, y):
        # One thread and CPU time, the median of 20 passes (as the int8 bar is measured): on a
        # shared machine, wall time would mostly time the neighbours.
        pinned, threads = _core.num_threads_pinned(), get_num_threads()
        set_num_threads(1)
        try:
            return compress.report(model, X, y, repeats=20, clock=time.process_time)
        finally:
            set_num_threads(threads if pinned else None)

    rows = [("float32 CNN", report(base, Xte, yte))]

    def fine_tune(model, n_epochs=1):
        opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        fit(model, CrossEntropyLoss(), opt, Xtr, ytr, epochs=n_epochs, batch_size=64, verbose=False)

    pruned = copy.deepcopy(base)
    compress.prune_iteratively(pruned, 0.9, 3, fine_tune, scope="global")
    compress.remove(pruned)
    rows.append(
        (
            f"pruned {compress.sparsity(pruned)['total']:.0%} (global, 3 rounds)",
            report(pruned, Xte, yte),
        )
    )
    factored = copy.deepcopy(base)
    ranks = compress.low_rank(factored, 0.9)
    fine_tune(factored)
    rank_text = ", ".join(f"{name}:{r}" for name, r in ranks.items())
    rows.append((f"low rank, 90% energy (ranks {rank_text}), 1 epoch", report(factored, Xte, yte)))
    rows.append(
        (
            "int8 weights + dynamic int8 activations",
            report(compress.quantize(base, "int8"), Xte, yte),
        )
    )
    rows.append(("FP8 E4M3 weights", report(compress.quantize(base, "fp8"), Xte, yte)))

    def student():
        ag.manual_seed(1)
        return Sequential(Flatten(), Linear(64, 32), ReLU(), Linear(32, 10))

    n_labels = 300
    scratch, distilled = student(), student()
    fit(
        scratch,
        CrossEntropyLoss(),
        optim.Adam(scratch.parameters(), lr=3e-3),
        Xtr[:n_labels],
        ytr[:n_labels],
        epochs=60,
        batch_size=32,
        verbose=False,
    )
    fit(
        distilled,
        compress.DistillationLoss(4.0, 0.9),
        optim.Adam(distilled.parameters(), lr=3e-3),
        Xtr[:n_labels],
        ytr[:n_labels],
        epochs=60,
        batch_size=32,
        verbose=False,
        teacher=base,
    )
    rows.append((f"MLP 64-32-10 from scratch ({n_labels} labels)", report(scratch, Xte, yte)))
    rows.append(("the same MLP distilled from the CNN (T=4)", report(distilled, Xte, yte)))
    t.say(f"{'method':<52} {'params':>8} {'nonzero':>8} {'KiB':>6} {'accuracy':>9} {'ms/360':>7}")
    for name, r in rows:
        t.say(
            f"{name:<52} {r['parameters']:8.0f} {r['nonzero']:8.0f} {r['bytes'] / 1024:6.0f} "
            f"{r['accuracy']:9.2%} {r['latency_ms']:7.1f}"
        )
    t.say(
        "Pruned weights are still stored densely (safetensors has no sparse format): pruning shrinks "
        "the count of non-zeros, int8/FP8 the bytes. The int8 model's Conv-BN-ReLU blocks are one "
        "conv2d_int8 each (BatchNorm folded into the weight, ReLU in the epilogue, the patches "
        "gathered from int8 codes in the core, the weight packed once for the VNNI/AVX2 GEMM); "
        "ms/360 is the median CPU time of 20 passes over the 360 test digits on one thread."
    )
