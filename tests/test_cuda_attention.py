"""grimoire._cuda attention (FlashAttention-2 on tensor cores, split-K decode, SIMT float32) against
the CPU core, a float64 torch oracle and, where importable, PyTorch CUDA SDPA.

Without a GPU: the binding's argument checks on fake device arrays give the CPU binding's messages,
and the Python dispatch routes device arrays to _cuda. With a GPU (`needs_gpu`): forward and
backward over odd lengths, causal (bottom-right) and not, GQA/MQA, decode (split-K), head_dim 64,
80, 128 and 256, bf16/fp16/float32. Tolerances come from the low-precision reference's own error:
a NumPy emulation of the same algorithm in float32 with the roundings to bf16/fp16 the kernel
must make (inputs, P before P V, dS before dS K, the output), measured against the float64 oracle;
the kernel may err at most ~2x as much (plus a floor at float32 resolution).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from cuda_support import DEVICES, FakeDeviceArray, _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import attention, attention_backward
from hypothesis import given, settings
from hypothesis import strategies as st
from test_attention import oracle

# ---------------------------------------------------------------------------------------------
# Without a GPU: argument checks (the same messages as the CPU binding) and dispatch.
# ---------------------------------------------------------------------------------------------

# (q shape, k shape, v shape, kwargs)
BAD_CALLS = [
    ((2, 4, 8, 16), (3, 2, 8, 16), (3, 2, 8, 16), {}),  # batch differs
    ((2, 4, 8, 16), (2, 2, 8, 32), (2, 2, 8, 32), {}),  # head_dim differs
    ((2, 4, 8, 16), (2, 3, 8, 16), (2, 3, 8, 16), {}),  # heads not a multiple of kv_heads
    ((2, 4, 8, 16), (2, 2, 8, 16), (2, 2, 9, 16), {}),  # v is not k's shape
    ((1, 1, 4, 300), (1, 1, 4, 300), (1, 1, 4, 300), {}),  # head_dim too large
    ((4, 8, 16), (1, 4, 8, 16), (1, 4, 8, 16), {}),  # q is 3-D
    ((1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8), {"scale": float("nan")}),
]


def _host(shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def _same_error(cpu_call, gpu_call):
    with pytest.raises((ValueError, TypeError)) as cpu_err:
        cpu_call()
    with pytest.raises(type(cpu_err.value)) as gpu_err:
        gpu_call()
    assert str(cpu_err.value) == str(gpu_err.value)  # one check helper, one message


@needs_build
@pytest.mark.parametrize(("qs", "ks", "vs", "kwargs"), BAD_CALLS)
@pytest.mark.parametrize("dtype", ["float32", "float16", "uint16"])
def test_forward_refuses_what_the_cpu_core_refuses(qs, ks, vs, kwargs, dtype):
    call = {"causal": False, "scale": None, "mask": None} | kwargs
    _same_error(lambda: _core.attention_forward(_host(qs), _host(ks), _host(vs), **call),
                lambda: _cuda.attention_forward(FakeDeviceArray(qs, dtype), FakeDeviceArray(ks, dtype),
                                                FakeDeviceArray(vs, dtype), **call))


@needs_build
@pytest.mark.parametrize(
    ("mask_shape", "mask_dtype"),
    [((8,), "float32"), ((2, 3, 8, 8, 1), "float32"), ((3, 8), "float32"), ((1, 5, 8, 8), "bool"),
     ((8, 8), "int32")],
)
def test_mask_is_checked_like_the_cpu_core(mask_shape, mask_dtype):
    q, k = (1, 2, 8, 16), (1, 1, 8, 16)
    host_mask, dev_mask = _host(mask_shape, mask_dtype), FakeDeviceArray(mask_shape, mask_dtype, ptr=1 << 36)
    _same_error(lambda: _core.attention_forward(_host(q), _host(k), _host(k), False, None, host_mask),
                lambda: _cuda.attention_forward(FakeDeviceArray(q), FakeDeviceArray(k), FakeDeviceArray(k),
                                                False, None, dev_mask))


@needs_build
def test_operands_must_be_contiguous_in_head_dim_and_share_a_dtype():
    q = (1, 2, 8, 16)
    strided = FakeDeviceArray(q, strides=(512, 256, 32, 2))
    every_other = np.zeros((1, 2, 8, 32), np.float32)[..., ::2]
    _same_error(lambda: _core.attention_forward(every_other, _host(q), _host(q)),
                lambda: _cuda.attention_forward(strided, FakeDeviceArray(q), FakeDeviceArray(q)))
    with pytest.raises(TypeError, match="k must have dtype uint16, got float32"):
        _cuda.attention_forward(FakeDeviceArray(q, "uint16"), FakeDeviceArray(q), FakeDeviceArray(q))
    with pytest.raises(TypeError, match="q must have dtype float32, bfloat16 .* or float16, got float64"):
        _cuda.attention_forward(FakeDeviceArray(q, "float64"), FakeDeviceArray(q), FakeDeviceArray(q))
    with pytest.raises(TypeError, match="must be a CUDA array"):
        _cuda.attention_forward(FakeDeviceArray(q), _host(q), FakeDeviceArray(q))


@needs_build
@pytest.mark.parametrize("bad", ["grad_out", "out", "lse", "lse_dtype"])
def test_backward_checks_like_the_cpu_core(bad):
    q = (1, 2, 8, 16)
    shapes = {"grad_out": q, "out": q, "lse": q[:3]}
    if bad in shapes:
        shapes[bad] = (1, 2, 7, 16) if bad != "lse" else (1, 2, 7)
    lse_dtype = "float64" if bad == "lse_dtype" else "float32"

    def args(make, lse_make):
        return (make(shapes["grad_out"]), make(q), make(q), make(q), make(shapes["out"]),
                lse_make(shapes["lse"]))

    host = args(_host, lambda s: _host(s, lse_dtype))
    dev = args(FakeDeviceArray, lambda s: FakeDeviceArray(s, lse_dtype))
    _same_error(lambda: _core.attention_backward(*host), lambda: _cuda.attention_backward(*dev))


@needs_build
@pytest.mark.skipif(DEVICES > 0, reason="this machine has a CUDA device")
@pytest.mark.parametrize("dtype", ["float32", "float16", "uint16"])
def test_valid_calls_reach_the_device(dtype):
    q, k = (1, 4, 8, 64), (1, 2, 8, 64)
    qd, kd, mask = FakeDeviceArray(q, dtype), FakeDeviceArray(k, dtype), FakeDeviceArray((8, 8), "bool")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        _cuda.attention_forward(qd, kd, kd, True, 0.5, mask)


def test_dispatch_refuses_mixed_devices():
    q = (1, 2, 8, 16)
    with pytest.raises(ValueError, match="q is on cuda but k is on cpu"):
        attention(FakeDeviceArray(q), _host(q), FakeDeviceArray(q))
    with pytest.raises(ValueError, match="grad_out is on cpu but q is on cuda"):
        attention_backward(_host(q), FakeDeviceArray(q), FakeDeviceArray(q), FakeDeviceArray(q),
                           FakeDeviceArray(q), FakeDeviceArray(q[:3]))


@needs_build
def test_family_is_listed():
    assert "attention_fwd_mma" in _cuda.families["attention"]
    assert "attention_bwd_dkdv_mma" in _cuda.families["attention"]


# ---------------------------------------------------------------------------------------------
# With a GPU.
# ---------------------------------------------------------------------------------------------

LOW = {"bf16": ml_dtypes.bfloat16, "f16": np.float16}


def rounded(x, kind):
    """x rounded to the kernel's input dtype (still float32): what the GPU reads."""
    return x if kind == "f32" else x.astype(LOW[kind]).astype(np.float32)


