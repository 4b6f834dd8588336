"""grimoire.autograd: the primer's 2.3.3 example, gradcheck on every op (float64 central
differences), broadcasting, gradient accumulation semantics, against PyTorch where it helps."""

import operator

import grimoire
import numpy as np
import pytest
import torch
from grimoire import Tensor
from grimoire import autograd as ag
from grimoire.autograd import gradcheck
from grimoire.nn import functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def r(*shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


def test_primer_233_partial_derivatives():
    for x0, y0 in [(2.0, 3.0), (-1.5, 0.25), (0.0, 0.0)]:
        x, y = Tensor(x0, requires_grad=True), Tensor(y0, requires_grad=True)
        f = x**3 + 2 * x * y + y
        f.backward()
        assert f.item() == pytest.approx(x0**3 + 2 * x0 * y0 + y0, rel=1e-6)
        assert float(x.grad) == pytest.approx(3 * x0**2 + 2 * y0, rel=1e-6, abs=1e-6)
        assert float(y.grad) == pytest.approx(2 * x0 + 1, rel=1e-6)


UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "gelu": lambda a: a.gelu(),
    "gelu_tanh": lambda a: a.gelu("tanh"),
    "silu": lambda a: a.silu(),
    "abs": lambda a: a.abs(),
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "sum_axis": lambda a: a.sum(axis=1),
    "sum_keep": lambda a: a.sum(dim=0, keepdim=True),
    "sum": lambda a: a.sum(),
    "mean": lambda a: a.mean(axis=(0, 1)),
    "var": lambda a: a.var(axis=1),
    "var_biased": lambda a: a.var(0, unbiased=False),
    "max": lambda a: a.max(axis=1),
    "max_all": lambda a: a.max(),
    "min": lambda a: a.min(0, keepdims=True),
    "reshape": lambda a: a.reshape(4, 3) * 2,
    "T": lambda a: a.T * 1.5,
    "transpose": lambda a: a.transpose(0, 1),
    "getitem_slice": lambda a: a[1:, ::2],
    "getitem_gather": lambda a: a[[0, 2, 0]],
    "getitem_pairs": lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])],
    "clamp": lambda a: a.clamp(-0.5, 0.5),
    "masked_fill": lambda a: a.masked_fill(a.data > 0.3, 0.0),
    "unsqueeze_squeeze": lambda a: a.unsqueeze(1).squeeze(1),
    "flatten": lambda a: a.flatten(),
    "expand": lambda a: a[:, :1].expand(3, 4),
    "rsub": lambda a: 1.0 - a,
    "rdiv": lambda a: 1.0 / (a * a + 1),
    "rpow": lambda a: 2.0**a,
    "to64": lambda a: a.to(np.float64) * 1.0,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradcheck_unary(name):
    assert gradcheck(UNARY[name], [r(3, 4)])


@pytest.mark.parametrize("name", ["log", "sqrt", "pow_frac"])
def test_gradcheck_positive_domain(name):
    fn = {"log": lambda a: a.log(), "sqrt": lambda a: a.sqrt(), "pow_frac": lambda a: a**1.7}[name]
    assert gradcheck(fn, [r(3, 4, positive=True)])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "matmul": lambda a, b: a @ b.T,
    "where": lambda a, b: ag.where(a.data > b.data, a, b),
    "cat": lambda a, b: ag.cat([a, b], 0),
    "stack": lambda a, b: ag.stack([a, b], 2),
    "pow_tensor": lambda a, b: (a * a + 1) ** b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_gradcheck_binary(name):
    assert gradcheck(BINARY[name], [r(3, 4), r(3, 4, seed=1)])


