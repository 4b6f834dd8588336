"""``grimoire bench quant``: low-precision kernels beside float32 and their peers.

* gemm_int8 against grimoire's float32 GEMM (``grimoire.kernels.gemm``) and NumPy's BLAS sgemm
  on squares, in GOP/s (one multiply-add = 2 operations) and the int8 / float32 ratio.
* linear_int8 against PyTorch's dynamically quantised ``nn.Linear``
  (``torch.ao.quantization.quantize_dynamic``), both int8 with float32 in and out.
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

import numpy as np

from .. import _core
from ..kernels import gemm, gemm_int8, linear_int8, quantize_int8, to_bf16, to_fp8
from . import compare, table


def _gemm_rows(sizes: list[int], rng: np.random.Generator) -> list[list[object]]:
    rows = []
    for n in sizes:
        a8 = rng.integers(-128, 128, (n, n), dtype=np.int8)
        b8 = rng.integers(-128, 128, (n, n), dtype=np.int8)
        a32, b32 = a8.astype(np.float32), b8.astype(np.float32)
        repeats = 5 if n <= 1024 else 3
        t = compare({
            "int8": lambda a8=a8, b8=b8: gemm_int8(a8, b8),
            "f32": lambda a32=a32, b32=b32: gemm(a32, b32),
            "numpy": lambda a32=a32, b32=b32: a32 @ b32,
        }, repeats=repeats, min_time=0.0, warmup=1)
        ops = 2.0 * n**3
        rows.append([n, ops / t["int8"] / 1e9, ops / t["f32"] / 1e9, ops / t["numpy"] / 1e9,
                     t["f32"] / t["int8"], t["numpy"] / t["int8"]])
    return rows


def _linear_rows(m: int, k: int, n: int, rng: np.random.Generator) -> list[list[object]]:
    import torch

    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    w_q, w_s, _ = quantize_int8(w, axis=0)
    lin = torch.nn.Linear(k, n)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        lin.bias.copy_(torch.from_numpy(bias))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear},
                                                      dtype=torch.qint8)
    xt = torch.from_numpy(x)
    torch.set_num_threads(_core.get_num_threads())  # the same threads for both

    def torch_q():
        with torch.no_grad():
            return qlin(xt)

    t = compare({"grimoire": lambda: linear_int8(x, w_q, w_s, bias), "torch": torch_q},
                repeats=5, min_time=0.05)
    ops = 2.0 * m * k * n
    exact = x.astype(np.float64) @ w.T.astype(np.float64) + bias
    err_g = np.abs(linear_int8(x, w_q, w_s, bias) - exact).max()
    err_t = np.abs(torch_q().numpy() - exact).max()
    return [[f"({m}, {k}) x ({n}, {k})", ops / t["grimoire"] / 1e9, ops / t["torch"] / 1e9,
             t["torch"] / t["grimoire"], float(err_g), float(err_t)]]


def _convert_rows(n: int, rng: np.random.Generator) -> list[list[object]]:
    import ml_dtypes

    x = (rng.standard_normal(n) * 10).astype(np.float32)
    rows = []
    for name, ours, theirs in [
        ("to_fp8 e4m3", lambda: to_fp8(x, "e4m3"), lambda: x.astype(ml_dtypes.float8_e4m3fn)),
        ("to_fp8 e5m2", lambda: to_fp8(x, "e5m2"), lambda: x.astype(ml_dtypes.float8_e5m2)),
        ("to_bf16", lambda: to_bf16(x), lambda: x.astype(ml_dtypes.bfloat16)),
    ]:
        t = compare({"grimoire": ours, "ml_dtypes": theirs}, repeats=5, min_time=0.05)
        gb = x.nbytes / 1e9
        rows.append([name, gb / t["grimoire"], gb / t["ml_dtypes"], t["ml_dtypes"] / t["grimoire"]])
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench quant", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="add the 4096 x 4096 GEMM")
    parser.add_argument("--threads", type=int, default=None, help="grimoire threads (default: all)")
    parser.add_argument("--skip-gemm", action="store_true", help="only the linear layer and conversions")
    args = parser.parse_args(argv)
    if args.threads:
        _core.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    paths = _core.kernel_families()
    print(f"threads {_core.get_num_threads()}; gemm_int8 path: {paths['gemm_int8'][1]}, "
          f"gemm (float32) path: {paths['gemm'][1]}")
    if not args.skip_gemm:
        sizes = [1024, 2048] + ([4096] if args.large else [])
        print("\ngemm_int8 (int8 x int8 -> int32) vs float32 GEMM, square n x n, GOP/s"
              " (2 ops per multiply-add)")
        print(table(["n", "int8", "grimoire f32", "numpy f32", "int8 / grimoire f32", "int8 / numpy f32"],
                    _gemm_rows(sizes, rng)))
    print("\nlinear_int8 vs torch quantize_dynamic(nn.Linear), GOP/s; max |error| vs float64")
    print(table(["x @ W^T", "grimoire", "torch", "speedup", "err grimoire", "err torch"],
                _linear_rows(256, 4096, 4096, rng)))
    print("\nconversions of 16M float32, GB/s of float32 read")
    print(table(["op", "grimoire", "ml_dtypes", "speedup"], _convert_rows(1 << 24, rng)))
