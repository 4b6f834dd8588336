"""Every float32 bit pattern (all 2^32) through to_fp8 (both formats, both modes) and to_bf16,
against ml_dtypes. Minutes, not part of the pytest run:

    PYTHONPATH=python python tests/exhaustive_quant.py [--isa avx2] [--chunk-bits 24]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isa", default=None, help="limit the kernels to this path (default: the best)")
    parser.add_argument("--chunk-bits", type=int, default=24)
    args = parser.parse_args()
    if args.isa:
        _core.set_isa(args.isa)
    step = 1 << args.chunk_bits
    bad = 0
    start_time = time.perf_counter()
    for start in range(0, 1 << 32, step):
        x = np.arange(start, start + step, dtype=np.uint64).astype(np.uint32).view(np.float32)
        for fmt in ("e4m3", "e5m2"):
            ml = ml_cast(x, ML[fmt])
            bad += int(np.count_nonzero(to_fp8(x, fmt, saturate=False) != ml))
            bad += int(np.count_nonzero(to_fp8(x, fmt) != fp8_saturating_oracle(x, fmt)))
        bad += int(np.count_nonzero(to_bf16(x) != ml_cast(x, ml_dtypes.bfloat16)))
        if bad:
            print(f"mismatches in [{start:#010x}, {start + step:#010x})", flush=True)
            return 1
    print(f"all 2^32 float32 patterns agree with ml_dtypes (isa {_core.active_isa()}, "
          f"{time.perf_counter() - start_time:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
