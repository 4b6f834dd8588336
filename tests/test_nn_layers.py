"""Every layer's forward and backward against PyTorch CPU with the same weights.

One helper (``check``) builds the layer in both libraries, loads torch's state_dict (converted to
NumPy) into ours, runs the same input, back-propagates the same output gradient, and compares the
output, the input's gradient and every parameter's gradient.
"""

import grimoire
import numpy as np
import pytest
import torch
from grimoire import Tensor, nn
from grimoire.nn import functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

torch.set_num_threads(1)


def _np(t):
    return t.detach().numpy()


def check(ours, theirs, *inputs, rtol=1e-4, atol=1e-5, kwargs=None, tkwargs=None, out_index=None, grads=True):
    """Load theirs' weights into ours; compare forward, input grads and parameter grads."""
    kwargs, tkwargs = kwargs or {}, tkwargs if tkwargs is not None else (kwargs or {})
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    t_in = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    o_in = [Tensor(x, requires_grad=True) if x.dtype.kind == "f" else x for x in inputs]
    t_out = theirs(*t_in, **tkwargs)
    o_out = ours(*o_in, **kwargs)
    if out_index is not None:
        t_out, o_out = t_out[out_index], o_out[out_index]
    np.testing.assert_allclose(o_out.numpy(), _np(t_out), rtol=rtol, atol=atol)
    if not grads:
        return
    g = np.random.default_rng(5).standard_normal(t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    o_out.backward(g)
    for o, t in zip(o_in, t_in, strict=True):
        if isinstance(o, Tensor):
            np.testing.assert_allclose(o.grad, _np(t.grad), rtol=rtol, atol=atol)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, _np(tp[name].grad), rtol=rtol, atol=atol, err_msg=name)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 7), (1, 7)])
def test_linear(shape):
    check(nn.Linear(7, 5), torch.nn.Linear(7, 5), randn(*shape))
    check(nn.Linear(7, 5, bias=False), torch.nn.Linear(7, 5, bias=False), randn(*shape))


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.GELU(), torch.nn.GELU()),
        (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        (nn.SiLU(), torch.nn.SiLU()),
        (nn.Softmax(-1), torch.nn.Softmax(-1)),
        (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)),
        (nn.Flatten(), torch.nn.Flatten()),
    ],
)
def test_activations(ours, theirs):
    check(ours, theirs, randn(3, 5, 4) * 3)


def test_swiglu():
    x = randn(3, 8)
    tx = torch.tensor(x, requires_grad=True)
    a, b = tx.chunk(2, -1)
    ref = torch.nn.functional.silu(a) * b
    ox = Tensor(x, requires_grad=True)
    out = nn.SwiGLU()(ox)
    np.testing.assert_allclose(out.numpy(), _np(ref), rtol=1e-5, atol=1e-6)
    ref.sum().backward()
    out.sum().backward()
    np.testing.assert_allclose(ox.grad, _np(tx.grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "cfg",
    [
        dict(),
        dict(stride=2, padding=1),
        dict(padding=2, dilation=2),
        dict(groups=2, padding=1),
        dict(stride=(2, 1), bias=False),
    ],
)
def test_conv2d(cfg):
    check(nn.Conv2d(4, 6, 3, **cfg), torch.nn.Conv2d(4, 6, 3, **cfg), randn(2, 4, 9, 8))


@pytest.mark.parametrize(
    "cfg", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=1)]
)
def test_pooling(cfg):
    x = randn(2, 3, 8, 7)
    check(nn.MaxPool2d(**cfg), torch.nn.MaxPool2d(**cfg), x)
    check(nn.AvgPool2d(**cfg), torch.nn.AvgPool2d(**cfg), x)


def test_max_pool_primer_example():
    # primer 5.2.2: 2x2 max pooling of the 4x4 map
    m = np.array([[1, 3, 2, 5], [5, 8, 4, 7], [2, 6, 9, 1], [4, 3, 2, 6]], np.float32)[None, None]
    np.testing.assert_array_equal(F.max_pool2d(Tensor(m), 2).numpy()[0, 0], [[8, 7], [6, 9]])


@pytest.mark.parametrize(
    "ours,theirs,shape",
    [
        (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5), (6, 5)),
        (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5), (4, 5, 3)),
        (nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3), (4, 3, 5, 2)),
    ],
)
def test_batchnorm(ours, theirs, shape):
    x = randn(*shape) * 2 + 1
    check(ours, theirs, x)
    for k, v in theirs.state_dict().items():  # running statistics after one training step
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    check(ours, theirs, x)


