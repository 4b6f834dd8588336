"""``grimoire bench quant``: low-precision kernels beside float32 and their peers.

* gemm_int8 against grimoire's float32 GEMM (``grimoire.kernels.gemm``) and NumPy's BLAS sgemm
  on squares, in GOP/s (one multiply-add = 2 operations) and the int8 / float32 ratio.
* linear_int8_packed (the weight packed once, as ``QuantizedLinear`` runs it) and linear_int8
  (packed per call) against PyTorch's dynamically quantised ``nn.Linear``
  (``torch.ao.quantization.quantize_dynamic``, weight prepacked by fbgemm), all int8 with
  float32 in and out.
* the digits CNN of tour 6.2.1 (Conv-BN-ReLU x2, max-pool, MLP) in float32 against
  ``compress.quantize(model, "int8")`` (``conv2d_int8`` with BatchNorm folded and ReLU fused,
  ``linear_int8_packed``): one forward pass over the 360 test digits, one thread; issue 13's bar
  is int8 >= 1.5x faster within 0.5 points of accuracy.
* the bf16 GEMM (linear_bf16, float32 operands rounded while packing; linear_bf16_packed, W
  packed once) against grimoire's float32 GEMM on the same squares, in GFLOP/s (the bf16 peak
  is 2x float32's where the CPU has AVX512_BF16), and the skinny 8 x 4096 x 4096 products of
  gemm_bf16 / gemm_fp8 / linear_bf16_packed beside float32.
* to_fp8 / to_bf16 against ``ml_dtypes`` casts (``x.astype(float8_e4m3fn)``), in GB/s of
  float32 read.

Arguments: ``--large`` adds the 4096 square; ``--threads N`` sets grimoire's threads.

Expectation: the AVX-512 VNNI path does 64 int8 multiply-adds per vpdpbusd against 16 float32
FMAs per vfmadd (4x); the AVX2 path widens to int16 and uses vpmaddwd (16 multiply-adds per
instruction, plus an add) against 8 per FMA: at most ~2x float32 in theory, less in practice.
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np

from .. import _core
from ..kernels import (
    gemm,
    gemm_bf16,
    gemm_fp8,
    gemm_int8,
    linear_bf16,
    linear_bf16_packed,
    linear_int8,
    linear_int8_packed,
    pack_bf16_weight,
    pack_int8_weight,
    quantize_int8,
    to_bf16,
    to_fp8,
)
from . import compare_in_processes, emit, isa_of


def square(lib: str, n: int) -> Callable[[], object]:
    """One n x n product of ``lib``: "int8" (gemm_int8 on int8 operands), "f32" (grimoire's gemm)
    or "numpy" (BLAS sgemm), on the same random int8 values (seed 0)."""
    rng = np.random.default_rng(0)
    a8 = rng.integers(-128, 128, (n, n), dtype=np.int8)
    b8 = rng.integers(-128, 128, (n, n), dtype=np.int8)
    if lib == "int8":
        return lambda: gemm_int8(a8, b8)
    a32, b32 = a8.astype(np.float32), b8.astype(np.float32)
    if lib == "f32":
        return lambda: gemm(a32, b32)
    return lambda: a32 @ b32


def bf16_product(lib: str, m: int, k: int, n: int) -> Callable[[], object]:
    """One (m, k) @ (k, n) product (seed 0, Gaussian) of ``lib``: "f32" (grimoire's gemm),
    "bf16" (linear_bf16 on float32 operands, rounded while packing), "bf16 packed"
    (linear_bf16_packed, W packed once), "bf16 codes" (gemm_bf16 on uint16 codes) or "fp8"
    (gemm_fp8 on e4m3 codes)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    w = np.ascontiguousarray(b.T)
    if lib == "f32":
        return lambda: gemm(a, b)
    if lib == "bf16":
        return lambda: linear_bf16(a, w)
    if lib == "bf16 packed":
        packed = pack_bf16_weight(w)
        return lambda: linear_bf16_packed(a, packed)
    if lib == "bf16 codes":
        ac, bc = to_bf16(a), to_bf16(b)
        return lambda: gemm_bf16(ac, bc)
    a8, b8 = to_fp8(a), to_fp8(b)
    return lambda: gemm_fp8(a8, b8)


def _bf16_rows(shapes: list[tuple[int, int, int]], libs: list[str], repeats: int) -> list[list[object]]:
    rows = []
    for m, k, n in shapes:
        shape = {"m": m, "k": k, "n": n}
        work = {lib: (__name__, "bf16_product", {"lib": lib, **shape}) for lib in ["f32", *libs]}
        c = compare_in_processes(work, repeats=repeats, min_time=0.0, reference="f32")
        flops = 2.0 * m * k * n
        f32 = flops / c.seconds["f32"] / 1e9
        for lib in libs:
            rows.append([f"{m} x {k} x {n}", lib, flops / c.seconds[lib] / 1e9, f32, c.paired("f32", lib)])
    return rows


def linear(lib: str, m: int, k: int, n: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """One int8 linear layer x (m, k) @ W (n, k)^T + bias of ``lib``: "grimoire" (W packed once,
    linear_int8_packed, what QuantizedLinear runs), "per call" (linear_int8, which packs W on
    every call) or "torch" (its dynamically quantised nn.Linear, whose weight is prepacked too);
    its report is max |error| against float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    exact = x.astype(np.float64) @ w.T.astype(np.float64) + bias
    if lib in ("grimoire", "per call"):
        w_q, w_s, _ = quantize_int8(w, axis=0)
        packed = pack_int8_weight(w_q)

        def ours():
            if lib == "grimoire":
                return linear_int8_packed(x, packed, w_s, bias)
            return linear_int8(x, w_q, w_s, bias)

        return ours, lambda: float(np.abs(ours() - exact).max())
    import torch

    torch.set_grad_enabled(False)
    lin = torch.nn.Linear(k, n)
    lin.weight.copy_(torch.from_numpy(w))
    lin.bias.copy_(torch.from_numpy(bias))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear},
                                                      dtype=torch.qint8)
    xt = torch.from_numpy(x)
    return (lambda: qlin(xt)), lambda: float(np.abs(qlin(xt).numpy() - exact).max())


def conversion(lib: str, what: str, n: int) -> Callable[[], object]:
    """One cast of n float32 (Gaussian x 10, seed 0) to ``what`` (e4m3, e5m2, bf16) by ``lib``."""
    x = (np.random.default_rng(0).standard_normal(n) * 10).astype(np.float32)
    if lib == "grimoire":
        return (lambda: to_bf16(x)) if what == "bf16" else (lambda: to_fp8(x, what))
    import ml_dtypes

    dtype = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2, "bf16": ml_dtypes.bfloat16}[what]
    return lambda: x.astype(dtype)


def digits_model(kind: str, path: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """The width-16 digits CNN with the weights saved at ``path``, in float32 or quantised to
    int8: a forward pass over the 360 test digits in batches of 256 (as compress.report), and its
    accuracy."""
    from .. import compress
    from ..autograd import Tensor, no_grad
    from ..nn import zoo

    _, _, X, y = zoo.digits_split()
    model = zoo.digits_cnn(16)
    model.load(path)
    model.eval()
    if kind == "int8":
        model = compress.quantize(model, "int8")

    def forward() -> np.ndarray:
        with no_grad():
            return np.concatenate([model(Tensor(X[i:i + 256])).data for i in range(0, len(X), 256)])

    return forward, lambda: float(np.mean(forward().argmax(axis=1) == y))


def _model_rows(repeats: int) -> list[list[object]]:
    import os
    import tempfile

    from ..nn import zoo

    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    try:
        zoo.train_digits_cnn(epochs=4, width=16)["model"].save(path)
        work = {kind: (__name__, "digits_model", {"kind": kind, "path": path})
                for kind in ("int8", "float32")}
        c = compare_in_processes(work, repeats=repeats, threads=1, warmup=3)
    finally:
        os.remove(path)
    t = c.seconds
    return [["360 digits, batches of 256", t["float32"] * 1e3, t["int8"] * 1e3, c.ratio["float32"],
             c.extra["float32"], c.extra["int8"]]]


def _gemm_rows(sizes: list[int], repeats: int) -> list[list[object]]:
    rows = []
    for n in sizes:
        work = {lib: (__name__, "square", {"lib": lib, "n": n}) for lib in ("int8", "f32", "numpy")}
        c = compare_in_processes(work, repeats=repeats, min_time=0.0)
        ops, t = 2.0 * n**3, c.seconds
        rows.append([n, ops / t["int8"] / 1e9, ops / t["f32"] / 1e9, ops / t["numpy"] / 1e9,
                     c.ratio["f32"], c.ratio["numpy"]])
    return rows


def _linear_rows(m: int, k: int, n: int, repeats: int) -> list[list[object]]:
    work = {lib: (__name__, "linear", {"lib": lib, "m": m, "k": k, "n": n})
            for lib in ("grimoire", "torch", "per call")}
    c = compare_in_processes(work, repeats=repeats)
    ops, t = 2.0 * m * k * n, c.seconds
    return [[f"({m}, {k}) x ({n}, {k})", ops / t["grimoire"] / 1e9, ops / t["torch"] / 1e9,
             c.ratio["torch"], ops / t["per call"] / 1e9, c.paired("torch", "per call"), c.extra["grimoire"],
             c.extra["torch"]]]


def _convert_rows(n: int, repeats: int) -> list[list[object]]:
    rows = []
    for name, what in [("to_fp8 e4m3", "e4m3"), ("to_fp8 e5m2", "e5m2"), ("to_bf16", "bf16")]:
        work = {lib: (__name__, "conversion", {"lib": lib, "what": what, "n": n})
                for lib in ("grimoire", "ml_dtypes")}
        c = compare_in_processes(work, repeats=repeats)
        gb = 4 * n / 1e9
        rows.append([name, gb / c.seconds["grimoire"], gb / c.seconds["ml_dtypes"], c.ratio["ml_dtypes"]])
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench quant", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="add the 4096 x 4096 GEMM")
    parser.add_argument("--small", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--threads", type=int, default=None, help="threads for all (default: grimoire's)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds, one process each")
    parser.add_argument("--skip-gemm", action="store_true", help="only the linear layer and conversions")
    args = parser.parse_args(argv)
    if args.threads:
        _core.set_num_threads(args.threads)
    r = args.repeats
    where = f"{_core.get_num_threads()} threads for all, {r} alternating rounds in separate processes"
    if not args.skip_gemm:
        sizes = [256] if args.small else [1024, 2048] + ([4096] if args.large else [])
        emit("gemm_int8 (int8 x int8 -> int32) vs float32 GEMM, square n x n, GOP/s (2 ops per "
             f"multiply-add); {where}; gemm (float32) path {isa_of('gemm')}",
             ["n", "int8", "grimoire f32", "numpy f32", "int8 / grimoire f32", "int8 / numpy f32"],
             _gemm_rows(sizes, r), isa=isa_of("gemm_int8"))
        squares = [(256, 256, 256)] if args.small else [(s, s, s) for s in (1024, 2048)]
        skinny = [(8, 512, 512)] if args.small else [(8, 4096, 4096)]
        emit(f"bf16 GEMM (bf16 products, float32 sums) vs grimoire's float32 GEMM, GFLOP/s; {where}",
             ["m x k x n", "op", "GFLOP/s", "f32 GFLOP/s", "bf16 / f32"],
             _bf16_rows(squares, ["bf16", "bf16 packed"], r)
             + _bf16_rows(skinny, ["bf16 codes", "fp8", "bf16 packed"], r),
             isa=isa_of("gemm_bf16"))
    m, k, n = (32, 512, 512) if args.small else (256, 4096, 4096)
    emit(f"linear_int8_packed (W packed once, as QuantizedLinear) and linear_int8 (W packed per call) vs "
         f"torch quantize_dynamic(nn.Linear), GOP/s; max |error| vs float64; {where}",
         ["x @ W^T", "grimoire", "torch", "speedup", "per call", "speedup per call", "err grimoire",
          "err torch"],
         _linear_rows(m, k, n, r),
         isa=isa_of("gemm_int8"))
    emit(f"digits CNN forward, float32 vs compress.quantize(int8), ms per pass; 1 thread, {max(r, 5)} "
         "alternating rounds in separate processes (speedup: median of the paired ratios)",
         ["input", "float32 ms", "int8 ms", "speedup", "acc float32", "acc int8"], _model_rows(max(r, 5)),
         isa=isa_of("gemm_int8"))
    count = 1 << (16 if args.small else 24)
    emit(f"conversions of {count} float32, GB/s of float32 read; {where}",
         ["op", "grimoire", "ml_dtypes", "speedup"], _convert_rows(count, r), isa=isa_of("fp8"))