@pytest.mark.parametrize("sa,sb", [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((1,), (2, 3))])
def test_gradcheck_broadcasting(sa, sb):
    for fn in (BINARY["add"], BINARY["mul"], BINARY["div"], BINARY["sub"]):
        assert gradcheck(fn, [r(*sa), r(*sb, seed=1)])


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((3, 1, 2, 4), (5, 4, 3)),
        ((4,), (4, 2)),
        ((3, 4), (4,)),
    ],
)
def test_gradcheck_matmul(sa, sb):
    assert gradcheck(lambda a, b: a @ b, [r(*sa), r(*sb, seed=1)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradcheck_softmax_kernels_float32(name):
    for dim in (-1, 0):
        assert gradcheck(lambda a, d=dim: getattr(a, name)(d), [r(3, 4)], dtype=np.float32)


def test_gradcheck_functional_ops():
    # ops backed by the core's float32 kernels: checked in float32 (step 1e-2, tolerance 2e-2)
    x = r(2, 3, 5, 5)
    w = r(4, 3, 3, 3, seed=1)
    b = r(4, seed=2)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x, w, b], dtype=np.float32)
    assert gradcheck(lambda x: F.max_pool2d(x, 2), [x], dtype=np.float32)
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1), [x], dtype=np.float32)
    assert gradcheck(
        lambda x, w, b: F.layer_norm(x, 5, w, b), [r(3, 5), r(5, seed=1), r(5, seed=2)], dtype=np.float32
    )
    assert gradcheck(lambda x, w: F.rms_norm(x, 5, w, 1e-6), [r(3, 5), r(5, seed=1)], dtype=np.float32)
    assert gradcheck(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
        [r(4, 3, 2), r(3, seed=1), r(3, seed=2)],
        dtype=np.float32,
    )
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [r(2, 3, 4), r(5, 4, seed=1), r(5, seed=2)])
    assert gradcheck(lambda z: F.cross_entropy(z, np.array([1, 0, 3])), [r(3, 4)], dtype=np.float32)
    assert gradcheck(
        lambda z: F.cross_entropy(z, np.array([1, -100, 3]), label_smoothing=0.1), [r(3, 4)], dtype=np.float32
    )
    assert gradcheck(lambda z: F.binary_cross_entropy_with_logits(z, np.array([1.0, 0.0, 1.0])), [r(3)])
    assert gradcheck(lambda w: F.embedding(np.array([[0, 2], [2, 2]]), w), [r(3, 4)])
    assert gradcheck(lambda s: F.index_add(4, np.array([0, 3, 0]), s), [r(3, 2)])


def test_gradcheck_detects_a_wrong_gradient():
    def bad(a):  # forward a^2, backward pretends 3a
        return Tensor._make(a.data**2, (a,), lambda g: (g * 3 * a.data,), "bad")

    with pytest.raises(AssertionError):
        gradcheck(bad, [r(3)])
    assert gradcheck(bad, [r(3)], raise_exception=False) is False


def test_no_leak_into_second_backward():
    # micrograd's lesson: an intermediate node's gradient must not carry into the next backward()
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 18 * x.data)
    x.grad = None
    y.backward()
    np.testing.assert_allclose(x.grad, 18 * x.data)
    assert h.grad is None
    y.backward()  # leaves accumulate, as in PyTorch
    np.testing.assert_allclose(x.grad, 36 * x.data)


def test_shared_subexpression_and_deep_chain():
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0 + 0.0
    (y * x).backward()
    assert float(x.grad) == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,sl", [((300, 257), np.s_[:, :]), ((130, 600), np.s_[:, ::2])])
def test_gelu_large_against_torch(dtype, shape, sl):
    """GELU on NumPy data over 32768 elements runs in blocks (a partial last block; a strided
    view); values and gradients as torch's exact GELU, including 0, -0 and the far tails."""
    a = (np.random.default_rng(0).standard_normal(shape) * 4).astype(dtype)
    a[0, :6] = [0.0, -0.0, 40.0, -40.0, 1e-30, -9.0]
    g = np.random.default_rng(1).standard_normal(a[sl].shape).astype(dtype)
    x = Tensor(a, requires_grad=True)
    y = x[sl].gelu()
    y.backward(g)
    t = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.gelu(t[sl])
    ty.backward(torch.tensor(g))
    tol = 2e-6 if dtype == np.float32 else 5e-7  # the erf approximation's 1.5e-7, scaled by |x|
    assert np.asarray(y.data).dtype == dtype and np.asarray(x.grad).dtype == dtype
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=0, atol=tol * 4)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=0, atol=tol * 4)


@pytest.mark.parametrize(
    "a", [np.float32(-0.7), np.zeros((0, 3), np.float32), np.ones((2, 5), np.float32)[:, ::2]]
)
def test_gelu_kernel_path_keeps_shapes(a):
    """float32 host data takes the core's kernels: 0-d, empty and strided inputs keep their shape,
    and the gradient of a sum (a broadcast, zero-stride array) is read correctly."""
    x = Tensor(a, requires_grad=True)
    y = x.gelu()
    y.sum().backward()
    t = torch.tensor(np.asarray(a), requires_grad=True)
    torch.nn.functional.gelu(t).sum().backward()
    assert y.shape == t.shape and x.grad.shape == t.shape
    np.testing.assert_allclose(y.data, torch.nn.functional.gelu(t).detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), atol=1e-6)