def test_layernorm_rmsnorm():
    check(nn.LayerNorm(6), torch.nn.LayerNorm(6), randn(3, 4, 6))
    check(nn.LayerNorm((4, 6)), torch.nn.LayerNorm((4, 6)), randn(3, 4, 6))
    check(nn.LayerNorm(6, bias=False), torch.nn.LayerNorm(6, bias=False), randn(3, 6))
    check(nn.RMSNorm(6), torch.nn.RMSNorm(6), randn(3, 4, 6))
    check(nn.RMSNorm(6, eps=1e-5), torch.nn.RMSNorm(6, eps=1e-5), randn(5, 6))


def test_embedding():
    idx = np.array([[1, 3, 3], [0, 9, 1]])
    check(nn.Embedding(10, 4), torch.nn.Embedding(10, 4), idx)


def test_dropout_inverted_scaling():
    grimoire.manual_seed(0)
    d = nn.Dropout(0.25)
    x = Tensor(np.ones((200, 200), np.float32), requires_grad=True)
    y = d(x)
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75, rtol=1e-6)
    d.eval()
    assert d(x) is x


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent(cls, batch_first):
    ours = getattr(nn, cls)(5, 4, num_layers=2, batch_first=batch_first)
    theirs = getattr(torch.nn, cls)(5, 4, num_layers=2, batch_first=batch_first)
    x = randn(3, 6, 5)
    check(ours, theirs, x, out_index=0)
    ours.zero_grad()
    theirs.zero_grad()
    o, t = ours(Tensor(x))[1], theirs(torch.tensor(x))[1]
    if cls == "LSTM":  # (h_n, c_n)
        for a, b in zip(o, t, strict=True):
            np.testing.assert_allclose(a.numpy(), _np(b), rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(o.numpy(), _np(t), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(batch_first):
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    x = randn(3, 5, 8) if batch_first else randn(5, 3, 8)  # batch 3, length 5
    check(ours, theirs, x, x, x, out_index=0)
    # causal: torch's top-left is_causal equals bottom-right when T_q == T_k; pass the mask explicitly
    mask = np.triu(np.ones((5, 5), bool), 1)
    ours.zero_grad()
    theirs.zero_grad()
    check(
        ours,
        theirs,
        x,
        x,
        x,
        out_index=0,
        kwargs=dict(is_causal=True),
        tkwargs=dict(attn_mask=torch.tensor(mask)),
    )
    # cross-attention with a key padding mask, and the averaged weights
    kv = randn(3, 4, 8, seed=1) if batch_first else randn(4, 3, 8, seed=1)
    kpm = np.zeros((3, 4), bool)
    kpm[0, 3] = True
    ours.zero_grad()
    theirs.zero_grad()
    check(
        ours,
        theirs,
        x,
        kv,
        kv,
        out_index=0,
        kwargs=dict(key_padding_mask=kpm),
        tkwargs=dict(key_padding_mask=torch.tensor(kpm)),
    )
    w = ours(Tensor(x), Tensor(kv), Tensor(kv), need_weights=True)[1]
    tw = theirs(torch.tensor(x), torch.tensor(kv), torch.tensor(kv), need_weights=True)[1]
    np.testing.assert_allclose(w, _np(tw), rtol=1e-4, atol=1e-6)


def test_attention_gqa_and_bottom_right_causal():
    q, k, v = randn(2, 4, 3, 8), randn(2, 2, 5, 8, seed=1), randn(2, 2, 5, 8, seed=2)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    mask = torch.tensor(np.tril(np.ones((3, 5), bool), 5 - 3))  # bottom-right alignment
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=mask, enable_gqa=True)
    oq, ok, ov = (Tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(oq, ok, ov, is_causal=True)
    np.testing.assert_allclose(out.numpy(), _np(ref), rtol=1e-5, atol=1e-6)
    g = randn(*out.shape, seed=3)
    ref.backward(torch.tensor(g))
    out.backward(g)
    for o, t in ((oq, tq), (ok, tk), (ov, tv)):
        np.testing.assert_allclose(o.grad, _np(t.grad), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_layers(norm_first):
    torch.manual_seed(0)
    cfg = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first)
    x, mem = randn(2, 5, 8), randn(2, 3, 8, seed=1)
    check(
        nn.TransformerEncoderLayer(8, 2, activation="gelu", **cfg),
        torch.nn.TransformerEncoderLayer(8, 2, activation="gelu", **cfg),
        x,
    )
    mask = np.triu(np.ones((5, 5), bool), 1)
    check(
        nn.TransformerDecoderLayer(8, 2, **cfg),
        torch.nn.TransformerDecoderLayer(8, 2, **cfg),
        x,
        mem,
        kwargs=dict(tgt_is_causal=True),
        tkwargs=dict(tgt_mask=torch.tensor(mask)),
    )


def test_transformer_encoder_stack_seq_first():
    cfg = dict(dim_feedforward=16, dropout=0.0)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **cfg), 2, norm=nn.LayerNorm(8))
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, **cfg),
        2,
        norm=torch.nn.LayerNorm(8),
        enable_nested_tensor=False,
    )
    check(ours, theirs, randn(5, 2, 8))


