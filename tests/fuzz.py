"""Fuzz harness for every binding of grimoire._core (and grimoire._cuda when it is built).

The bindings are discovered from the modules themselves; each needs an argument model below (a
builder of a valid call plus the kind of each parameter), and a binding without one fails the run,
so a new binding cannot be missed. Hypothesis draws a *recipe* per call: a seed, a size (0, 1 and
small), and up to two mutations, each turning one parameter hostile (wrong dtype or ndim, a
non-contiguous, reversed, read-only, Fortran-ordered or huge zero-stride view, NaN/Inf/-0.0/3e38
contents, an empty or 0-d array, an output aliased to an input, extreme and non-finite scalars,
integers past int32/int64, wrong types). A recipe materialises into the same arguments every time,
so the reproducer of a finding is just (binding, recipe).

Every call runs in a worker process with a time limit: a crash (the worker dies) or a hang (no
answer in time) is reported with its reproducer and the worker restarted. The oracle per call:

* a TypeError / ValueError / OverflowError whose message names one of the binding's parameters
  (or pybind11's "incompatible function arguments", which lists them), or a MemoryError saying how
  much was asked for; any other exception is an *unclear error*;
* or a result (returned arrays, and every array argument, which in-place kernels write) equal to
  the scalar reference path: the same recipe is run again under ``_core.set_isa("scalar")`` and
  the two must agree (same errors, same shapes and dtypes, NaN/inf in the same places, integers
  equal, floats within a tolerance for the different summation orders).

Run: ``python -m tests.fuzz --calls 20000`` (CI's budget, tests/test_fuzz.py), ``python -m
tests.fuzz --long 1000000`` for a long run, ``python -m tests.fuzz --repro NAME 'RECIPE'`` to replay.
Huge *valid* iteration counts (max_iter=2**62 on a problem that never converges) are legitimate
long work, stoppable with Ctrl-C, and are not drawn; negative and overflowing ones are.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

# ============================================================================ parameter kinds
ARRAY, OPT_ARRAY, FLOAT, INT, ITERS, STR, BOOL, PAIR, SHAPE, ARRAYS, ANY = (
    "array",
    "opt_array",
    "float",
    "int",
    "iters",
    "str",
    "bool",
    "pair",
    "shape",
    "arrays",
    "any",
)

HOSTILE_FLOATS = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    -1.0,
    1e39,
    -1e39,
    1e308,
    5e-324,
    1e-40,
    2**64,
    "1.0",
    None,
    [1.0],
]
HOSTILE_INTS = [-1, 0, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), 2**64, 1.5, "1", None, True]
HOSTILE_ITERS = [-1, 0, -(2**63), 2**64, 1.5, "3", None]
HOSTILE_STRS = ["", "bogus", "\x00", "EUCLIDEAN", 1, None]
HOSTILE_BOOLS = [None, 2, "True", np.bool_(True), 0.5]
HOSTILE_PAIRS = [
    (-1, 1),
    (0, 0),
    (2**62, 2**62),
    (2**31 + 1, 1),
    (1,),
    (1, 2, 3),
    (1.5, 1),
    "ab",
    None,
    (2**64, 1),
]
HOSTILE_SHAPES = [
    [-1, 1, 1, 1],
    [2**62, 2**62, 1, 1],
    [1, 1],
    [],
    [1.5, 1, 1, 1],
    None,
    [2**31, 2**31, 2**31, 2**31],
]


@dataclass
class Model:
    build: object  # build(rng, size) -> dict of valid keyword arguments
    kinds: dict  # parameter -> kind (parameters not listed are not mutated)
    tolerance: float = 1e-3  # relative (to the largest reference value) for float results
    # False: iterative/chaotic, only errors, shapes and finiteness compared; or a function of the
    # keyword arguments (Word2Vec's Hogwild threads make its values depend on the schedule)
    compare: object = True
    exempt: str = ""  # a reason not to call it at all (must be said)
    # canon(leaves) -> leaves: the results in a form the two paths must agree on, where the raw
    # results may legitimately differ (an eigenvector's sign, a basis of a repeated eigenvalue's space)
    canon: object = None


MODELS: dict[str, Model] = {}


def model(name: str, tolerance: float = 1e-3, compare: bool = True, canon=None, **kinds):
    def register(build):
        MODELS[name] = Model(build, kinds, tolerance, compare, canon=canon)
        return build

    return register


def exempt(name: str, reason: str) -> None:
    MODELS[name] = Model(lambda rng, s: {}, {}, exempt=reason)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def f64(rng, *shape):
    return rng.standard_normal(shape)


def dim(s, floor=1):
    return max(s, floor)


# ============================================================================ the argument models
# --- runtime and introspection
# (Their results describe the path in use or time a loop: not compared with the scalar path.)
for _name in (
    "active_isa",
    "detected_isa",
    "available_cores",
    "get_num_threads",
    "cpu_features",
    "kernel_families",
):
    model(_name, compare=False)(lambda rng, s: {})
model("set_num_threads", n=INT)(lambda rng, s: {"n": 1 + s % 3})
model("set_isa", isa=STR)(lambda rng, s: {"isa": ["scalar", "avx2", "avx512"][s % 3]})
model("_set_norm_stream_threshold", bytes=INT)(lambda rng, s: {"bytes": 1 << (10 + s)})
model("fma_peak_flops", compare=False, iterations=ITERS, threads=ITERS)(
    lambda rng, s: {"iterations": 1000 + s, "threads": 1}
)
exempt(
    "_exhaustive_check", "walks all 2**32 float32 bit patterns (seconds per call); tests/exhaustive_quant.py"
)


# --- gemm
@model("gemm", a=ARRAY, b=ARRAY, c=OPT_ARRAY, alpha=FLOAT, beta=FLOAT, trans_a=BOOL, trans_b=BOOL)
def _gemm(rng, s):
    m, k, n = s, dim(s + 1), 2 * s + 1
    dt = np.float32 if s % 2 == 0 else np.float64
    return {
        "a": rng.standard_normal((m, k)).astype(dt),
        "b": rng.standard_normal((k, n)).astype(dt),
        "c": rng.standard_normal((m, n)).astype(dt) if s % 3 == 0 else None,
        "alpha": 1.5,
        "beta": 0.5,
        "trans_a": False,
        "trans_b": False,
    }


@model("matmul", a=ARRAY, b=ARRAY)
def _matmul(rng, s):
    return {"a": f32(rng, 2, s, s + 1), "b": f32(rng, s + 1, 3)}


# --- conv and pool
def _conv_args(rng, s):
    return {
        "x": f32(rng, 1, 2, s + 2, s + 3),
        "w": f32(rng, 4, 2, 2, 2),
        "stride": (1, 1),
        "padding": (1, 0),
        "dilation": (1, 1),
        "groups": 1,
    }


for _name in ("conv2d", "conv2d_reference"):
    model(_name, x=ARRAY, w=ARRAY, b=OPT_ARRAY, stride=PAIR, padding=PAIR, dilation=PAIR, groups=INT)(
        lambda rng, s: {**_conv_args(rng, s), "b": f32(rng, 4) if s % 2 else None}
    )


def _conv_backward(rng, s):
    a = _conv_args(rng, s)
    oh, ow = s + 2 + 2 - 2 + 1, s + 3 - 2 + 1
    return {"grad_out": f32(rng, 1, 4, oh, ow), **a, "need_x": True, "need_w": True, "need_b": s % 2 == 0}


for _name in ("conv2d_backward", "conv2d_backward_reference"):
    model(
        _name,
        grad_out=ARRAY,
        x=ARRAY,
        w=ARRAY,
        stride=PAIR,
        padding=PAIR,
        dilation=PAIR,
        groups=INT,
        need_x=BOOL,
        need_w=BOOL,
        need_b=BOOL,
    )(_conv_backward)


@model("max_pool2d", x=ARRAY, kernel_size=PAIR, stride=PAIR, padding=PAIR)
def _max_pool(rng, s):
    return {"x": f32(rng, 1, 2, s + 2, s + 3), "kernel_size": (2, 2), "stride": (1, 2), "padding": (1, 0)}


@model("max_pool2d_backward", grad_out=ARRAY, indices=ARRAY, input_shape=SHAPE)
def _max_pool_back(rng, s):
    h, w = s + 2, s + 3
    return {
        "grad_out": f32(rng, 1, 2, h - 1, w - 1),
        "indices": rng.integers(0, h * w, (1, 2, h - 1, w - 1)),
        "input_shape": [1, 2, h, w],
    }


@model("avg_pool2d", x=ARRAY, kernel_size=PAIR, stride=PAIR, padding=PAIR, count_include_pad=BOOL)
def _avg_pool(rng, s):
    return {**_max_pool(rng, s), "count_include_pad": s % 2 == 0}


@model(
    "avg_pool2d_backward",
    grad_out=ARRAY,
    input_shape=SHAPE,
    kernel_size=PAIR,
    stride=PAIR,
    padding=PAIR,
    count_include_pad=BOOL,
)
def _avg_pool_back(rng, s):
    h, w = s + 2, s + 3
    return {
        "grad_out": f32(rng, 1, 2, h + 1, (w - 2) // 2 + 1),
        "input_shape": [1, 2, h, w],
        "kernel_size": (2, 2),
        "stride": (1, 2),
        "padding": (1, 0),
        "count_include_pad": s % 2 == 0,
    }


# --- norms and softmax
@model("layer_norm", x=ARRAY, weight=OPT_ARRAY, bias=OPT_ARRAY, eps=FLOAT, out=OPT_ARRAY)
def _layer_norm(rng, s):
    d = dim(3 * s)
    return {
        "x": f32(rng, s + 1, d),
        "weight": f32(rng, d),
        "bias": f32(rng, d),
        "eps": 1e-5,
        "out": np.empty((s + 1, d), np.float32) if s % 2 else None,
    }


@model("rms_norm", x=ARRAY, weight=OPT_ARRAY, eps=FLOAT, out=OPT_ARRAY)
def _rms_norm(rng, s):
    a = _layer_norm(rng, s)
    del a["bias"]
    return a


@model("layer_norm_backward", grad_y=ARRAY, x=ARRAY, weight=OPT_ARRAY, mean=ARRAY, rstd=ARRAY)
def _ln_back(rng, s):
    d = dim(3 * s)
    x = f32(rng, s + 1, d)
    return {
        "grad_y": f32(rng, s + 1, d),
        "x": x,
        "weight": f32(rng, d),
        "mean": x.mean(-1),
        "rstd": (1 / x.std(-1).clip(0.1)).astype(np.float32),
    }


@model("rms_norm_backward", grad_y=ARRAY, x=ARRAY, weight=OPT_ARRAY, rstd=ARRAY)
def _rms_back(rng, s):
    a = _ln_back(rng, s)
    del a["mean"]
    return a


@model(
    "batch_norm",
    x=ARRAY,
    weight=OPT_ARRAY,
    bias=OPT_ARRAY,
    running_mean=OPT_ARRAY,
    running_var=OPT_ARRAY,
    training=BOOL,
    momentum=FLOAT,
    eps=FLOAT,
)
def _batch_norm(rng, s):
    c = dim(s)
    return {
        "x": f32(rng, s + 2, c, 2),
        "weight": f32(rng, c),
        "bias": f32(rng, c),
        "running_mean": np.zeros(c, np.float32),
        "running_var": np.ones(c, np.float32),
        "training": s % 2 == 0,
        "momentum": 0.1,
        "eps": 1e-5,
    }


@model(
    "batch_norm_backward",
    grad_y=ARRAY,
    x=ARRAY,
    weight=OPT_ARRAY,
    save_mean=ARRAY,
    save_rstd=ARRAY,
    training=BOOL,
)
def _bn_back(rng, s):
    c = dim(s)
    return {
        "grad_y": f32(rng, s + 2, c),
        "x": f32(rng, s + 2, c),
        "weight": f32(rng, c),
        "save_mean": f32(rng, c),
        "save_rstd": np.ones(c, np.float32),
        "training": s % 2 == 0,
    }


model("gelu", x=ARRAY)(lambda rng, s: {"x": f32(rng, s + 1, dim(5 * s))})
model("gelu_backward", grad_y=ARRAY, x=ARRAY)(
    lambda rng, s: {"grad_y": f32(rng, s + 1, dim(5 * s)), "x": f32(rng, s + 1, dim(5 * s))}
)
for _name in ("softmax", "log_softmax"):
    model(_name, x=ARRAY)(lambda rng, s: {"x": f32(rng, s + 1, dim(5 * s))})
for _name in ("softmax_backward", "log_softmax_backward"):
    model(_name, grad_y=ARRAY, y=ARRAY)(
        lambda rng, s: {"grad_y": f32(rng, s + 1, dim(5 * s)), "y": f32(rng, s + 1, dim(5 * s))}
    )


@model(
    "cross_entropy",
    logits=ARRAY,
    targets=ARRAY,
    reduction=STR,
    ignore_index=INT,
    label_smoothing=FLOAT,
    return_grad=BOOL,
)
def _xent(rng, s):
    c = dim(s + 1)
    return {
        "logits": f32(rng, s, c),
        "targets": rng.integers(0, c, s),
        "reduction": ["mean", "sum", "none"][s % 3],
        "ignore_index": -100,
        "label_smoothing": 0.1,
        "return_grad": True,
    }


# --- attention
@model("attention_forward", q=ARRAY, k=ARRAY, v=ARRAY, causal=BOOL, scale=FLOAT, mask=OPT_ARRAY)
def _attn(rng, s):
    d = dim(2 * s)
    return {
        "q": f32(rng, 1, 2, s + 1, d),
        "k": f32(rng, 1, 1, s + 2, d),
        "v": f32(rng, 1, 1, s + 2, d),
        "causal": s % 2 == 1,
        "scale": None if s % 3 else 0.5,
        "mask": (rng.random((s + 1, s + 2)) < 0.8) if s % 4 == 0 else None,
    }


@model(
    "attention_backward",
    grad_out=ARRAY,
    q=ARRAY,
    k=ARRAY,
    v=ARRAY,
    out=ARRAY,
    lse=ARRAY,
    causal=BOOL,
    scale=FLOAT,
    mask=OPT_ARRAY,
)
def _attn_back(rng, s):
    a = _attn(rng, s)
    qs = a["q"].shape
    return {"grad_out": f32(rng, *qs), **a, "out": f32(rng, *qs), "lse": f32(rng, *qs[:3])}


# --- optimizers
@model(
    "adam_step",
    param=ARRAY,
    grad=ARRAY,
    m=ARRAY,
    v=ARRAY,
    step=INT,
    lr=FLOAT,
    beta1=FLOAT,
    beta2=FLOAT,
    eps=FLOAT,
    weight_decay=FLOAT,
    decoupled=BOOL,
    amsgrad=BOOL,
    max_v=OPT_ARRAY,
)
def _adam(rng, s):
    n = 7 * s
    ams = s % 2 == 1
    return {
        "param": f32(rng, n),
        "grad": f32(rng, n),
        "m": f32(rng, n),
        "v": np.abs(f32(rng, n)),
        "step": s + 1,
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.01,
        "decoupled": s % 3 == 0,
        "amsgrad": ams,
        "max_v": np.abs(f32(rng, n)) if ams else None,
    }


@model(
    "sgd_step",
    param=ARRAY,
    grad=ARRAY,
    momentum_buf=OPT_ARRAY,
    lr=FLOAT,
    momentum=FLOAT,
    dampening=FLOAT,
    nesterov=BOOL,
    weight_decay=FLOAT,
    first_step=BOOL,
)
def _sgd(rng, s):
    n = 7 * s
    return {
        "param": f32(rng, n),
        "grad": f32(rng, n),
        "momentum_buf": f32(rng, n),
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.0,
        "nesterov": s % 2 == 0,
        "weight_decay": 1e-4,
        "first_step": s % 3 == 0,
    }


@model(
    "multi_tensor_adam_step",
    params=ARRAYS,
    grads=ARRAYS,
    ms=ARRAYS,
    vs=ARRAYS,
    step=INT,
    lr=FLOAT,
    beta1=FLOAT,
    beta2=FLOAT,
    eps=FLOAT,
    weight_decay=FLOAT,
    decoupled=BOOL,
    amsgrad=BOOL,
)
def _multi_adam(rng, s):
    one = [_adam(rng, s), _adam(rng, s + 1)]
    return {
        "params": [a["param"] for a in one],
        "grads": [a["grad"] for a in one],
        "ms": [a["m"] for a in one],
        "vs": [a["v"] for a in one],
        "step": s + 1,
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.01,
        "decoupled": s % 2 == 0,
        "amsgrad": False,
        "max_vs": None,
    }


@model(
    "multi_tensor_sgd_step",
    params=ARRAYS,
    grads=ARRAYS,
    momentum_bufs=ANY,
    lr=FLOAT,
    momentum=FLOAT,
    dampening=FLOAT,
    nesterov=BOOL,
    weight_decay=FLOAT,
    first_step=BOOL,
)
def _multi_sgd(rng, s):
    one = [_sgd(rng, s), _sgd(rng, s + 1)]
    return {
        "params": [a["param"] for a in one],
        "grads": [a["grad"] for a in one],
        "momentum_bufs": [a["momentum_buf"] for a in one],
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.0,
        "nesterov": s % 2 == 0,
        "weight_decay": 1e-4,
        "first_step": s % 3 == 0,
    }


@model("clip_grad_norm", grads=ARRAYS, max_norm=FLOAT, norm_type=FLOAT)
def _clip(rng, s):
    return {
        "grads": [f32(rng, 5 * s + 1), f32(rng, s, 3)],
        "max_norm": 1.0,
        "norm_type": [2.0, 1.0, math.inf, 3.0][s % 4],
    }


# --- distances and linear algebra
@model("pairwise_distances", x=ARRAY, y=ARRAY, metric=STR, same_input=BOOL)
def _pdist(rng, s):
    dt = np.float32 if s % 2 == 0 else np.float64
    x = rng.standard_normal((s + 1, dim(s))).astype(dt)
    same = s % 3 == 0
    return {
        "x": x,
        "y": x if same else rng.standard_normal((s + 2, dim(s))).astype(dt),
        "metric": ["euclidean", "sqeuclidean", "cosine"][s % 3],
        "same_input": same,
    }


def _eigh_canon(leaves: list) -> list:
    """(w, V, ...) -> (w, V diag(w) V^T, V^T V, ...): eigenvectors are unique only up to sign (and
    to a basis of a repeated eigenvalue's space); the reconstruction and the Gram matrix are unique."""
    if len(leaves) >= 2 and all(isinstance(x, np.ndarray) for x in leaves[:2]):
        w, v = leaves[0], leaves[1]
        if w.ndim == 1 and v.ndim == 2 and v.shape == (len(w), len(w)) and v.dtype.kind == "f":
            with np.errstate(all="ignore"):
                return [w, (v * w) @ v.T, v.T @ v, *leaves[2:]]
    return leaves


@model("eigh_symmetric", tolerance=1e-6, canon=_eigh_canon, a=ARRAY, vectors=BOOL)
def _eigh(rng, s):
    a = f64(rng, s, s)
    return {"a": a + a.T, "vectors": s % 2 == 0}


def _svd_canon(leaves: list) -> list:
    """(U, s, Vt) -> (s, U diag(s) Vt, ...): singular vectors are unique only up to sign (and to a
    basis of a repeated singular value's spaces); the reconstruction is unique."""
    if len(leaves) >= 3 and all(isinstance(x, np.ndarray) for x in leaves[:3]):
        u, sv, vt = leaves[:3]
        if u.ndim == 2 and vt.ndim == 2 and u.size and vt.shape == (len(sv), len(sv)):
            with np.errstate(all="ignore"):
                return [sv, (u[:, :len(sv)] * sv) @ vt, *leaves[3:]]
    return leaves


@model("svd_bidiagonal", tolerance=1e-6, canon=_svd_canon, a=ARRAY, compute_uv=BOOL, full_matrices=BOOL)
def _svd(rng, s):
    return {"a": f64(rng, s + 2, s + 1), "compute_uv": s % 2 == 0, "full_matrices": s % 3 == 0}


@model("jacobi_svd_sweeps", bt=ARRAY, vt=OPT_ARRAY, max_sweeps=ITERS, tol=FLOAT)
def _jacobi(rng, s):
    return {"bt": f64(rng, s + 1, s + 2), "vt": np.eye(s + 1), "max_sweeps": 30, "tol": 1e-12}


# --- quantisation
@model("quantize_int8", x=ARRAY, symmetric=BOOL, axis=ANY, scale=OPT_ARRAY, zero_point=OPT_ARRAY)
def _quant(rng, s):
    given = s % 3 == 0
    return {
        "x": f32(rng, s + 1, 3),
        "symmetric": s % 2 == 0,
        "axis": None if s % 2 else 1,
        "scale": np.full(1 if s % 2 else 3, 0.05, np.float32) if given else None,
        "zero_point": np.zeros(1 if s % 2 else 3, np.int32) if given else None,
    }


@model("dequantize_int8", q=ARRAY, scale=ARRAY, zero_point=ARRAY, axis=ANY)
def _dequant(rng, s):
    return {
        "q": rng.integers(-128, 128, (s + 1, 3), dtype=np.int8),
        "scale": np.full(3, 0.05, np.float32),
        "zero_point": np.zeros(3, np.int32),
        "axis": 1,
    }


@model("gemm_int8", a=ARRAY, b=ARRAY, trans_b=BOOL)
def _gemm_int8(rng, s):
    return {
        "a": rng.integers(-128, 128, (s, 4 * s + 1), dtype=np.int8),
        "b": rng.integers(-128, 128, (4 * s + 1, s + 2), dtype=np.int8),
        "trans_b": False,
    }


model("gemm_int8_reference", a=ARRAY, b=ARRAY, emulate_vnni=BOOL)(
    lambda rng, s: {
        **{k: v for k, v in _gemm_int8(rng, s).items() if k != "trans_b"},
        "emulate_vnni": s % 2 == 0,
    }
)


@model("linear_int8", x=ARRAY, w_q=ARRAY, w_scale=ARRAY, bias=OPT_ARRAY)
def _linear_int8(rng, s):
    return {
        "x": f32(rng, s, 5),
        "w_q": rng.integers(-127, 128, (s + 1, 5), dtype=np.int8),
        "w_scale": np.full(s + 1, 0.02, np.float32),
        "bias": f32(rng, s + 1),
    }


model("pack_int8_weight", w_q=ARRAY)(
    lambda rng, s: {"w_q": rng.integers(-127, 128, (s + 1, 5), dtype=np.int8)}
)


@model("linear_int8_packed", x=ARRAY, packed=ANY, w_scale=ARRAY, bias=OPT_ARRAY)
def _linear_int8_packed(rng, s):
    from grimoire import _core

    args = _linear_int8(rng, s)
    # Packed for the path in use when the recipe is made; on another path (the scalar run) the
    # binding falls back to linear_int8, so both runs must agree exactly.
    return {"x": args["x"], "packed": _core.pack_int8_weight(args["w_q"]), "w_scale": args["w_scale"],
            "bias": args["bias"]}


exempt("PackedInt8Weight", "a class without a constructor: pack_int8_weight makes its instances")


@model("conv2d_int8", x=ARRAY, packed=ANY, w_scale=ARRAY, bias=OPT_ARRAY, stride=PAIR, padding=PAIR,
       dilation=PAIR, relu=BOOL)
def _conv2d_int8(rng, s):
    from grimoire import _core

    # Packed for the path in use when the recipe is made; the scalar run packs again per call.
    return {
        "x": f32(rng, s, 3, s + 2, 4),
        "packed": _core.pack_int8_weight(rng.integers(-127, 128, (5, 3, 2, 3), dtype=np.int8)),
        "w_scale": np.full(5, 0.02, np.float32),
        "bias": f32(rng, 5) if s % 2 else None,
        "stride": (1, 2),
        "padding": (1, 0),
        "dilation": (1, 1),
        "relu": s % 3 == 0,
    }


model("to_fp8", x=ARRAY, fmt=STR, saturate=BOOL)(
    lambda rng, s: {"x": f32(rng, s, 3) * 100, "fmt": ["e4m3", "e5m2"][s % 2], "saturate": s % 3 == 0}
)
model("from_fp8", codes=ARRAY, fmt=STR)(
    lambda rng, s: {"codes": rng.integers(0, 256, (s, 3), dtype=np.uint8), "fmt": ["e4m3", "e5m2"][s % 2]}
)
model("to_bf16", x=ARRAY)(lambda rng, s: {"x": f32(rng, s, 3)})
model("from_bf16", x=ARRAY)(lambda rng, s: {"x": rng.integers(0, 65536, (s, 3), dtype=np.uint16)})


@model("gemm_fp8", a=ARRAY, b=ARRAY, scale_a=FLOAT, scale_b=FLOAT, fmt_a=STR, fmt_b=STR)
def _gemm_fp8(rng, s):
    return {
        "a": rng.integers(0, 120, (s, 3), dtype=np.uint8),
        "b": rng.integers(0, 120, (3, s + 1), dtype=np.uint8),
        "scale_a": 0.5,
        "scale_b": 2.0,
        "fmt_a": "e4m3",
        "fmt_b": ["e4m3", "e5m2"][s % 2],
    }


@model("linear_bf16", x=ARRAY, w=ARRAY, bias=OPT_ARRAY)
def _linear_bf16(rng, s):
    return {"x": f32(rng, s, 5), "w": f32(rng, s + 1, 5), "bias": f32(rng, s + 1)}


model("pack_bf16_weight", w=ARRAY)(lambda rng, s: {"w": f32(rng, s + 1, 5)})


@model("linear_bf16_packed", x=ARRAY, packed=ANY, bias=OPT_ARRAY)
def _linear_bf16_packed(rng, s):
    from grimoire import _core

    args = _linear_bf16(rng, s)
    # Packed for the path in use when the recipe is made; on another path (the scalar run) the
    # binding falls back to linear_bf16 on the weight's codes.
    return {"x": args["x"], "packed": _core.pack_bf16_weight(args["w"]), "bias": args["bias"]}


exempt("PackedBf16Weight", "a class without a constructor: pack_bf16_weight makes its instances")


model("gemm_bf16", a=ARRAY, b=ARRAY)(
    lambda rng, s: {
        "a": rng.integers(0, 16000, (s, 3), dtype=np.uint16),
        "b": rng.integers(0, 16000, (3, s + 1), dtype=np.uint16),
    }
)


# --- classical ML
@model("kmeans_assign", X=ARRAY, x_sqnorm=ARRAY, centers=ARRAY, sample_weight=OPT_ARRAY, accumulate=BOOL)
def _kmeans(rng, s):
    x = f64(rng, s + 2, 3)
    return {
        "X": x,
        "x_sqnorm": (x * x).sum(1),
        "centers": f64(rng, dim(s), 3),
        "sample_weight": np.ones(s + 2) if s % 2 else None,
        "accumulate": True,
    }


@model("pairwise_sq_distances", X=ARRAY, x_sqnorm=ARRAY, centers=ARRAY)
def _psq(rng, s):
    a = _kmeans(rng, s)
    return {k: a[k] for k in ("X", "x_sqnorm", "centers")}


@model(
    "enet_coordinate_descent",
    X=ARRAY,
    y=ARRAY,
    coef=ARRAY,
    l1=FLOAT,
    l2=FLOAT,
    max_iter=ITERS,
    tol=FLOAT,
    positive=BOOL,
)
def _enet(rng, s):
    return {
        "X": np.asfortranarray(f64(rng, s + 2, 3)),
        "y": f64(rng, s + 2),
        "coef": np.zeros(3),
        "l1": 0.1,
        "l2": 0.1,
        "max_iter": 50,
        "tol": 1e-6,
        "positive": s % 2 == 0,
    }


@model("pdist_euclidean", X=ARRAY)
def _pdist_e(rng, s):
    return {"X": f64(rng, s + 1, 3)}


@model("nn_chain_linkage", dist=ARRAY, method=STR)
def _linkage(rng, s):
    n = s + 2
    return {
        "dist": np.abs(f64(rng, n * (n - 1) // 2)),
        "method": ["single", "complete", "average", "ward"][s % 4],
    }


def _svm_xy(rng, s):
    n = s + 3
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return f64(rng, n, 2), y


@model("svm_kernel", A=ARRAY, B=ARRAY, kernel=STR, gamma=FLOAT, coef0=FLOAT, degree=INT)
def _svm_k(rng, s):
    return {
        "A": f64(rng, s, 2),
        "B": f64(rng, s + 1, 2),
        "kernel": ["linear", "poly", "rbf", "sigmoid"][s % 4],
        "gamma": 0.5,
        "coef0": 1.0,
        "degree": 3,
    }


@model(
    "svm_smo",
    compare=False,
    X=ARRAY,
    y=ARRAY,
    C=ARRAY,
    kernel=STR,
    gamma=FLOAT,
    coef0=FLOAT,
    degree=INT,
    tol=FLOAT,
    max_iter=ITERS,
    cache_size=FLOAT,
)
def _smo(rng, s):
    x, y = _svm_xy(rng, s)
    return {
        "X": x,
        "y": y,
        "C": np.ones(len(y)),
        "kernel": ["linear", "rbf"][s % 2],
        "gamma": 0.5,
        "coef0": 0.0,
        "degree": 3,
        "tol": 1e-3,
        "max_iter": 1000,
        "cache_size": 10.0,
    }


@model(
    "linear_svm_dcd",
    compare=False,
    X=ARRAY,
    y=ARRAY,
    C=ARRAY,
    hinge=BOOL,
    max_iter=ITERS,
    tol=FLOAT,
    seed=INT,
)
def _dcd(rng, s):
    x, y = _svm_xy(rng, s)
    return {
        "X": x,
        "y": y,
        "C": np.ones(len(y)),
        "hinge": s % 2 == 0,
        "max_iter": 100,
        "tol": 1e-3,
        "seed": s,
    }


def _codes(rng, s):
    n = s + 4
    return rng.integers(0, 4, (3, n), dtype=np.uint16), np.full(3, 4, np.int32), n


@model(
    "tree_build",
    codes=ARRAY,
    n_bins=ARRAY,
    criterion=STR,
    y=ARRAY,
    h=OPT_ARRAY,
    sample_weight=OPT_ARRAY,
    sample_indices=OPT_ARRAY,
    n_classes=INT,
    max_depth=INT,
    min_samples_split=INT,
    min_samples_leaf=INT,
    max_features=INT,
    max_leaf_nodes=INT,
    min_impurity_decrease=FLOAT,
    l2=FLOAT,
    seed=INT,
    num_threads=INT,
)
def _tree(rng, s):
    codes, nb, n = _codes(rng, s)
    crit = ["gini", "entropy", "squared_error", "newton"][s % 4]
    cls = crit in ("gini", "entropy")
    if crit == "newton" and s % 8 == 7:  # boosting's own codes: uint8
        codes = codes.astype(np.uint8)
    return {
        "codes": codes,
        "n_bins": nb,
        "criterion": crit,
        "y": rng.integers(0, 2, n).astype(np.int32) if cls else f64(rng, n),
        "h": np.ones(n) if crit == "newton" else None,
        "sample_weight": np.ones(n) if s % 2 else None,
        "sample_indices": None,
        "n_classes": 2 if cls else 0,
        "max_depth": 3,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "max_features": 0,
        "max_leaf_nodes": -1,
        "min_impurity_decrease": 0.0,
        "l2": 0.0,
        "seed": s,
        "num_threads": 1,
    }


@model(
    "forest_build",
    codes=ARRAY,
    n_bins=ARRAY,
    criterion=STR,
    y=ARRAY,
    sample_weight=OPT_ARRAY,
    n_classes=INT,
    seeds=ARRAY,
    bootstrap=BOOL,
    max_samples=INT,
    max_depth=INT,
    min_samples_split=INT,
    min_samples_leaf=INT,
    max_features=INT,
    max_leaf_nodes=INT,
    min_impurity_decrease=FLOAT,
    return_inbag=BOOL,
)
def _forest(rng, s):
    t = _tree(rng, s % 3)
    return {
        **{
            k: t[k]
            for k in (
                "codes",
                "n_bins",
                "criterion",
                "y",
                "sample_weight",
                "n_classes",
                "max_depth",
                "min_samples_split",
                "min_samples_leaf",
                "max_features",
                "max_leaf_nodes",
                "min_impurity_decrease",
            )
        },
        "seeds": np.arange(s + 1, dtype=np.uint64),
        "bootstrap": s % 2 == 0,
        "max_samples": 3,
        "return_inbag": True,
    }


def _tree_nodes():
    return {
        "children_left": np.array([1, -1, -1], np.int64),
        "children_right": np.array([2, -1, -1], np.int64),
        "feature": np.array([0, -2, -2], np.int64),
    }


model("tree_apply", X=ARRAY, children_left=ARRAY, children_right=ARRAY, feature=ARRAY, threshold=ARRAY)(
    lambda rng, s: {"X": f64(rng, s, 2), **_tree_nodes(), "threshold": np.array([0.0, -2.0, -2.0])}
)
model(
    "tree_apply_binned",
    codes=ARRAY,
    children_left=ARRAY,
    children_right=ARRAY,
    feature=ARRAY,
    threshold_bin=ARRAY,
)(
    lambda rng, s: {
        "codes": rng.integers(0, 4, (2, s), dtype=np.uint16),
        **_tree_nodes(),
        "threshold_bin": np.array([1, 0, 0], np.int32),
    }
)


# --- manifold learning, graphs, text, time series
@model("tsne_binary_search", dist2=ARRAY, perplexity=FLOAT)
def _tsne_bs(rng, s):
    return {"dist2": np.abs(f64(rng, s + 1, 3)), "perplexity": 2.0}


def _knn_csr(rng, n, k):
    indices = np.stack([rng.choice(np.delete(np.arange(n), i), k, replace=False) for i in range(n)]).ravel()
    return np.arange(0, n * k + 1, k, dtype=np.int64), indices.astype(np.int64)


@model(
    "tsne_optimize",
    compare=False,
    indptr=ARRAY,
    indices=ARRAY,
    values=ARRAY,
    Y=ARRAY,
    max_iter=ITERS,
    exaggeration_iter=ITERS,
    early_exaggeration=FLOAT,
    learning_rate=FLOAT,
    theta=FLOAT,
    momentum_early=FLOAT,
    momentum_late=FLOAT,
    min_gain=FLOAT,
)
def _tsne(rng, s):
    n = s + 3
    indptr, indices = _knn_csr(rng, n, 2)
    return {
        "indptr": indptr,
        "indices": indices,
        "values": np.full(2 * n, 1 / (2 * n)),
        "Y": f64(rng, n, 2) * 1e-3,
        "max_iter": 20,
        "exaggeration_iter": 5,
        "early_exaggeration": 12.0,
        "learning_rate": 100.0,
        "theta": 0.5,
        "momentum_early": 0.5,
        "momentum_late": 0.8,
        "min_gain": 0.01,
    }


@model(
    "umap_optimize",
    compare=False,
    head=ARRAY,
    tail=ARRAY,
    epochs_per_sample=ARRAY,
    Y=ARRAY,
    Y_tail=OPT_ARRAY,
    n_epochs=ITERS,
    a=FLOAT,
    b=FLOAT,
    gamma=FLOAT,
    initial_alpha=FLOAT,
    negative_sample_rate=FLOAT,
    seed=INT,
)
def _umap(rng, s):
    n = s + 3
    return {
        "head": np.arange(n, dtype=np.int64),
        "tail": (np.arange(n, dtype=np.int64) + 1) % n,
        "epochs_per_sample": np.ones(n),
        "Y": f64(rng, n, 2),
        "Y_tail": None,
        "n_epochs": 10,
        "a": 1.6,
        "b": 0.9,
        "gamma": 1.0,
        "initial_alpha": 1.0,
        "negative_sample_rate": 5.0,
        "seed": s,
    }


@model(
    "random_walks",
    indptr=ARRAY,
    indices=ARRAY,
    cumulative_weights=OPT_ARRAY,
    starts=ARRAY,
    walk_length=ITERS,
    p=FLOAT,
    q=FLOAT,
    seed=INT,
)
def _walks(rng, s):
    n = s + 3
    indptr, indices = _knn_csr(rng, n, 2)
    indices = np.sort(indices.reshape(n, 2), axis=1).ravel()
    return {
        "indptr": indptr,
        "indices": indices,
        "cumulative_weights": None,
        "starts": np.arange(n, dtype=np.int64),
        "walk_length": 5,
        "p": 1.0 if s % 2 else 0.5,
        "q": 2.0,
        "seed": s,
    }


@model("spmm_csr", indptr=ARRAY, indices=ARRAY, values=ARRAY, x=ARRAY)
def _spmm(rng, s):
    n = s + 3
    indptr, indices = _knn_csr(rng, n, 2)
    return {"indptr": indptr, "indices": indices, "values": f32(rng, 2 * n), "x": f32(rng, n, 4)}


@model(
    "word2vec_sgns_train",
    compare=lambda kwargs: kwargs.get("num_threads") == 1,  # (more threads: Hogwild, by design)
    w_in=ARRAY,
    w_out=ARRAY,
    corpus=ARRAY,
    neg_table=ARRAY,
    keep_prob=OPT_ARRAY,
    window=INT,
    negative=INT,
    epochs=ITERS,
    lr=FLOAT,
    lr_min=FLOAT,
    seed=INT,
    num_threads=INT,
)
def _w2v(rng, s):
    v, d = 5, dim(s)
    corpus = rng.integers(-1, v, 4 * s + 2).astype(np.int32)
    return {
        "w_in": f32(rng, v, d),
        "w_out": np.zeros((v, d), np.float32),
        "corpus": corpus,
        "neg_table": np.arange(v, dtype=np.int32),
        "keep_prob": np.full(v, 0.9, np.float32) if s % 2 else None,
        "window": 1 + s % 4,
        "negative": s % 3,
        "epochs": 1,
        "lr": 0.025,
        "lr_min": 1e-4,
        "seed": s,
        "num_threads": 1,
    }


@model("arma_residuals", w=ARRAY, mu=FLOAT, ar=ARRAY, ma=ARRAY)
def _arma(rng, s):
    return {"w": f64(rng, 3 * s), "mu": 0.1, "ar": f64(rng, s % 3) * 0.3, "ma": f64(rng, s % 2) * 0.3}


# --- grimoire._cuda's own introspection (its kernels share _core's names and so its models; without
# a GPU every _cuda kernel refuses host arrays with a TypeError naming the argument)
for _name in ("device_count", "device_names", "runtime_version"):
    model(_name, compare=False)(lambda rng, s: {})
model("gemm_path", compare=False, a=ARRAY, b=ARRAY, trans_a=BOOL, trans_b=BOOL)(
    lambda rng, s: {k: v for k, v in _gemm(rng, s).items() if k in ("a", "b", "trans_a", "trans_b")}
)
model("attention_forward_path", compare=False, q=ARRAY, k=ARRAY, v=ARRAY, causal=BOOL)(
    lambda rng, s: {k: v for k, v in _attn(rng, s).items() if k in ("q", "k", "v", "causal")}
)


# --- thread pinning (the worker restores the thread count after each call)
model("num_threads_pinned", compare=False)(lambda rng, s: {})
model("unpin_num_threads", compare=False)(lambda rng, s: {})


# --- special functions (element-wise, float64, equal shapes)
def _unit(rng, s):
    return rng.random((s + 1, 2))


model("gammaln", x=ARRAY)(lambda rng, s: {"x": f64(rng, s + 1, 2) * 10})
model("ndtr", x=ARRAY)(lambda rng, s: {"x": f64(rng, s + 1, 2) * 3})
model("ndtri", q=ARRAY)(lambda rng, s: {"q": _unit(rng, s)})
model("gammainc", a=ARRAY, x=ARRAY, upper=BOOL)(
    lambda rng, s: {"a": _unit(rng, s) * 5 + 0.1, "x": _unit(rng, s) * 5, "upper": s % 2 == 1}
)
model("betainc", a=ARRAY, b=ARRAY, x=ARRAY)(
    lambda rng, s: {"a": _unit(rng, s) * 5 + 0.1, "b": _unit(rng, s) * 5 + 0.1, "x": _unit(rng, s)}
)


# --- state-space models: an AR(2) with a measured level (k = 2 states)
@model("kalman_filter", y=ARRAY, Z=ARRAY, T=ARRAY, RQR=ARRAY, h=FLOAT, a0=ARRAY, P0=ARRAY, burn=INT)
def _kalman(rng, s):
    return {
        "y": f64(rng, 3 * s + 1),
        "Z": np.array([1.0, 0.0]),
        "T": np.array([[0.5, 0.2], [1.0, 0.0]]),
        "RQR": np.array([[1.0, 0.0], [0.0, 0.0]]),
        "h": 0.1 * (s % 2),
        "a0": np.zeros(2),
        "P0": np.eye(2) * 2.0,
        "burn": s % 3,
    }


# --- linear attention (q, k: (..., len, d); v: (..., k_len, v_dim); 3-D or 4-D)
@model("linear_attention_forward", q=ARRAY, k=ARRAY, v=ARRAY, causal=BOOL, eps=FLOAT)
def _lin_attn(rng, s):
    d = dim(2 * s)
    lead = (2,) if s % 2 else (1, 2)
    return {
        "q": f32(rng, *lead, s + 1, d),
        "k": f32(rng, *lead, s + 1 if s % 3 == 0 else s + 2, d),
        "v": f32(rng, *lead, s + 1 if s % 3 == 0 else s + 2, 3),
        "causal": s % 3 == 0,
        "eps": 1e-6,
    }


@model("linear_attention_backward", grad_out=ARRAY, q=ARRAY, k=ARRAY, v=ARRAY, causal=BOOL, eps=FLOAT)
def _lin_attn_back(rng, s):
    a = _lin_attn(rng, s)
    return {"grad_out": f32(rng, *a["q"].shape[:-1], 3), **a}


# ============================================================================ hostile values
def hostile_array(valid, variant: int, others: list, rng):
    """One hostile variant of a valid array argument."""
    v = np.asarray(valid) if isinstance(valid, np.ndarray) else np.zeros(3, np.float32)
    if v.size > 1_000_000:  # an earlier mutation's huge view: mutate a small stand-in instead
        v = np.zeros(v.shape[1:] if 0 < v.ndim and np.prod(v.shape[1:]) < 1_000_000 else 3, v.dtype)
    variant %= 21
    if variant == 0:  # another dtype
        alt = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.float32}.get(v.dtype, np.float64)
        return v.astype(alt)
    if variant == 1:
        return v[None]
    if variant == 2:
        return v.reshape(-1)[:1] if v.ndim != 1 else v.reshape(1, -1)
    if variant == 3 and v.ndim:  # every other element of a doubled copy: strided, same values
        return np.repeat(v, 2, axis=-1)[..., ::2]
    if variant == 4 and v.ndim:
        return v[::-1]
    if variant == 5:
        r = v.copy()
        r.setflags(write=False)
        return r
    if variant == 6:  # a huge zero-stride view: 2**31 (or 2**40) copies of one real row
        row = np.zeros(v.shape[1:] if v.ndim else (), v.dtype)
        if v.size and row.size:
            row.reshape(-1)[:] = np.resize(v.reshape(-1), row.size)
        # (2**31 rows of a small row could still be a legitimate 16 GiB output: 2**40 and 2**62
        # are past any machine, so the binding must refuse them up front.)
        # (NumPy's limit: 2**63 bytes, and 2**63 elements even where a row holds none)
        rows = 2**40 if rng.random() < 0.5 or row.nbytes == 0 else 2**62 // row.nbytes
        return np.lib.stride_tricks.as_strided(row, (rows,) + row.shape, (0,) + row.strides, writeable=False)
    if variant in (7, 8, 9, 10) and v.dtype.kind == "f" and v.size:
        r = v.copy()
        fill = {7: np.nan, 8: np.inf, 9: -0.0, 10: np.finfo(v.dtype).max * 0.9}[variant]
        idx = rng.integers(0, r.size, max(1, r.size // 3))
        r.reshape(-1)[idx] = fill
        return r
    if variant in (7, 8) and v.dtype.kind in "iu" and v.size:
        r = v.copy()
        r.reshape(-1)[rng.integers(0, r.size)] = (
            np.iinfo(v.dtype).max if variant == 7 else np.iinfo(v.dtype).min
        )
        return r
    if variant == 11 and v.ndim:
        return v[:0]
    if variant == 12:
        return np.asarray(v.reshape(-1)[0] if v.size else 0.0)
    if variant in (13, 14) and others:
        o = others[int(rng.integers(len(others)))]
        # (a huge zero-stride view from an earlier mutation is aliased whole: flattening it copies)
        if variant == 13 or o.ndim == 0 or o.size < 2 or o.size > 1_000_000:
            return o
        return o.reshape(-1)[1:][: v.size]
    if variant == 15:
        return v.tolist()
    if variant == 16:
        return None
    if variant == 17:
        return "x"
    if variant == 18:
        return np.asfortranarray(v)
    if variant == 19:
        return 3
    r = v.copy()  # 20: all zeros
    r[...] = 0
    return r


def hostile(kind: str, valid, variant: int, others: list, rng):
    if kind in (ARRAY, OPT_ARRAY):
        return hostile_array(valid, variant, others, rng)
    if kind == ARRAYS:
        arrays = list(valid)
        i = variant % max(1, len(arrays))
        if variant % 5 == 4 and arrays:
            return arrays + [arrays[0]]  # the same gradient twice
        if arrays:
            arrays[i] = hostile_array(arrays[i], variant // 2, others, rng)
        return arrays
    table = {
        FLOAT: HOSTILE_FLOATS,
        INT: HOSTILE_INTS,
        ITERS: HOSTILE_ITERS,
        STR: HOSTILE_STRS,
        BOOL: HOSTILE_BOOLS,
        PAIR: HOSTILE_PAIRS,
        SHAPE: HOSTILE_SHAPES,
        ANY: [5, -5, 1.5, "0", 2**64, [0]],
    }[kind]
    return table[variant % len(table)]


def materialize(name: str, recipe) -> dict:
    """The keyword arguments of a recipe (seed, size, mutations): the same every time."""
    seed, size, mutations = recipe
    rng = np.random.default_rng(seed)
    m = MODELS[name]
    kwargs = m.build(rng, size)
    params = list(m.kinds)
    for which, variant in mutations:
        if not params:
            break
        p = params[which % len(params)]
        others = [v for k, v in kwargs.items() if k != p and isinstance(v, np.ndarray)]
        kwargs[p] = hostile(m.kinds[p], kwargs.get(p), variant, others, rng)
    return kwargs


# ============================================================================ one call, both paths
CLEAR = (TypeError, ValueError, OverflowError)


def _leaves(obj, out: list) -> list:
    if isinstance(obj, dict):
        for k in sorted(obj):
            _leaves(obj[k], out)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _leaves(o, out)
    elif isinstance(obj, np.ndarray):
        out.append(obj.copy())
    elif isinstance(obj, (bool, int, float, np.generic, str)) or obj is None:
        out.append(obj)
    return out


class HarnessError(Exception):
    """A recipe the harness itself could not materialise (a bug here, not in grimoire)."""


def run_once(module, name: str, recipe, isa: str):
    """('ok', leaves) or ('error', type, message) or ('unclear', type, message)."""
    try:
        kwargs = materialize(name, recipe)
    except Exception as e:  # noqa: BLE001
        raise HarnessError(f"{type(e).__name__}: {e}") from e
    fn = getattr(module, name)
    core = _core_module()
    state = (core.active_isa(), core.get_num_threads())
    threshold = core._set_norm_stream_threshold(1 << 20)
    core._set_norm_stream_threshold(threshold)
    core.set_isa(isa)
    try:
        result = fn(**kwargs)
    except CLEAR as e:
        return ("error", type(e).__name__, str(e))
    except MemoryError as e:
        return ("error", "MemoryError", str(e))
    except Exception as e:  # noqa: BLE001 - the point: anything else is a finding
        return ("unclear", type(e).__name__, str(e))
    finally:
        core.set_isa(state[0])
        core.set_num_threads(state[1])
        core._set_norm_stream_threshold(threshold)
    # Array arguments a kernel may have written in place (not the read-only 2**40-row views, which
    # an unused optional argument can carry through a successful call and copying would exhaust memory).
    arrays = [v for v in kwargs.values() if isinstance(v, np.ndarray) and v.flags.writeable and v.size < 1e7]
    return ("ok", _leaves([result, arrays], []))


def _names_argument(name: str, message: str, module) -> bool:
    if "incompatible function arguments" in message:
        return True
    m = MODELS[name]
    params = set(m.kinds) | set(m.build(np.random.default_rng(0), 1))
    if any(re.search(rf"(?<![A-Za-z_]){re.escape(p)}(?![A-Za-z_])", message) for p in params):
        return True
    return False


def _same(a, b, tolerance: float) -> str:
    """'' when leaves a (fast path) and b (scalar path) agree, else why not."""
    if len(a) != len(b):
        return f"{len(a)} outputs against {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(x, np.ndarray) != isinstance(y, np.ndarray):
            return f"output {i}: {type(x).__name__} against {type(y).__name__}"
        if not isinstance(x, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype != y.dtype:
            return f"output {i}: {x.dtype}{x.shape} against {y.dtype}{y.shape}"
        if x.dtype.kind not in "fc":
            if not np.array_equal(x, y):
                return f"output {i}: values differ"
            continue
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return f"output {i}: NaN in different places"
        fin = np.isfinite(y)
        if not np.array_equal(np.isinf(x), np.isinf(y)) or not np.array_equal(x[np.isinf(y)], y[np.isinf(y)]):
            return f"output {i}: inf in different places"
        if fin.any():
            scale = max(1.0, float(np.max(np.abs(y[fin].astype(np.float64)))))
            err = float(np.max(np.abs(x[fin].astype(np.float64) - y[fin].astype(np.float64))))
            if err > tolerance * scale:
                return f"output {i}: max difference {err:.3g} (scale {scale:.3g})"
    return ""


def _fast_isa(core) -> str:
    return core.detected_isa()


def _core_module():
    from grimoire import _core

    return _core


def _extreme(obj, scalars: tuple = ()) -> bool:
    """Whether a float array among the arguments holds inf or a magnitude past the square root of
    its dtype's maximum (where a product or a square overflows), or a float argument named in
    `scalars` does (a Python float is a float64: past 1.3e154, or inf)."""
    if isinstance(obj, dict):
        for k in scalars:
            v = obj.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if abs(float(v)) > math.sqrt(float(np.finfo(np.float64).max)):
                    return True
        return any(_extreme(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_extreme(v) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size and obj.size < 1e7:
        with np.errstate(invalid="ignore"):
            return bool(np.any(np.abs(obj) > math.sqrt(float(np.finfo(obj.dtype).max))))
    return False


def _has_nan(obj) -> bool:
    if isinstance(obj, dict):
        return any(_has_nan(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_nan(v) for v in obj)
    if not (isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and 0 < obj.size < 1e7):
        return False
    return bool(np.isnan(obj).any())


def _mismatch(name: str, recipe) -> str:
    """'extreme_mismatch' when the recipe put inf or near-maximal values in a float array (where the
    fast path's float32 arithmetic legitimately overflows in other places than the scalar path's),
    'nan_mismatch' when it put NaN in one, else 'mismatch'."""
    kwargs = materialize(name, recipe)
    floats = tuple(p for p, kind in MODELS[name].kinds.items() if kind == FLOAT)
    if _extreme(kwargs, floats):
        return "extreme_mismatch"
    return "nan_mismatch" if _has_nan(kwargs) else "mismatch"


def check(module, name: str, recipe) -> tuple[str, str]:
    """(outcome, detail): outcome 'ok', 'error' (a clear one), or a finding: 'unclear', 'unnamed',
    'mismatch'."""
    core = _core_module()
    fast = run_once(module, name, recipe, _fast_isa(core))
    if fast[0] == "unclear":
        return "unclear", f"{fast[1]}: {fast[2]}"
    m = MODELS[name]
    if fast[0] == "error":
        # A MemoryError must say what was asked for ("an output of shape ... needs N GiB");
        # every other error must name one of the binding's parameters.
        if fast[1] == "MemoryError":
            if not re.search(r"GiB|allocate", fast[2]):
                return "unnamed", f"{fast[1]}: {fast[2]}"
        elif not _names_argument(name, fast[2], module):
            return "unnamed", f"{fast[1]}: {fast[2]}"
    ref = run_once(module, name, recipe, "scalar")
    if fast[0] != ref[0] or (fast[0] == "error" and fast[1] != ref[1]):
        return (
            _mismatch(name, recipe),
            f"fast path {fast[0]} {fast[1] if fast[0] != 'ok' else ''}, scalar path {ref[0]} "
            f"{ref[1:] if ref[0] != 'ok' else ''}",
        )
    if fast[0] == "error":
        return "error", fast[1]
    if m.canon is not None:
        fast, ref = ("ok", m.canon(fast[1])), ("ok", m.canon(ref[1]))
    compare = m.compare(materialize(name, recipe)) if callable(m.compare) else m.compare
    if compare:
        why = _same(fast[1], ref[1], m.tolerance)
    else:
        why = _same(
            [
                np.isfinite(x)
                if isinstance(x, np.ndarray) and x.dtype.kind == "f"
                else (x.shape if isinstance(x, np.ndarray) else type(x).__name__)
                for x in fast[1]
            ],
            [
                np.isfinite(x)
                if isinstance(x, np.ndarray) and x.dtype.kind == "f"
                else (x.shape if isinstance(x, np.ndarray) else type(x).__name__)
                for x in ref[1]
            ],
            0.0,
        )
    return (_mismatch(name, recipe), why) if why else ("ok", "")


# ============================================================================ the worker process
def modules() -> dict:
    """The extension modules to fuzz: grimoire._core, and grimoire._cuda when it imports."""
    from grimoire import _core

    mods = {"_core": _core}
    try:
        from grimoire import _cuda  # noqa: F401

        mods["_cuda"] = _cuda
    except ImportError:
        pass
    return mods


def bindings(mods: dict) -> list[tuple[str, str]]:
    return sorted(
        (mod, n)
        for mod, m in mods.items()
        for n in dir(m)
        if not n.startswith("__") and callable(getattr(m, n))
    )


def worker_main() -> None:
    mods = modules()
    for line in sys.stdin:
        mod, name, recipe = json.loads(line)
        try:
            outcome, detail = check(mods[mod], name, (recipe[0], recipe[1], [tuple(x) for x in recipe[2]]))
        except HarnessError as e:
            outcome, detail = "harness", str(e)
        sys.stdout.write(json.dumps([outcome, detail[:400]]) + "\n")
        sys.stdout.flush()


class Worker:
    """A child process running calls one at a time; a crash or a hang is caught and it restarts."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.proc = None
        self.restarts = 0

    def _start(self):
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        import grimoire  # the worker imports the same grimoire as this process (installed, or a build's)

        here = os.path.dirname(os.path.dirname(os.path.abspath(grimoire.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, root, env.get("PYTHONPATH", "")) if p)
        env.setdefault("GRIMOIRE_NUM_THREADS", "2")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz", "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=root,
        )

    def call(self, mod: str, name: str, recipe) -> tuple[str, str]:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps([mod, name, recipe]) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.stop()
            return "hang", f"no answer in {self.timeout:.0f} s"
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            err = self.proc.stderr.read()[-400:]
            self._close_pipes()
            self.proc = None
            self.restarts += 1
            return "crash", f"worker died with {code}: {err}"
        return tuple(json.loads(line))

    def _close_pipes(self):
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self._close_pipes()
            self.proc = None
            self.restarts += 1

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()
            self._close_pipes()
            self.proc = None


# ============================================================================ the driver
FINDINGS = (
    "crash", "hang", "unclear", "unnamed", "mismatch", "extreme_mismatch", "nan_mismatch", "flaky", "harness"
)

# Findings excused, each for a stated reason: (binding, outcome) -> why. They are counted and
# reported, never hidden, and do not stop that binding's run; any other finding fails. A plain
# "mismatch" is never excused: only an "extreme_mismatch", one whose recipe put inf or values past
# the square root of their type's maximum into the arguments (see _extreme), where the order in
# which a path multiplies and adds decides where an overflow lands and whether inf meets -inf, or
# a "nan_mismatch" (NaN in a float array) where a path multiplies a NaN by a zero it may skip.
_ORDER = (
    "inf or near-maximal operands: the SIMD kernels sum the products in another order (blocked, "
    "with FMA) than the scalar reference, so an overflow to inf, and inf + -inf = NaN, land in "
    "other elements"
)
_SKIPPED_ZERO = (
    "inf in v (or near-maximal q, k): the SIMD kernels multiply the masked/underflowed "
    "probabilities (0) by it, 0 * inf = NaN, where the scalar reference skips them"
)
_MASKED_NAN = (
    "NaN in v at a key the causal mask hides from some rows of a tile: the SIMD kernels multiply "
    "the whole tile's probabilities (0 for those rows) by v, 0 * NaN = NaN, as FlashAttention's "
    "diagonal blocks and PyTorch's math path do, where the scalar reference skips masked keys"
)
_STATISTICS = (
    "inf in x: the SIMD statistics are centred (two-pass / Welford, x - mean), so inf - inf = NaN "
    "where the scalar reference's plain sum gives inf"
)
KNOWN: dict[tuple[str, str], str] = {
    **{(n, "extreme_mismatch"): _ORDER for n in ("gemm", "matmul", "conv2d", "conv2d_backward")},
    **{(n, "extreme_mismatch"): _ORDER for n in ("softmax_backward", "log_softmax_backward")},
    ("cross_entropy", "extreme_mismatch"): _ORDER,
    ("batch_norm_backward", "extreme_mismatch"): _ORDER,
    ("pairwise_distances", "extreme_mismatch"): (
        "near-maximal or infinite rows: the squared norms and dot products overflow at other points "
        "on the SIMD path (blocked, fused) than on the scalar reference, so inf and inf / inf = NaN "
        "land in other elements (cosine, Gram form)"
    ),
    **{(n, "extreme_mismatch"): _SKIPPED_ZERO for n in ("attention_forward", "attention_backward")},
    **{(n, "nan_mismatch"): _MASKED_NAN for n in ("attention_forward", "attention_backward")},
    **{(n, "extreme_mismatch"): _STATISTICS for n in ("batch_norm", "layer_norm_backward")},
    ("rms_norm_backward", "extreme_mismatch"): _STATISTICS,
}


@dataclass
class Report:
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)
    per_binding: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)
    known: Counter = field(default_factory=Counter)
    known_examples: dict = field(default_factory=dict)
    missing_models: list = field(default_factory=list)
    exempt: dict = field(default_factory=dict)
    seconds: float = 0.0

    def ok(self) -> bool:
        return not self.findings and not self.missing_models

    def summary(self) -> str:
        lines = [
            f"fuzz: {self.calls} calls over {len(self.per_binding)} bindings in {self.seconds:.0f} s: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        ]
        lines += [f"  exempt {k}: {v}" for k, v in sorted(self.exempt.items())]
        for (name, outcome), n in sorted(self.known.items()):
            mod, _, recipe, _, detail = self.known_examples[(name, outcome)][0]
            lines.append(
                f"  excused {outcome} x{n} in {mod}.{name}: {detail}\n    why: {KNOWN[(name, outcome)]}"
                f"\n    reproduce: python -m tests.fuzz --repro {mod}.{name} '{json.dumps(recipe)}'"
            )
        lines += [f"  NO ARGUMENT MODEL for {m}" for m in self.missing_models]
        for mod, name, recipe, outcome, detail in self.findings:
            lines.append(
                f"  {outcome} in {mod}.{name}: {detail}\n    reproduce: python -m tests.fuzz --repro "
                f"{mod}.{name} '{json.dumps(recipe)}'"
            )
        return "\n".join(lines)


def _driver(worker, report, mod, name, found, seed, per, recipes, found_error):
    """The hypothesis test that sends one binding's recipes to the worker."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=per,
        database=None,
        deadline=None,
        derandomize=seed is not None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    @given(recipe=recipes)
    def drive(recipe):
        recipe = [recipe[0] ^ (seed or 0), recipe[1], [list(m) for m in recipe[2]]]
        outcome, detail = worker.call(mod, name, recipe)
        report.calls += 1
        report.per_binding[name] += 1
        report.outcomes[outcome] += 1
        if (name, outcome) in KNOWN:
            report.known[(name, outcome)] += 1
            if len(report.known_examples.setdefault((name, outcome), [])) < 1:
                report.known_examples[(name, outcome)].append((mod, name, recipe, outcome, detail))
            return
        if outcome in FINDINGS:
            found.append((mod, name, recipe, outcome, detail))
            raise found_error(detail)

    return drive


def run(
    calls: int, *, seed: int | None = 0, timeout: float = 30.0, only: list[str] | None = None, log=None
) -> Report:
    """About `calls` hostile calls spread evenly over every binding (hypothesis draws the recipes;
    seed=None gives fresh random ones, an int a reproducible run)."""
    from hypothesis import strategies as st
    from hypothesis.errors import Flaky

    report = Report()
    targets = []
    for mod, name in bindings(modules()):
        if only and name not in only:
            continue
        m = MODELS.get(name)
        if m is None:
            report.missing_models.append(f"{mod}.{name}")
        elif m.exempt:
            report.exempt[f"{mod}.{name}"] = m.exempt
        else:
            targets.append((mod, name))
    if not targets:
        return report
    per = max(1, calls // len(targets))
    recipes = st.tuples(
        st.integers(0, 2**32 - 1),
        st.sampled_from([0, 1, 2, 3, 5, 8, 17]),
        st.lists(st.tuples(st.integers(0, 63), st.integers(0, 63)), max_size=2),
    )
    worker = Worker(timeout)
    start = time.monotonic()

    class Found(Exception):
        pass

    try:
        for mod, name in targets:
            found: list = []
            drive = _driver(worker, report, mod, name, found, seed, per, recipes, Found)
            try:
                drive()
            except Found:
                report.findings.extend(found[:1])
            except Flaky:  # the same recipe answered differently when replayed: nondeterminism
                report.findings.append((*found[0][:3], "flaky", "replayed, the recipe did not fail again: "
                                        + found[0][4]))
            if log:
                log(
                    f"{mod}.{name}: {report.per_binding[name]} calls"
                    + (f", {found[0][3]}: {found[0][4][:120]}" if found else "")
                )
    finally:
        worker.close()
    report.seconds = time.monotonic() - start
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20000, help="hostile calls in all (CI's budget)")
    ap.add_argument("--long", type=int, metavar="N", help="a long run of N calls with fresh random recipes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds before a call counts as a hang")
    ap.add_argument("--only", nargs="*", help="binding names")
    ap.add_argument("--repro", nargs=2, metavar=("MODULE.NAME", "RECIPE"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main()
        return 0
    if args.repro:
        mod, name = args.repro[0].split(".", 1)
        recipe = json.loads(args.repro[1])
        recipe = (recipe[0], recipe[1], [tuple(x) for x in recipe[2]])
        print(
            "arguments:",
            {
                k: (
                    f"ndarray {v.dtype}{v.shape} strides {v.strides}"
                    if isinstance(v, np.ndarray)
                    else repr(v)
                )
                for k, v in materialize(name, recipe).items()
            },
        )
        print(check(modules()[mod], name, recipe))
        return 0
    calls = args.long or args.calls
    report = run(
        calls,
        seed=None if args.long else args.seed,
        timeout=args.timeout,
        only=args.only,
        log=lambda s: print(s, flush=True),
    )
    print(report.summary())
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())

