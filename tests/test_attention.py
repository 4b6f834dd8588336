"""grimoire.kernels.attention / attention_backward against PyTorch's scaled_dot_product_attention.

The oracle runs in float64 (forward and torch.autograd gradients); the tolerance is derived from
the error of torch's own float32 SDPA against that oracle (FlashAttention's habit), with a small
floor. Causal with q_len != k_len aligns bottom-right in grimoire, so torch gets an explicit mask.
"""

import os
import subprocess
import sys
import textwrap

import grimoire
import numpy as np
import pytest
import torch
from conftest import available_isas
from grimoire import _core
from grimoire.kernels import attention, attention_backward
from hypothesis import given, settings
from hypothesis import strategies as st

SDPA = torch.nn.functional.scaled_dot_product_attention


def make(rng, b, h, kh, lq, lk, d):
    q = rng.standard_normal((b, h, lq, d), dtype=np.float32)
    k = rng.standard_normal((b, kh, lk, d), dtype=np.float32)
    v = rng.standard_normal((b, kh, lk, d), dtype=np.float32)
    g = rng.standard_normal((b, h, lq, d), dtype=np.float32)
    return q, k, v, g


def oracle(q, k, v, g, *, causal=False, scale=None, mask=None, dtype=torch.float64):
    """Torch SDPA in `dtype`: (out, lse, dq, dk, dv, empty_rows). Rows that may attend to no key
    get a harmless all-visible mask and a zero upstream gradient (grimoire defines them as 0)."""
    b, h, lq, d = q.shape
    kh, lk = k.shape[1], k.shape[2]
    allowed = torch.ones(b, h, lq, lk, dtype=torch.bool)
    bias = torch.zeros(b, h, lq, lk, dtype=dtype)
    if causal:
        allowed &= torch.ones(lq, lk, dtype=torch.bool).tril(lk - lq)
    if mask is not None:
        m = torch.from_numpy(np.asarray(mask))
        if m.dtype == torch.bool:
            allowed = allowed & m
        else:
            bias = bias + m.to(dtype)
            allowed = allowed & (m != -np.inf)
    empty = ~allowed.any(-1)
    allowed[empty] = True
    bias[empty] = 0.0
    full = bias.masked_fill(~allowed, -np.inf)
    tq, tk, tv = (torch.tensor(x, dtype=dtype, requires_grad=True) for x in (q, k, v))
    tg = torch.tensor(g, dtype=dtype).masked_fill(empty[..., None], 0.0)
    kk, vv = tk.repeat_interleave(h // kh, 1), tv.repeat_interleave(h // kh, 1)
    out = SDPA(tq, kk, vv, attn_mask=full, scale=scale)
    out.backward(tg)
    s = (1.0 / np.sqrt(d) if scale is None else scale) * (tq @ kk.transpose(-1, -2)) + full
    lse = torch.logsumexp(s, -1)
    return (out.detach().double().numpy(), lse.detach().double().numpy(), tq.grad.double().numpy(),
            tk.grad.double().numpy(), tv.grad.double().numpy(), empty.numpy())


def check(q, k, v, *, causal=False, scale=None, mask=None, seed=1):
    """Forward and backward of grimoire against the float64 oracle, tolerance from torch float32."""
    g = np.random.default_rng(seed).standard_normal(q.shape, dtype=np.float32)
    out, lse = attention(q, k, v, causal=causal, scale=scale, mask=mask)
    assert out.dtype == np.float32 and out.shape == q.shape
    assert lse.dtype == np.float32 and lse.shape == q.shape[:3]
    ro, rl, rdq, rdk, rdv, empty = oracle(q, k, v, g, causal=causal, scale=scale, mask=mask)
    to, _, tdq, tdk, tdv, _ = oracle(q, k, v, g, causal=causal, scale=scale, mask=mask, dtype=torch.float32)

    def close(ours, ref, torch32, what, rows=None):
        if rows is not None:
            ours, ref, torch32 = ours[rows], ref[rows], torch32[rows]
        if ref.size == 0:
            return
        tol = 3 * np.abs(torch32 - ref).max() + 2e-6 * max(1.0, np.abs(ref).max())
        err = np.abs(ours - ref).max()
        assert err <= tol, f"{what}: max error {err:.3g} > tolerance {tol:.3g}"

    keep = ~empty
    close(out, ro, to, "out", keep)
    np.testing.assert_allclose(lse[keep], rl[keep], rtol=2e-6, atol=2e-6)
    assert np.all(out[empty] == 0.0) and np.all(lse[empty] == -np.inf)
    dq, dk, dv = attention_backward(g, q, k, v, out, lse, causal=causal, scale=scale, mask=mask)
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape
    close(dq, rdq, tdq, "dq")
    close(dk, rdk, tdk, "dk")
    close(dv, rdv, tdv, "dv")
    assert np.all(dq[empty] == 0.0)


# (batch, heads, kv_heads, q_len, k_len, head_dim)
SHAPES = [
    (1, 1, 1, 1, 1, 1),
    (2, 2, 2, 17, 17, 16),      # odd, within one tile
    (1, 4, 2, 70, 70, 64),      # GQA, crosses tiles
    (1, 3, 1, 33, 130, 32),     # MQA, q_len < k_len (KV-cache prefill chunk)
    (2, 2, 1, 130, 65, 8),      # q_len > k_len: causal rows above the diagonal attend to nothing
    (1, 2, 2, 1, 1100, 64),     # decode step over a long cache (three key ranges)
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch(isa, shape, causal):
    b, h, kh, lq, lk, d = shape
    q, k, v, _ = make(np.random.default_rng(0), b, h, kh, lq, lk, d)
    check(q, k, v, causal=causal)


@pytest.mark.parametrize("d", [1, 3, 16, 64, 80, 128, 256])
def test_head_dims(isa, d):
    q, k, v, _ = make(np.random.default_rng(d), 1, 2, 1, 9, 70, d)
    check(q, k, v, causal=True)
    check(q[:, :, :1], k, v)  # decode


def test_scale(isa):
    q, k, v, _ = make(np.random.default_rng(2), 1, 2, 2, 20, 31, 16)
    check(q, k, v, scale=0.37)
    check(q, k, v, causal=True, scale=2.0)


@pytest.mark.parametrize("causal", [False, True])
def test_float_masks(isa, causal):
    rng = np.random.default_rng(3)
    q, k, v, _ = make(rng, 2, 2, 1, 23, 70, 16)
    m2 = rng.standard_normal((23, 70)).astype(np.float32)
    m2[rng.random((23, 70)) < 0.3] = -np.inf
    m2[5] = -np.inf  # a query that attends to nothing
    check(q, k, v, causal=causal, mask=m2)
    m4 = rng.standard_normal((2, 1, 23, 70)).astype(np.float32)
    check(q, k, v, causal=causal, mask=m4)
    check(q[:, :, :1], k, v, causal=causal, mask=m4[:, :, :1])  # decode with a padding mask


@pytest.mark.parametrize("causal", [False, True])
def test_bool_masks(isa, causal):
    rng = np.random.default_rng(4)
    q, k, v, _ = make(rng, 2, 4, 2, 19, 67, 32)
    keep = rng.random((2, 1, 19, 67)) < 0.7
    keep[1, 0, 3] = False  # a query that attends to nothing
    check(q, k, v, causal=causal, mask=keep)
    keep_full = rng.random((2, 4, 19, 67)) < 0.5
    check(q, k, v, causal=causal, mask=keep_full)
    # bool and the equivalent additive mask give the same numbers
    a, la = attention(q, k, v, causal=causal, mask=keep)
    b, lb = attention(q, k, v, causal=causal, mask=np.where(keep, 0.0, -np.inf).astype(np.float32))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)


def test_empty_rows_give_zero_not_nan(isa):
    q, k, v, g = make(np.random.default_rng(5), 1, 2, 1, 6, 4, 8)
    out, lse = attention(q, k, v, causal=True)  # q_len > k_len: the first 2 queries see no key
    assert np.all(out[:, :, :2] == 0) and np.all(lse[:, :, :2] == -np.inf)
    assert np.all(np.isfinite(out[:, :, 2:]))
    dq, dk, dv = attention_backward(g, q, k, v, out, lse, causal=True)
    assert np.all(dq[:, :, :2] == 0) and np.all(np.isfinite(dk)) and np.all(np.isfinite(dv))
    out, lse = attention(q, k[:, :, :0], v[:, :, :0])  # no keys at all
    assert np.all(out == 0) and np.all(lse == -np.inf)
    dq, dk, dv = attention_backward(g, q, k[:, :, :0], v[:, :, :0], out, lse)
    assert np.all(dq == 0) and dk.shape == (1, 1, 0, 8)


def test_empty_shapes(isa):
    q, k, v, g = make(np.random.default_rng(6), 0, 2, 1, 5, 7, 4)
    out, lse = attention(q, k, v)
    assert out.shape == (0, 2, 5, 4) and lse.shape == (0, 2, 5)
    q, k, v, g = make(np.random.default_rng(6), 1, 2, 1, 0, 7, 4)
    out, lse = attention(q, k, v)
    dq, dk, dv = attention_backward(g, q, k, v, out, lse)
    assert out.shape == (1, 2, 0, 4) and np.all(dk == 0) and np.all(dv == 0)


@pytest.mark.parametrize("lq", [1, 70])
def test_nan_propagates_to_its_row_only(isa, lq):
    q, k, v, g = make(np.random.default_rng(7), 1, 2, 1, lq, 700, 16)
    q[0, 0, 0, 5] = np.nan
    out, lse = attention(q, k, v)
    assert np.all(np.isnan(out[0, 0, 0])) and np.isnan(lse[0, 0, 0])
    out[0, 0, 0] = lse[0, 0, 0] = 0
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(lse))
    k[0, 0, 600, 1] = np.nan  # a NaN key reaches every query
    assert np.all(np.isnan(attention(q, k, v)[0]))