class _TorchBasicBlock(torch.nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.conv2 = torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(inplanes, planes, 1, stride, bias=False), torch.nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class _TorchDenseBlock(torch.nn.Module):
    def __init__(self, n, c, growth):
        super().__init__()
        for i in range(n):
            layer = torch.nn.Module()
            layer.norm1 = torch.nn.BatchNorm2d(c + i * growth)
            layer.conv1 = torch.nn.Conv2d(c + i * growth, 4 * growth, 1, bias=False)
            layer.norm2 = torch.nn.BatchNorm2d(4 * growth)
            layer.conv2 = torch.nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x):
        feats = [x]
        for m in self.children():
            h = torch.cat(feats, 1)
            feats.append(m.conv2(torch.relu(m.norm2(m.conv1(torch.relu(m.norm1(h)))))))
        return torch.cat(feats, 1)


@pytest.mark.parametrize("stride,inplanes", [(1, 4), (2, 3)])
def test_basic_block(stride, inplanes):
    check(nn.BasicBlock(inplanes, 4, stride), _TorchBasicBlock(inplanes, 4, stride), randn(2, inplanes, 6, 6))


def test_dense_block():
    check(nn.DenseBlock(2, 3, 2), _TorchDenseBlock(2, 3, 2), randn(2, 3, 5, 5))


def test_sequential_keys_and_shapes():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
    )
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    check(ours, theirs, randn(2, 1, 8, 8))


def test_vit_and_moe_shapes_and_grads():
    grimoire.manual_seed(0)
    vit = nn.ViT(8, 4, 10, dim=16, depth=1, heads=2)
    out = vit(Tensor(randn(3, 1, 8, 8)))
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None and np.isfinite(p.grad).all() for p in vit.parameters())
    moe = nn.MoE(6, 12, num_experts=4, top_k=2)
    x = Tensor(randn(2, 5, 6), requires_grad=True)
    y = moe(x)
    assert y.shape == (2, 5, 6)
    assert moe.aux_loss.item() >= 1.0 - 1e-6  # n * sum f_i P_i >= 1 with equality only when balanced
    (y.sum() + moe.aux_loss).backward()
    assert np.isfinite(x.grad).all()


def test_moe_matches_dense_reference():
    # the routed computation equals the dense mixture over the top-k experts, computed directly
    grimoire.manual_seed(1)
    moe = nn.MoE(4, 8, num_experts=3, top_k=2)
    x = randn(7, 4)
    y = moe(Tensor(x)).numpy()
    with grimoire.no_grad():
        p = F.softmax(moe.router(Tensor(x)), -1).numpy()
        outs = np.stack([e(Tensor(x)).numpy() for e in moe.experts], 1)  # (N, E, d)
    top = np.argsort(-p, 1, kind="stable")[:, :2]
    w = np.take_along_axis(p, top, 1)
    w /= w.sum(1, keepdims=True)
    ref = (np.take_along_axis(outs, top[:, :, None], 1) * w[:, :, None]).sum(1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_encoder_decoder_transformer():
    cfg = dict(dim_feedforward=16, dropout=0.0, batch_first=True)
    ours = nn.Transformer(8, 2, 2, 1, **cfg)
    theirs = torch.nn.Transformer(8, 2, 2, 1, **cfg)
    src, tgt = randn(2, 5, 8), randn(2, 4, 8, seed=1)
    mask = np.triu(np.ones((4, 4), bool), 1)
    check(ours, theirs, src, tgt, kwargs=dict(tgt_is_causal=True), tkwargs=dict(tgt_mask=torch.tensor(mask)))


def test_bad_inputs_raise_clearly():
    with pytest.raises(ValueError):
        nn.Linear(3, 2)(Tensor(np.ones((4, 5))))
    with pytest.raises(ValueError):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError):
        nn.BatchNorm2d(3)(Tensor(np.ones((2, 3))))
    with pytest.raises(ValueError):
        nn.Dropout(1.5)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.MoE(4, 8, num_experts=2, top_k=3)
    with pytest.raises(ValueError):
        nn.GPT(16, 8, 2, 1, max_len=4)(np.zeros((1, 5), np.int64))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 3), st.sampled_from([1, 2, 3, 7]), st.sampled_from([1, 2, 5]),
       st.sampled_from([1, 3, 4]))