def test_slice_gradients_sum_into_one_buffer():
    """Slices of one tensor (split's pieces, overlapping ones, a step) plus a dense use and a
    float64 use: the sum as torch's, and no leaf's .grad aliases another gradient."""
    a = np.random.default_rng(0).standard_normal((6, 9))
    for dtype in (np.float32, np.float64):
        x = Tensor(a.astype(dtype), requires_grad=True)
        w = Tensor(a[:, :3].astype(dtype), requires_grad=True)
        q, k, v = F.split(x, [3, 3, 3], -1)
        out = (q * w).sum() + (k * 2).sum() + v.exp().sum() + (x[1:4, 2:7] ** 2).sum()
        out = out + x[::2, ::3].sum() + (x * 3).sum() + (x.to(np.float64) * x.to(np.float64)).sum()
        out.backward()
        t = torch.tensor(a.astype(dtype), requires_grad=True)
        tw = torch.tensor(a[:, :3].astype(dtype), requires_grad=True)
        tq, tk, tv = torch.split(t, 3, -1)
        tout = (tq * tw).sum() + (tk * 2).sum() + tv.exp().sum() + (t[1:4, 2:7] ** 2).sum()
        tout = tout + t[::2, ::3].sum() + (t * 3).sum() + (t.double() * t.double()).sum()
        tout.backward()
        assert np.asarray(x.grad).dtype == dtype
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-6)
        before = np.array(w.grad)
        x.grad += 1.0  # a private buffer: writing it leaves every other gradient alone
        np.testing.assert_array_equal(w.grad, before)


def test_leaf_gradient_is_private():
    """A leaf's .grad never shares memory with the gradient handed to backward or with another
    leaf's .grad, also when the sum was formed inside backward."""
    x = Tensor(np.ones(4), requires_grad=True)
    y = Tensor(np.ones(4), requires_grad=True)
    g = np.arange(4.0)
    (x + y + x).backward(g)
    np.testing.assert_array_equal(x.grad, 2 * g)
    np.testing.assert_array_equal(y.grad, g)
    assert not np.shares_memory(y.grad, g) and not np.shares_memory(x.grad, y.grad)
    y.grad += 1
    np.testing.assert_array_equal(g, np.arange(4.0))


def test_no_grad_and_detach():
    x = Tensor(np.ones(3), requires_grad=True)
    with grimoire.no_grad():
        y = x * 2
    assert not y.requires_grad
    z = (x * 2).detach()
    assert not z.requires_grad and z.is_leaf
    with pytest.raises(RuntimeError):
        y.sum().backward()
    with pytest.raises(RuntimeError):
        (x * 2).backward()  # non-scalar without a gradient


def test_float32_default_and_torch_agreement():
    a = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    x = Tensor(a, requires_grad=True)
    assert all(t.numpy().dtype == np.float32 for t in (x, Tensor(3), Tensor([1, 2])))
    out = ((x @ x.T).tanh() * 2 - x.sum(1, keepdims=True)).mean()
    assert out.numpy().dtype == np.float32
    out.backward()
    t = torch.tensor(a, requires_grad=True)
    ((t @ t.T).tanh() * 2 - t.sum(1, keepdim=True)).mean().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert np.asarray(x.grad).dtype == np.float32


def test_manual_seed_reproducible():
    grimoire.manual_seed(3)
    a = ag.randn(4).numpy().copy()
    grimoire.manual_seed(3)
    np.testing.assert_array_equal(a, ag.randn(4).numpy())


def test_softmax_primer_524():
    np.testing.assert_allclose(np.round(Tensor([-2.4, 0.5, 1.7]).softmax().numpy(), 2), [0.01, 0.23, 0.76])


def test_nan_inf_propagate():
    x = Tensor(np.array([np.nan, np.inf, 1.0]), requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    assert np.isnan(y.item())
    np.testing.assert_array_equal(x.grad, [2, 2, 2])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 3, 5]), min_size=1, max_size=3), st.integers(0, 2))
