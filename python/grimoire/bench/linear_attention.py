"""``grimoire bench linear_attention``: causal linear attention beside the FlashAttention kernel
over sequence length (one head, d = 64, float32, forward + backward).

Each (kernel, length) runs in a fresh process, the two kernels alternating, so the peak resident
memory it reports is that call's own: ``extra MiB`` is the peak RSS growth during the forward and
backward beyond the inputs and the output. ``--max-softmax T`` caps softmax's lengths (its time
is quadratic); ``--lengths`` sets the list.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from . import table

_CODE = """
import json, resource, time, numpy as np
from grimoire.kernels import attention, attention_backward, linear_attention, linear_attention_backward
n, d = N, 64
rng = np.random.default_rng(0)
q, k, v, g = (rng.standard_normal((1, 1, n, d)).astype(np.float32) for _ in range(4))
out = np.empty_like(q)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if KIND == "linear":
    out = linear_attention(q, k, v, causal=True)
    grads = linear_attention_backward(g, q, k, v, causal=True)
else:
    out, lse = attention(q, k, v, causal=True)
    grads = attention_backward(g, q, k, v, out, lse, causal=True)
dt = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([dt, (after - before) / 1024]))
"""


def _run(kind: str, n: int) -> tuple[float, float]:
    code = _CODE.replace("KIND", repr(kind)).replace("N, 64", f"{n}, 64")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="grimoire bench linear_attention")
    parser.add_argument("--lengths", type=int, nargs="+", default=[2048, 4096, 8192, 16384, 32768])
    parser.add_argument("--max-softmax", type=int, default=8192)
    args = parser.parse_args(argv)
    rows = []
    for n in args.lengths:
        for kind in ("linear", "softmax"):
            if kind == "softmax" and n > args.max_softmax:
                continue
            dt, extra = _run(kind, n)
            rows.append([n, kind, dt * 1e3, extra])
    print(table(["T", "kernel", "fwd+bwd ms", "extra MiB (peak RSS growth)"], rows))