def test_strided_views_read_in_place(isa):
    """(batch, len, heads, head_dim) tensors viewed as (batch, heads, len, head_dim)."""
    rng = np.random.default_rng(8)
    qb = rng.standard_normal((2, 37, 4, 16), dtype=np.float32)
    kb = rng.standard_normal((2, 41, 2, 16), dtype=np.float32)
    vb = rng.standard_normal((2, 41, 2, 16), dtype=np.float32)
    q, k, v = (x.transpose(0, 2, 1, 3) for x in (qb, kb, vb))
    out, lse = attention(q, k, v, causal=True)
    qc, kc, vc = (np.ascontiguousarray(x) for x in (q, k, v))
    out_c, lse_c = attention(qc, kc, vc, causal=True)
    np.testing.assert_array_equal(out, out_c)
    g = rng.standard_normal(out.shape, dtype=np.float32)
    grads = attention_backward(g, q, k, v, out, lse, causal=True)
    grads_c = attention_backward(g, qc, kc, vc, out_c, lse_c, causal=True)
    for a, b in zip(grads, grads_c, strict=True):
        np.testing.assert_array_equal(a, b)
    check(q, k, v, causal=True)


@pytest.mark.parametrize("lq", [1, 150])
def test_deterministic_and_independent_of_threads(isa, lq):
    q, k, v, g = make(np.random.default_rng(9), 1, 3, 1, lq, 700, 32)
    before = grimoire.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3, 2):
            grimoire.set_num_threads(n)
            out, lse = attention(q, k, v, causal=True)
            results.append((out, lse, *attention_backward(g, q, k, v, out, lse, causal=True)))
    finally:
        grimoire.set_num_threads(before)
    for r in results[1:]:
        for a, b in zip(results[0], r, strict=True):
            np.testing.assert_array_equal(a, b)