def test_linear_shapes_hypothesis(batch, seq, n_in, n_out):
    theirs = torch.nn.Linear(n_in, n_out)
    ours = nn.Linear(n_in, n_out)
    check(ours, theirs, randn(batch, seq, n_in))


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_self_attention_takes_the_packed_projection(batch_first, monkeypatch):
    """query is key is value: one (3E, E) projection of the input, in both layouts (issue 12: the
    (T, B, E) transposes used to hide the identity), and torch's output and gradients."""
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    calls = []
    linear = F.linear
    monkeypatch.setattr(F, "linear", lambda x, w, b=None: calls.append(w.shape) or linear(x, w, b))
    x = randn(3, 5, 8) if batch_first else randn(5, 3, 8)
    xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(xo, xo, xo)[0], theirs(xt, xt, xt)[0]
    assert calls == [(24, 8), (8, 8)]  # the packed in-projection, then out_proj
    np.testing.assert_allclose(out.numpy(), _np(tout), rtol=1e-4, atol=1e-5)
    g = randn(*tout.shape, seed=2)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad, _np(xt.grad), rtol=1e-4, atol=1e-5)
    tw = _np(theirs.in_proj_weight.grad)
    np.testing.assert_allclose(ours.in_proj_weight.grad, tw, rtol=1e-4, atol=1e-5)
    calls.clear()
    ours(xo)  # key and value default to the query: packed too
    assert calls == [(24, 8), (8, 8)]
    calls.clear()
    kv = Tensor(randn(4, 3, 8, seed=1) if not batch_first else randn(3, 4, 8, seed=1))
    ours(xo, kv, kv)  # cross-attention: three (E, E) projections (then out_proj)
    assert calls == [(8, 8)] * 4


def test_kv_cache_preallocates_grows_by_doubling_and_returns_views():
    """extend() writes into a buffer and returns views of its live part; the buffer doubles when
    a step would overflow; the contents always equal the concatenation of every step."""
    rng = np.random.default_rng(0)
    cache = nn.KVCache(capacity=3)
    steps = [rng.standard_normal((2, 3, t, 4)).astype(np.float32) for t in (2, 1, 1, 3, 1, 5, 40)]
    capacities, buffers = [], []
    for i, s in enumerate(steps):
        k, v = cache.extend(Tensor(s), Tensor(-s))
        want = np.concatenate(steps[: i + 1], axis=2)
        np.testing.assert_array_equal(k.numpy(), want)
        np.testing.assert_array_equal(v.numpy(), -want)
        assert len(cache) == want.shape[2] and not k.requires_grad
        capacities.append(cache._k.shape[2])
        buffers.append(cache._k)
        assert np.shares_memory(k.numpy(), np.asarray(cache._k))  # a view, not a copy
    # 3 (asked) -> 6 (doubled at 4 tokens) -> 12 (at 7) -> 24 (at 13) -> 53 (a 40-token step
    # needs more than double)
    assert capacities == [3, 3, 6, 12, 12, 24, 53]
    assert buffers[0] is buffers[1] and buffers[3] is buffers[4]
    with pytest.raises(ValueError, match="does not continue the cache"):
        cache.extend(Tensor(np.zeros((1, 3, 1, 4), np.float32)), Tensor(np.zeros((1, 3, 1, 4), np.float32)))
    with pytest.raises(ValueError, match="capacity must be a non-negative int"):
        nn.KVCache(-1)


@pytest.mark.parametrize("temperature, top_k", [(0.0, None), (0.9, 5)])
def test_gpt_generate_with_kv_cache_equals_without(temperature, top_k):
    """The cache (preallocated for prompt + new tokens) changes nothing: the same tokens as
    re-running the whole context every step, greedy and sampled, and it holds every position."""
    grimoire.manual_seed(0)
    m = nn.GPT(vocab_size=11, d_model=16, n_heads=2, n_layers=2, max_len=32)
    prompt = np.random.default_rng(1).integers(0, 11, (2, 5))
    kw = dict(temperature=temperature, top_k=top_k, seed=4)
    a = m.generate(prompt, 12, use_cache=True, **kw)
    b = m.generate(prompt, 12, use_cache=False, **kw)
    assert a.shape == (2, 17)
    np.testing.assert_array_equal(a, b)
    # the logits of the last step agree too (not just the argmax / the sampled token)
    caches = [nn.KVCache(17) for _ in m.blocks]
    with grimoire.no_grad():
        m(a[:, :10], caches)
        step = m(a[:, 10:11], caches)[:, -1].numpy()
        full = m(a[:, :11])[:, -1].numpy()
    np.testing.assert_allclose(step, full, rtol=1e-4, atol=1e-5)
    assert len(caches[0]) == 11 and caches[0]._k.shape[2] == 17
