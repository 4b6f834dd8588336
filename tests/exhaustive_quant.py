"""Every float32 bit pattern (all 2^32) through to_fp8 (both formats, both modes) and to_bf16.

Two oracles, one-off runs (minutes), not part of the pytest suite:

* the default: the dispatched (SIMD) path against the scalar reference in C++ (seconds per
  format); the reference itself is checked against ml_dtypes by tests/test_quant.py (random bit
  patterns, dense sweeps around every value and midpoint, the subnormal ranges);
* ``--ml-dtypes``: the dispatched path against ml_dtypes directly (slow: ml_dtypes casts at
  ~0.1 GB/s).

    PYTHONPATH=python python tests/exhaustive_quant.py [--isa avx2] [--ml-dtypes]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ml_dtypes
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from grimoire import _core  # noqa: E402
from grimoire.kernels import to_bf16, to_fp8  # noqa: E402
from test_quant import ML, fp8_saturating_oracle, ml_cast  # noqa: E402


def against_reference() -> int:
    bad = 0
    for what, saturate in (("e4m3", False), ("e4m3", True), ("e5m2", False), ("e5m2", True), ("bf16", False)):
        start = time.perf_counter()
        n = _core._exhaustive_check(what, saturate)
        print(f"{what:5} saturate={saturate!s:5}: {n} of 2^32 differ from the scalar reference "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        bad += n
    return bad


def against_ml_dtypes(chunk_bits: int) -> int:
    step = 1 << chunk_bits
    bad = 0
    for start in range(0, 1 << 32, step):
        x = np.arange(start, start + step, dtype=np.uint64).astype(np.uint32).view(np.float32)
        for fmt in ("e4m3", "e5m2"):
            bad += int(np.count_nonzero(to_fp8(x, fmt, saturate=False) != ml_cast(x, ML[fmt])))
            bad += int(np.count_nonzero(to_fp8(x, fmt) != fp8_saturating_oracle(x, fmt)))
        bad += int(np.count_nonzero(to_bf16(x) != ml_cast(x, ml_dtypes.bfloat16)))
    print(f"{bad} disagreements with ml_dtypes over all 2^32 float32 patterns", flush=True)
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isa", default=None, help="limit the kernels to this path (default: the best)")
    parser.add_argument("--ml-dtypes", action="store_true", help="compare with ml_dtypes (slow)")
    parser.add_argument("--chunk-bits", type=int, default=24)
    args = parser.parse_args()
    if args.isa:
        _core.set_isa(args.isa)
    print(f"isa {_core.active_isa()}", flush=True)
    bad = against_ml_dtypes(args.chunk_bits) if args.ml_dtypes else against_reference()
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
