"""The GEMM family (primer 2.2.1): ``C = alpha * op(A) @ op(B) + beta * C``."""

from __future__ import annotations

import numpy as np

from ._device import backend


def gemm(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
) -> np.ndarray:
    """General matrix multiply, ``C = alpha * op(A) @ op(B) + beta * C``.

    ``op(X)`` is ``X`` or ``X.T`` (``trans_a``/``trans_b``). Shapes: op(a) (m, k), op(b) (k, n),
    c (m, n); or batched, with a and/or b 3-D (batch, ., .) and c (batch, m, n), a 2-D operand
    broadcasting over the batch. a, b and c share one dtype, float32 or float64; any strides.

    ``c=None`` allocates the result (and ``beta`` is ignored). A given ``c`` is updated in place
    and returned; it must not share memory with ``a`` or ``b``. With ``beta == 0`` the old
    contents of ``c`` are not read (NaN there does not propagate), as in BLAS.

    NumPy arrays run on the CPU core; CUDA arrays (CuPy, PyTorch CUDA tensors) on the GPU,
    returning a CuPy array. On the GPU, a and b are float32 (CUDA cores), or both bf16 (uint16
    bits, as :func:`grimoire.kernels.quant.to_bf16` gives) or both float16 (tensor cores, float32
    accumulation); c is float32 in every case. float64 is CPU-only.

    On an H100/H200 (sm_90), ``GRIMOIRE_CUDA_WGMMA=1`` in the environment sends 16-bit operands
    that are both K-major (``a`` row-major (m, k), ``b`` row-major (n, k) with ``trans_b=True``)
    to a Hopper warp-group (wgmma) kernel. It is opt-in because it has not yet been verified
    against the CPU core on a GPU; ``grimoire._cuda.gemm_path(a, b, trans_a, trans_b)`` names the
    kernel a call takes.
    """
    return backend(a=a, b=b, c=c).gemm(a, b, c, float(alpha), float(beta), bool(trans_a), bool(trans_b))
