"""Linear attention (primer 5.4.5) against autograd through a direct PyTorch implementation."""

import numpy as np
import pytest
import torch
from grimoire import nn
from grimoire.autograd import Tensor
from grimoire.kernels import linear_attention, linear_attention_backward
from grimoire.nn.linear_attention import linear_attention as linear_attention_op
from hypothesis import given, settings
from hypothesis import strategies as st


def direct(q, k, v, causal, eps):
    """The quadratic form: A_ij = phi(q_i) . phi(k_j) over the keys query i sees, out = A v / (A 1 + eps)."""
    fq, fk = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    a = fq @ fk.transpose(-1, -2)
    if causal:
        tq, tk = q.shape[-2], k.shape[-2]
        keep = torch.ones(tq, tk, dtype=torch.bool).tril(tk - tq)
        a = a * keep
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)


def oracle(q, k, v, g, causal, eps=1e-6):
    tq, tk, tv = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (q, k, v))
    out = direct(tq, tk, tv, causal, eps)
    out.backward(torch.tensor(g, dtype=torch.float64))
    return out.detach().numpy(), tq.grad.numpy(), tk.grad.numpy(), tv.grad.numpy()


@settings(max_examples=60, deadline=None)
@given(lead=st.sampled_from([(1,), (3,), (2, 2), (1, 3)]), tq=st.integers(0, 9), extra=st.integers(0, 5),
       d=st.integers(1, 9), e=st.integers(1, 9), causal=st.booleans(), seed=st.integers(0, 10_000))
def test_forward_and_backward_equal_autograd_through_the_direct_form(lead, tq, extra, d, e, causal, seed):
    rng = np.random.default_rng(seed)
    tk = tq + extra if causal else max(extra + tq // 2, 0)
    q = rng.standard_normal((*lead, tq, d)).astype(np.float32)
    k = rng.standard_normal((*lead, tk, d)).astype(np.float32)
    v = rng.standard_normal((*lead, tk, e)).astype(np.float32)
    g = rng.standard_normal((*lead, tq, e)).astype(np.float32)
    out = linear_attention(q, k, v, causal=causal)
    dq, dk, dv = linear_attention_backward(g, q, k, v, causal=causal)
    want = oracle(q, k, v, g, causal)
    for got, ref in zip((out, dq, dk, dv), want, strict=True):
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5)


def test_causal_prefix_sums_on_a_long_sequence_stay_accurate():
    rng = np.random.default_rng(0)
    q, k = (rng.standard_normal((1, 4096, 16)).astype(np.float32) for _ in range(2))
    v = rng.standard_normal((1, 4096, 16)).astype(np.float32)
    out = linear_attention(q, k, v, causal=True)
    ref = oracle(q, k, v, np.zeros_like(v), True)[0]
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_nan_and_inf_propagate_to_the_rows_they_touch():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 6, 4)).astype(np.float32) for _ in range(3))
    q[0, 2, 1] = np.nan
    out = linear_attention(q, k, v)
    assert np.isnan(out[0, 2]).all() and np.isfinite(np.delete(out[0], 2, axis=0)).all()
    v2 = v.copy()
    v2[0, 4, 0] = np.inf
    causal = linear_attention(np.zeros_like(q), k, v2, causal=True)
    assert np.isfinite(causal[0, :4]).all() and not np.isfinite(causal[0, 4:, 0]).any()


def test_bad_input_names_the_argument():
    q = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(TypeError, match="q must have dtype float32"):
        linear_attention(q.astype(np.float64), q, q)
    with pytest.raises(ValueError, match="k must have the shape"):
        linear_attention(q, np.zeros((2, 3, 5), np.float32), q)
    with pytest.raises(ValueError, match="v must have the shape"):
        linear_attention(q, q, np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        linear_attention(np.zeros((2, 4, 3), np.float32).transpose(0, 2, 1), q, q)
    with pytest.raises(ValueError, match="eps"):
        linear_attention(q, q, q, eps=0.0)
    with pytest.raises(ValueError, match="grad_out must have the shape"):
        linear_attention_backward(np.zeros((2, 3, 5), np.float32), q, q, q)
    with pytest.raises(ValueError, match="dimensions"):
        linear_attention(q[0], q[0], q[0])


def test_autograd_op_and_layer_gradients_equal_the_direct_form():
    rng = np.random.default_rng(2)
    layer = nn.LinearAttention(16, 4)
    x = rng.standard_normal((2, 7, 16)).astype(np.float32)
    for causal in (False, True):
        xt = Tensor(x, requires_grad=True)
        out = layer(xt, is_causal=causal)
        out.sum().backward()
        # the same layer written out in PyTorch with the direct (quadratic) attention
        w = torch.tensor(layer.in_proj_weight.data, dtype=torch.float64)
        bias = torch.tensor(layer.in_proj_bias.data, dtype=torch.float64)
        wo = torch.tensor(layer.out_proj.weight.data, dtype=torch.float64)
        bo = torch.tensor(layer.out_proj.bias.data, dtype=torch.float64)
        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        q, k, v = (z.reshape(2, 7, 4, 4).transpose(1, 2) for z in (tx @ w.T + bias).split(16, -1))
        ref = direct(q, k, v, causal, 1e-6).transpose(1, 2).reshape(2, 7, 16) @ wo.T + bo
        ref.sum().backward()
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    sd = layer.state_dict()
    assert set(sd) == {"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"}
    with pytest.raises(ValueError, match="x must have shape"):
        layer(Tensor(np.zeros((2, 7, 8), np.float32)))
    # the op on tensors that need no grad records nothing
    t = Tensor(x[:, None])
    assert not linear_attention_op(t, t, t).requires_grad