@settings(max_examples=12, deadline=None)
@given(
    b=st.integers(0, 2), kh=st.integers(1, 2), group=st.integers(1, 3), lq=st.integers(0, 70),
    lk=st.integers(0, 70), d=st.sampled_from([1, 2, 5, 8, 13, 24, 40]), causal=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_shapes(b, kh, group, lq, lk, d, causal, seed):
    q, k, v, _ = make(np.random.default_rng(seed), b, kh * group, kh, lq, lk, d)
    previous = _core.active_isa()
    try:
        for isa in available_isas():
            _core.set_isa(isa)
            check(q, k, v, causal=causal, seed=seed)
    finally:
        _core.set_isa(previous)


def test_paths_agree(rng):
    """The tiled SIMD path and the scalar reference give the same numbers to float32 rounding."""
    q, k, v, g = make(rng, 1, 4, 2, 100, 200, 48)
    mask = rng.random((100, 200)) < 0.8
    previous = _core.active_isa()
    res = {}
    try:
        for isa in available_isas():
            _core.set_isa(isa)
            out, lse = attention(q, k, v, causal=True, mask=mask)
            res[isa] = (out, lse, *attention_backward(g, q, k, v, out, lse, causal=True, mask=mask))
    finally:
        _core.set_isa(previous)
    for isa, r in res.items():
        for a, b in zip(r, res["scalar"], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=isa)


def test_registered_family():
    paths, used = _core.kernel_families()["attention"]
    assert paths == ["scalar", "avx2", "avx512"] and used == _core.active_isa()


def test_bad_input_raises():
    rng = np.random.default_rng(10)
    q, k, v, g = make(rng, 1, 4, 2, 5, 6, 8)
    with pytest.raises(ValueError, match=r"head_dim must be in \[1, 256\], got 300"):
        attention(*make(rng, 1, 1, 1, 2, 2, 300)[:3])
    with pytest.raises(ValueError, match="multiple of the kv_heads"):
        attention(q, k[:, :0], v[:, :0])
    with pytest.raises(ValueError, match="multiple of the kv_heads"):
        attention(*make(rng, 1, 4, 3, 2, 2, 8)[:3])
    with pytest.raises(ValueError, match="v must have the shape of k"):
        attention(q, k, v[:, :, :5])
    with pytest.raises(ValueError, match="batch size of q"):
        attention(q, np.concatenate([k, k]), np.concatenate([v, v]))
    with pytest.raises(ValueError, match="head_dim of q"):
        attention(q, k[..., :4], v[..., :4])
    with pytest.raises(TypeError, match="q must have dtype float32, got float64"):
        attention(q.astype(np.float64), k, v)
    with pytest.raises(TypeError, match="k must be an array on the CPU that exports DLPack"):
        attention(q, k.tolist(), v)
    with pytest.raises(ValueError, match="q must have 4 dimensions"):
        attention(q[0], k, v)
    with pytest.raises(ValueError, match="contiguous last dimension"):
        attention(q[..., ::2], k[..., ::2], v[..., ::2])
    with pytest.raises(ValueError, match="does not broadcast"):
        attention(q, k, v, mask=np.zeros((5, 7), np.float32))
    with pytest.raises(ValueError, match="does not broadcast"):
        attention(q, k, v, mask=np.zeros((2, 1, 5, 6), np.float32))
    with pytest.raises(ValueError, match="mask must have 2 to 4 dimensions"):
        attention(q, k, v, mask=np.zeros(6, np.float32))
    with pytest.raises(TypeError, match="mask must have dtype float32"):
        attention(q, k, v, mask=np.zeros((5, 6), np.int32))
    with pytest.raises(ValueError, match="scale must be finite"):
        attention(q, k, v, scale=float("nan"))
    with pytest.raises(TypeError, match="scale must be a float"):
        attention(q, k, v, scale="0.5")
    out, lse = attention(q, k, v)
    with pytest.raises(ValueError, match="grad_out must have the shape of q"):
        attention_backward(g[:, :, :4], q, k, v, out, lse)
    with pytest.raises(ValueError, match="lse must have the shape"):
        attention_backward(g, q, k, v, out, lse[:, :2])
    with pytest.raises(TypeError, match="lse must have dtype float32"):
        attention_backward(g, q, k, v, out, lse.astype(np.float64))
    with pytest.raises(TypeError, match="out must have dtype float32"):
        attention_backward(g, q, k, v, out.astype(np.float64), lse)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_memory_stays_linear_in_sequence_length(threads):
    """Forward + backward at seq 8192 (B=1, H=1, d=64): a score matrix would be 256 MiB; the
    process grows by the outputs (~8 MiB) and per-thread tiles, plus (one thread: the fused
    backward) accumulators and packed query tiles linear in the sequence (~14 MiB)."""
    script = textwrap.dedent("""
        import resource
        import numpy as np
        from grimoire.kernels import attention, attention_backward
        n, d = 8192, 64
        rng = np.random.default_rng(0)
        q, k, v, g = (rng.standard_normal((1, 1, n, d), dtype=np.float32) for _ in range(4))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out, lse = attention(q, k, v, causal=True)
        dq, dk, dv = attention_backward(g, q, k, v, out, lse, causal=True)
        assert np.isfinite(dq).all() and np.isfinite(dk).all() and np.isfinite(dv).all()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
    """)
    env = {**os.environ, "GRIMOIRE_NUM_THREADS": threads}
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    growth = int(res.stdout.split()[-1])
    score_matrix = 8192 * 8192 * 4
    assert growth < score_matrix / 8, f"RSS grew by {growth / 2**20:.1f} MiB"