def test_reductions_against_torch(shape, axis):
    axis = axis % len(shape)
    a = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    for name in ("sum", "mean", "amax"):
        x, t = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        o = getattr(x, "max" if name == "amax" else name)(axis=axis)
        tt = getattr(t, name)(dim=axis)
        np.testing.assert_allclose(o.numpy(), tt.detach().numpy(), rtol=1e-5, atol=1e-6)
        o.sum().backward()
        tt.sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_empty_and_zero_sized():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    assert y.item() == 0.0 and x.grad.shape == (0, 3)


OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
          "pow": operator.pow}


def _operands(rng, shape_left, shape_right, name):
    """Values for (left, right) of ``name``: away from 0 (division), a positive base for pow."""
    def signed(shape):
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)

    if name == "pow":
        return rng.uniform(0.5, 1.5, shape_left), rng.uniform(-2.0, 2.0, shape_right)
    return signed(shape_left), signed(shape_right)


@settings(max_examples=150, deadline=None)
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    st.sampled_from(sorted(OPERATORS)),
    st.sampled_from(["tensor", "array", "0-d array", "scalar"]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_binary_ops_broadcast_against_torch(shapes, name, other, swap, seed):
    """Every binary op with every kind of second operand (a tensor needing a grad, a NumPy
    constant, a 0-d array, a Python scalar) on either side: values and gradients as torch, the
    gradient of each tensor summed back to its own shape."""
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    if other in ("scalar", "0-d array"):
        sb = ()
    lv, rv = _operands(rng, *((sb, sa) if swap else (sa, sb)), name)
    av, bv = (rv, lv) if swap else (lv, rv)
    op = OPERATORS[name]
    a, ta = Tensor(av, requires_grad=True, dtype=np.float64), torch.tensor(av, requires_grad=True)
    if other == "tensor":
        b, tb = Tensor(bv, requires_grad=True, dtype=np.float64), torch.tensor(bv, requires_grad=True)
    elif other == "scalar":
        b = tb = float(bv)
    else:
        b, tb = np.asarray(bv), torch.tensor(bv)
    out, tout = (op(b, a), op(tb, ta)) if swap else (op(a, b), op(ta, tb))
    w = rng.standard_normal(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    assert np.shape(a.grad) == sa
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    if other == "tensor":
        assert np.shape(b.grad) == sb
        np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    st.sampled_from(["matrix", "vector-left", "vector-right"]),
    st.sampled_from(["tensor", "array"]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_matmul_broadcast_against_torch(batches, mkn, kind, other, swap, seed):
    """Batched matmul with broadcast batch axes and 1-D operands, a constant on either side."""
    rng = np.random.default_rng(seed)
    m, k, n = mkn
    ba, bb = batches.input_shapes
    sl = (k,) if kind == "vector-left" else ba + (m, k)
    sr = (k,) if kind == "vector-right" else bb + (k, n)
    lv = rng.standard_normal(sl).astype(np.float32)
    rv = rng.standard_normal(sr).astype(np.float32)
    tl, tr = torch.tensor(lv), torch.tensor(rv)
    if swap:  # the constant on the left
        gl, gr = (Tensor(lv, requires_grad=True) if other == "tensor" else lv), Tensor(rv, requires_grad=True)
        tl.requires_grad_(other == "tensor")
        tr.requires_grad_()
    else:
        gl, gr = Tensor(lv, requires_grad=True), (Tensor(rv, requires_grad=True) if other == "tensor" else rv)
        tl.requires_grad_()
        tr.requires_grad_(other == "tensor")
    out, tout = gl @ gr, tl @ tr
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = rng.standard_normal(tout.shape).astype(np.float32)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for g, t in ((gl, tl), (gr, tr)):
        if isinstance(g, Tensor):
            assert np.shape(g.grad) == t.shape
            np.testing.assert_allclose(g.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_constant_broadcast_gradient_issue12():
    """The issue's example: a (3,) leaf plus a (2, 3) constant gets a (3,) gradient of 2s."""
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x + np.ones((2, 3), np.float32)).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


NUMPY_UFUNCS = {  # ufunc -> (how it is called, torch's function)
    "exp": (lambda a: np.exp(a), torch.exp),
    "log": (lambda a: np.log(a), torch.log),
    "sqrt": (lambda a: np.sqrt(a), torch.sqrt),
    "tanh": (lambda a: np.tanh(a), torch.tanh),
    "absolute": (lambda a: np.absolute(a), torch.abs),
    "negative": (lambda a: np.negative(a), torch.neg),
    "add": (lambda a: np.add(np.full(3, 2.0), a), lambda t: 2.0 + t),
    "multiply": (lambda a: np.multiply(a, a), lambda t: t * t),
    "divide": (lambda a: np.divide(1.5, a), lambda t: 1.5 / t),
    "subtract": (lambda a: np.subtract(np.ones((2, 3)), a), lambda t: torch.ones(2, 3, dtype=t.dtype) - t),
    "power": (lambda a: np.power(a, 3.0), lambda t: t**3),
    "matmul": (lambda a: np.matmul(np.ones((2, 3)), a), lambda t: torch.ones(2, 3, dtype=t.dtype) @ t),
}


@pytest.mark.parametrize("name", sorted(NUMPY_UFUNCS))
def test_numpy_ufuncs_dispatch_to_tensor_ops(name):
    """np.exp(t) on a tensor that requires grad is t.exp(): a Tensor in the graph, whose gradient
    matches torch's (a ufunc with the tensor on the right goes through the reflected operator)."""
    ours, theirs = NUMPY_UFUNCS[name]
    a = np.abs(r(3)) + 0.5
    x, t = Tensor(a, requires_grad=True, dtype=np.float64), torch.tensor(a, requires_grad=True)
    out, tout = ours(x), theirs(t)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)


def test_numpy_without_a_tensor_op_refuses_a_tensor_that_requires_grad():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    calls = {
        "numpy.sin": lambda: np.sin(x),  # a ufunc with no Tensor op
        "numpy.add.reduce": lambda: np.add.reduce(x),  # a ufunc method
        "numpy.add": lambda: np.add(x, 1.0, out=np.empty(3, np.float32)),  # out=
        "numpy.concatenate": lambda: np.concatenate([x, x]),  # a NumPy function
        "numpy.mean": lambda: np.mean(x),
    }
    for what, call in calls.items():
        match = f"{what} on a Tensor that requires grad .* t.detach\\(\\).numpy\\(\\)"
        with pytest.raises(TypeError, match=match):
            call()
    with ag.no_grad():  # nothing to drop: computed on the data
        np.testing.assert_allclose(np.sin(x), np.sin(np.ones(3)), rtol=1e-6)
    np.testing.assert_allclose(np.sin(x.detach().numpy()), np.sin(np.ones(3)), rtol=1e-6)


def test_numpy_on_a_tensor_without_grad_computes_on_the_data():
    a = r(2, 3).astype(np.float32)
    x = Tensor(a)
    got = np.sin(x)
    assert type(got) is np.ndarray and got.dtype == np.float32
    np.testing.assert_allclose(got, np.sin(a))
    np.testing.assert_array_equal(np.concatenate([x, x], axis=1), np.concatenate([a, a], axis=1))
    assert np.mean(x) == pytest.approx(float(a.mean()), rel=1e-6)
    assert np.allclose(x, a)
    out = np.empty(3, np.float32)
    np.add.reduce(x, axis=0, out=out)
    np.testing.assert_allclose(out, a.sum(0), rtol=1e-6)
    e = np.exp(x)  # a ufunc with a Tensor op is that op, grad or not
    assert isinstance(e, Tensor) and not e.requires_grad
    np.testing.assert_allclose(e.numpy(), np.exp(a), rtol=1e-6)
    lt = np.zeros((2, 3), np.float32) < x  # comparisons give boolean arrays
    np.testing.assert_array_equal(np.asarray(lt), a > 0)


def test_tensor_copies_and_from_numpy_shares():
    """Tensor(a) owns a copy (torch.tensor): an optimizer step leaves the caller's array alone
    (the issue's 1.0 -> 0.6); from_numpy(a) shares a's memory (torch.from_numpy), both ways."""
    from grimoire import optim

    a = np.ones(3, np.float32)
    x = Tensor(a, requires_grad=True)
    assert not np.shares_memory(x.numpy(), a)
    opt = optim.SGD([x], lr=0.4)
    (x * x).sum().backward()  # grad 2x = 2: x -> 1 - 0.4 * 2 = 0.2
    opt.step()
    np.testing.assert_array_equal(a, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(x.numpy(), [0.2, 0.2, 0.2], rtol=1e-6)
    assert not np.shares_memory(Tensor(x).numpy(), x.numpy())  # from a Tensor: a copy too
    assert np.shares_memory(x.detach().numpy(), x.numpy())  # detach shares, as in torch
    b = np.ones(3, np.float32)
    y = grimoire.from_numpy(b).requires_grad_()
    assert np.shares_memory(y.numpy(), b) and y.dtype == np.float32
    (y * y).sum().backward()
    optim.SGD([y], lr=0.2).step()
    np.testing.assert_allclose(b, [0.6, 0.6, 0.6], rtol=1e-6)  # the step wrote through
    b[0] = 5.0
    assert y.numpy()[0] == 5.0
    assert grimoire.from_numpy(np.arange(3)).dtype == np.int64
    with pytest.raises(TypeError, match="from_numpy expects a numpy.ndarray for a, got list"):
        grimoire.from_numpy([1.0])


def test_dtype_follows_the_input():
    """float64 stays float64 (and so do its results and gradients), Python numbers and lists
    become float32, integer arrays keep their dtype but cannot require grad; torch agrees."""
    cases = [  # data, ours, torch.as_tensor's dtype where it agrees
        (np.ones(2), np.float64, torch.float64),
        (np.float64(1.5), np.float64, torch.float64),
        (np.arange(3), np.int64, torch.int64),
        (np.array([True]), np.bool_, torch.bool),
        (1.5, np.float32, torch.float32),
        ([1.0, 2.0], np.float32, torch.float32),
        ([[1, 2]], np.float32, None),  # torch: int64; we keep lists float32 (the issue's rule)
        (3, np.float32, None),
    ]
    for data, ours, theirs in cases:
        assert Tensor(data).numpy().dtype == ours, data
        if theirs is not None:
            assert torch.tensor(data).dtype == theirs
    assert Tensor(np.ones(2), dtype=np.float32).numpy().dtype == np.float32
    x = Tensor(r(3), requires_grad=True)
    assert x.numpy().dtype == np.float64
    y = (x * 2.0).exp().sum()
    assert y.numpy().dtype == np.float64
    y.backward()
    assert np.asarray(x.grad).dtype == np.float64
    with pytest.raises(TypeError, match="needs a floating-point tensor, got dtype .*int64"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="needs a floating-point tensor"):
        Tensor(np.arange(3)).requires_grad_()


def test_float64_input_through_float32_layers_promotes():
    """The documented choice for a float64 input @ float32 weights: NumPy's promotion (torch
    raises instead). The output is float64 and equals the float64 computation; the parameters'
    gradients stay float32 and match torch's float32 layer fed the same values."""
    from grimoire import nn

    lin = nn.Linear(4, 3)
    tl = torch.nn.Linear(4, 3)
    lin.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    a = r(5, 4)
    x = Tensor(a, requires_grad=True)
    out = lin(x)
    assert out.numpy().dtype == np.float64
    w, b = lin.weight.numpy().astype(np.float64), lin.bias.numpy().astype(np.float64)
    np.testing.assert_allclose(out.numpy(), a @ w.T + b, rtol=1e-12)
    out.sum().backward()
    assert np.asarray(lin.weight.grad).dtype == np.float32 and np.asarray(x.grad).dtype == np.float64
    tl(torch.tensor(a, dtype=torch.float32)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, tl.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad, tl.bias.grad.numpy(), rtol=1e-5)
    m = Tensor(r(4, 2).astype(np.float32), requires_grad=True)
    p = x @ m  # the same rule for matmul
    assert p.numpy().dtype == np.float64
    p.sum().backward()
    assert np.asarray(m.grad).dtype == np.float32
    np.testing.assert_allclose(m.grad, np.broadcast_to(a.sum(0)[:, None], (4, 2)), rtol=1e-5)
    # attention's kernel is float32-only: a float64 input computes there in float32
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    s = Tensor(r(2, 3, 4), requires_grad=True)
    o = mha(s)[0]
    o32 = mha(Tensor(s.numpy().astype(np.float32)))[0]
    np.testing.assert_allclose(o.numpy(), o32.numpy(), rtol=1e-5, atol=1e-6)
    o.sum().backward()
    assert np.asarray(s.grad).dtype == np.float64 and np.asarray(mha.in_proj_weight.grad).dtype == np.float32
