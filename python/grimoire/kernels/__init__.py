"""``grimoire.kernels``: the core's kernels, one family per module, called on NumPy arrays.

Each function validates its arguments, reads arrays in place (no silent copies or casts),
releases the GIL and runs multithreaded in C++.
"""

from __future__ import annotations

from .activation import gelu, gelu_backward
from .attention import attention, attention_backward
from .conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from .distance import pairwise_distances
from .gemm import gemm
from .linalg import eigh_symmetric, jacobi_svd_sweeps, svd_bidiagonal
from .linear_attention import linear_attention, linear_attention_backward
from .norm import (
    batch_norm,
    batch_norm_backward,
    layer_norm,
    layer_norm_backward,
    rms_norm,
    rms_norm_backward,
)
from .optim import adam_step, clip_grad_norm, multi_tensor_adam_step, multi_tensor_sgd_step, sgd_step
from .pool import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .quant import (
    conv2d_int8,
    dequantize_int8,
    from_bf16,
    from_fp8,
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
from .softmax import cross_entropy, log_softmax, log_softmax_backward, softmax, softmax_backward
from .word2vec import word2vec_sgns_train

__all__ = [
    # attention
    "attention", "attention_backward", "linear_attention", "linear_attention_backward",
    # activations
    "gelu", "gelu_backward",
    # conv, pool
    "conv1d", "conv1d_backward", "conv2d", "conv2d_backward",
    "avg_pool2d", "avg_pool2d_backward", "max_pool2d", "max_pool2d_backward",
    # gemm, distances, linear algebra
    "gemm", "pairwise_distances", "eigh_symmetric", "jacobi_svd_sweeps", "svd_bidiagonal",
    # norm
    "layer_norm", "layer_norm_backward", "rms_norm", "rms_norm_backward", "batch_norm", "batch_norm_backward",
    # softmax, losses
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward", "cross_entropy",
    # optimizer steps
    "adam_step", "sgd_step", "clip_grad_norm", "multi_tensor_adam_step", "multi_tensor_sgd_step",
    # quantisation and low precision
    "quantize_int8", "dequantize_int8", "gemm_int8", "linear_int8", "pack_int8_weight", "linear_int8_packed",
    "conv2d_int8",
    "to_fp8", "from_fp8", "to_bf16", "from_bf16", "gemm_fp8", "gemm_bf16", "linear_bf16", "pack_bf16_weight",
    "linear_bf16_packed",
    # text
    "word2vec_sgns_train",
]