def to_device(x, kind):
    import cupy

    if kind == "bf16":
        return cupy.asarray(x.astype(ml_dtypes.bfloat16).view(np.uint16))
    return cupy.asarray(x.astype(np.float16 if kind == "f16" else np.float32))


def to_host(x, kind):
    h = x.get()
    return h.view(ml_dtypes.bfloat16).astype(np.float32) if kind == "bf16" else h.astype(np.float32)


def allowed_mask(lq, lk, causal, mask):
    allowed = np.ones((lq, lk), bool)
    if causal:
        allowed &= np.tri(lq, lk, lk - lq, dtype=bool)
    if mask is not None:
        allowed = allowed & (mask if mask.dtype == bool else mask != -np.inf)
    return allowed


def emulate(q, k, v, g, kind, *, causal, scale, mask):
    """The kernel's algorithm in float32 with its roundings to `kind` (P before P V, dS before dS K
    and dS^T Q, the output): the low-precision reference whose error sets the tolerance."""
    r = (lambda x: x) if kind == "f32" else (lambda x: rounded(x, kind))
    h, kh = q.shape[1], k.shape[1]
    kk, vv = np.repeat(k, h // kh, 1), np.repeat(v, h // kh, 1)
    d = q.shape[-1]
    scale = 1 / np.sqrt(d) if scale is None else scale
    s = scale * (q @ kk.swapaxes(-1, -2))
    if mask is not None and mask.dtype != bool:
        s = s + mask
    allowed = np.broadcast_to(allowed_mask(q.shape[2], k.shape[2], causal, mask), s.shape)
    s = np.where(allowed, s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    p = np.exp(s - m)
    l = p.sum(-1, keepdims=True)
    out = r(np.where(l > 0, (r(p) @ vv) / np.where(l > 0, l, 1), 0.0).astype(np.float32))
    lse = np.where(l[..., 0] > 0, m[..., 0] + np.log(np.where(l > 0, l, 1)[..., 0]), -np.inf)
    pn = np.where(l > 0, p / np.where(l > 0, l, 1), 0.0)
    dvv = r(pn).swapaxes(-1, -2) @ g
    dp = g @ vv.swapaxes(-1, -2)
    ds = pn * (dp - (g * out).sum(-1, keepdims=True))
    dq = scale * (r(ds) @ kk)
    dkk = scale * (r(ds).swapaxes(-1, -2) @ q)
    b = q.shape[0]
    dk = dkk.reshape(b, kh, h // kh, *dkk.shape[2:]).sum(2)
    dv = dvv.reshape(b, kh, h // kh, *dvv.shape[2:]).sum(2)
    return out, lse, dq, dk, dv


def check_gpu(shape, kind, *, causal=False, scale=None, mask=None, seed=0, backward=True):
    import cupy

    b, h, kh, lq, lk, d = shape
    rng = np.random.default_rng(seed)
    q, k, v, g = (rounded(rng.standard_normal(s, dtype=np.float32), kind)
                  for s in ((b, h, lq, d), (b, kh, lk, d), (b, kh, lk, d), (b, h, lq, d)))
    dq_, dk_, dv_, dg = (to_device(x, kind) for x in (q, k, v, g))
    dmask = None if mask is None else cupy.asarray(mask)
    out_d, lse_d = attention(dq_, dk_, dv_, causal=causal, scale=scale, mask=dmask)
    assert isinstance(out_d, cupy.ndarray) and out_d.shape == q.shape and lse_d.dtype == np.float32
    out, lse = to_host(out_d, kind), lse_d.get()
    ro, rl, rdq, rdk, rdv, empty = oracle(q, k, v, g, causal=causal, scale=scale, mask=mask)
    eo, el, edq, edk, edv = emulate(q, k, v, g, kind, causal=causal, scale=scale, mask=mask)

    def close(ours, ref, low, what, rows=None):
        if rows is not None:
            ours, ref, low = ours[rows], ref[rows], low[rows]
        if ref.size == 0:
            return
        tol = 2 * np.abs(low - ref).max() + 4e-6 * max(1.0, np.abs(ref).max())
        err = np.abs(ours - ref).max()
        assert err <= tol, f"{kind} {what}: max error {err:.3g} > tolerance {tol:.3g}"

    keep = ~empty
    close(out, ro, eo, "out", keep)
    close(lse, rl, el, "lse", keep)
    assert np.all(out[empty] == 0.0) and np.all(lse[empty] == -np.inf)
    if kind == "f32":  # the same float32 inputs as the CPU core: agree to float32 resolution
        co, cl = _core.attention_forward(q, k, v, causal, scale, mask)
        np.testing.assert_allclose(out, co, rtol=1e-4, atol=1e-5)
    if not backward:
        return
    grads = attention_backward(dg, dq_, dk_, dv_, out_d, lse_d, causal=causal, scale=scale, mask=dmask)
    again = attention_backward(dg, dq_, dk_, dv_, out_d, lse_d, causal=causal, scale=scale, mask=dmask)
    for x, y in zip(grads, again, strict=True):
        assert x.dtype == np.float32
        assert bool(cupy.array_equal(x, y)), "the backward must be deterministic"
    gq, gk, gv = (x.get() for x in grads)
    close(gq, rdq, edq, "dq")
    close(gk, rdk, edk, "dk")
    close(gv, rdv, edv, "dv")


# (batch, heads, kv_heads, q_len, k_len, head_dim)
GPU_SHAPES = [
    (1, 2, 2, 1, 1, 64),
    (2, 2, 2, 17, 17, 64),
    (1, 4, 2, 127, 127, 128),     # GQA, odd length, one ragged tile
    (1, 3, 1, 33, 130, 64),       # MQA, q_len < k_len
    (2, 2, 1, 130, 65, 128),      # q_len > k_len: causal rows above the diagonal attend to nothing
    (1, 2, 2, 1000, 1000, 64),    # many tiles
    (1, 2, 2, 257, 300, 256),     # head_dim 256 (16-key tiles)
    (1, 2, 1, 77, 91, 80),        # head_dim 80, padded to 128
]


@needs_gpu
@pytest.mark.parametrize("shape", GPU_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", ["bf16", "f16"])
def test_tensor_core_path_matches_the_oracle(shape, causal, kind):
    check_gpu(shape, kind, causal=causal)


@needs_gpu
@pytest.mark.parametrize("shape", [(1, 2, 1, 17, 40, 20), (1, 2, 2, 33, 33, 64), (1, 1, 1, 5, 9, 256)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("causal", [False, True])
def test_float32_and_simt_paths(shape, causal):
    check_gpu(shape, "f32", causal=causal)
    check_gpu(shape, "bf16", causal=causal)  # head_dim 20: not a multiple of 8, the SIMT path


@needs_gpu
@pytest.mark.parametrize("q_len", [1, 4, 16])
@pytest.mark.parametrize("kv_heads", [1, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_decode_splits_the_keys(q_len, kv_heads, causal):
    import cupy

    shape = (1, 4, kv_heads, q_len, 3000, 128)
    q = cupy.zeros(shape[:2] + (q_len, 128), cupy.uint16)
    k = cupy.zeros((1, kv_heads, 3000, 128), cupy.uint16)
    assert _cuda.attention_forward_path(q, k, k, causal) == "mma_splitk"
    check_gpu(shape, "bf16", causal=causal, backward=q_len == 4)


@needs_gpu
def test_masks_and_scale():
    lq, lk = 40, 70
    rng = np.random.default_rng(3)
    keep = rng.random((lq, lk)) < 0.7
    keep[5] = False  # a row that attends to nothing
    check_gpu((1, 2, 1, lq, lk, 64), "bf16", mask=keep, scale=0.3)
    additive = np.where(keep, rng.standard_normal((lq, lk)).astype(np.float32), -np.inf).astype(np.float32)
    check_gpu((2, 2, 2, lq, lk, 64), "f16", mask=additive[None, None], causal=True)


@needs_gpu
def test_empty_sizes():
    import cupy

    for lq, lk in [(0, 5), (5, 0), (0, 0)]:
        q = cupy.ones((1, 2, lq, 64), cupy.float16)
        k = cupy.ones((1, 2, lk, 64), cupy.float16)
        out, lse = attention(q, k, k)
        assert out.shape == q.shape and bool(cupy.all(out == 0)) and bool(cupy.all(lse == -cupy.inf))
        dq, dk, dv = attention_backward(q, q, k, k, out, lse)
        assert dq.shape == q.shape and dk.shape == k.shape
        assert not bool(cupy.any(dq)) and not bool(cupy.any(dk)) and not bool(cupy.any(dv))


@needs_gpu
def test_strided_views_and_nan_rows():
    import cupy

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 50, 4, 64), dtype=np.float32)  # (batch, len, heads, d)
    dev = to_device(x, "f16").transpose(0, 2, 1, 3)
    out, _ = attention(dev, dev, dev, causal=True)
    ref, _ = attention(cupy.ascontiguousarray(dev), cupy.ascontiguousarray(dev), cupy.ascontiguousarray(dev),
                       causal=True)
    assert bool(cupy.array_equal(out, ref))
    q = x.transpose(0, 2, 1, 3).copy()
    q[0, 1, 7] = np.nan
    qd = to_device(q, "f16")
    out, _ = attention(qd, dev, dev)
    nan_rows = cupy.isnan(out.astype(cupy.float32)).any(-1).get()
    assert nan_rows[0, 1, 7] and nan_rows.sum() == 1  # NaN stays in its row, as on the CPU


@needs_gpu
def test_torch_cuda_tensors_zero_copy_and_sdpa():
    import cupy
    import torch

    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    lq, lk = 100, 300
    q = torch.randn(2, 8, lq, 128, device="cuda", dtype=torch.float16)
    k = torch.randn(2, 2, lk, 128, device="cuda", dtype=torch.float16)
    v = torch.randn(2, 2, lk, 128, device="cuda", dtype=torch.float16)
    out, _ = attention(q, k, v, causal=True)
    bottom_right = torch.ones(lq, lk, dtype=torch.bool, device="cuda").tril(lk - lq)
    kk, vv = k.repeat_interleave(4, 1), v.repeat_interleave(4, 1)
    sdpa_fn = torch.nn.functional.scaled_dot_product_attention
    ref = sdpa_fn(q.double(), kk.double(), vv.double(), attn_mask=bottom_right)
    sdpa = sdpa_fn(q, kk, vv, attn_mask=bottom_right)
    ours = torch.as_tensor(cupy.asnumpy(out.astype(cupy.float64)), device="cuda")
    err, err_torch = (ours - ref).abs().max().item(), (sdpa.double() - ref).abs().max().item()
    assert err <= 2 * err_torch + 1e-4, (err, err_torch)

    # Backward against torch autograd: float64 on the GPU as the reference, torch's fp16 SDPA
    # gradients as the low-precision yardstick.
    g = torch.randn_like(q)
    lse = attention(q, k, v, causal=True)[1]
    grads = attention_backward(g, q, k, v, out, lse, causal=True)
    leaves64 = [x.double().requires_grad_() for x in (q, k, v)]
    leaves16 = [x.detach().clone().requires_grad_() for x in (q, k, v)]
    for (lq_, lk_, lv_), dtype in ((leaves64, torch.float64), (leaves16, torch.float16)):
        sdpa_fn(lq_, lk_.repeat_interleave(4, 1), lv_.repeat_interleave(4, 1),
                attn_mask=bottom_right).backward(g.to(dtype))
    for ours_g, ref_g, low_g, what in zip(grads, leaves64, leaves16, ("dq", "dk", "dv"), strict=True):
        ours_t = torch.as_tensor(ours_g.get(), device="cuda").double()
        err = (ours_t - ref_g.grad).abs().max().item()
        err_torch = (low_g.grad.double() - ref_g.grad).abs().max().item()
        assert err <= 2 * err_torch + 1e-4, (what, err, err_torch)


@needs_gpu
@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 2), kh=st.integers(1, 2), group=st.integers(1, 3), lq=st.integers(1, 70),
       lk=st.integers(1, 140), d=st.sampled_from([8, 24, 64, 72, 128]), causal=st.booleans(),
       kind=st.sampled_from(["bf16", "f16", "f32"]))
def test_random_shapes(b, kh, group, lq, lk, d, causal, kind):
    check_gpu((b, kh * group, kh, lq, lk, d), kind, causal=causal, seed=lq * 1000 + lk)
