"""The issue-13 layers (activations, losses, pad, pooling, resampling, GroupNorm, Conv1d,
Conv2d padding modes, ConvTranspose2d): forward and backward against PyTorch."""

import numpy as np
import pytest
import torch
from grimoire import nn
from grimoire.autograd import Tensor
from grimoire.nn import layers_ext as X
from hypothesis import given, settings
from hypothesis import strategies as st


def check(ours_fn, torch_fn, *arrays, rtol=1e-4, atol=1e-5, grad=True):
    """The same op in grimoire and PyTorch (float64): equal outputs and, through a random upstream
    gradient, equal input gradients."""
    ts = [Tensor(a.astype(np.float32), requires_grad=grad) for a in arrays]
    tt = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    out, ref = ours_fn(*ts), torch_fn(*tt)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    if grad:
        g = np.random.default_rng(9).standard_normal(ref.shape)
        out.backward(g.astype(np.float32))
        ref.backward(torch.tensor(g))
        for a, b in zip(ts, tt, strict=True):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=atol)


F_ = torch.nn.functional


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=3), seed=st.integers(0, 999))
def test_activations_equal_torch(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    check(lambda t: nn.LeakyReLU(0.2)(t), lambda t: F_.leaky_relu(t, 0.2), x)
    check(lambda t: nn.ELU(0.7)(t), lambda t: F_.elu(t, 0.7), x)
    check(lambda t: nn.Mish()(t), F_.mish, x)


def test_activations_of_extremes():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4, np.inf, -np.inf])
    np.testing.assert_allclose(
        nn.Mish()(Tensor(x[:5])).data, F_.mish(torch.tensor(x[:5])).numpy(), rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(nn.ELU()(Tensor(x)).data, F_.elu(torch.tensor(x)).numpy(), rtol=1e-6)
    assert np.isnan(nn.LeakyReLU()(Tensor(np.array([np.nan]))).data).all()


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
def test_kl_div_equals_torch(reduction):
    rng = np.random.default_rng(0)
    logq = np.log(rng.dirichlet(np.ones(5), 4))
    p = rng.dirichlet(np.ones(5), 4)
    p[0, 1] = 0.0  # 0 log 0 = 0
    check(
        lambda a: nn.KLDivLoss(reduction=reduction)(a, p),
        lambda a: F_.kl_div(a, torch.tensor(p), reduction=reduction),
        logq,
    )
    if reduction != "none":
        check(
            lambda a: X.kl_div(a, np.log(p + 1e-3), reduction=reduction, log_target=True),
            lambda a: F_.kl_div(a, torch.tensor(np.log(p + 1e-3)), reduction=reduction, log_target=True),
            logq,
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_huber_smooth_l1_equal_torch(reduction):
    rng = np.random.default_rng(1)
    prob = rng.random((6, 3))
    prob[0, 0], prob[1, 1] = 0.0, 1.0  # the clamped logs
    t = (rng.random((6, 3)) > 0.5).astype(np.float64)
    check(
        lambda a: nn.BCELoss(reduction=reduction)(a, t),
        lambda a: F_.binary_cross_entropy(a, torch.tensor(t), reduction=reduction),
        prob,
        grad=False,
    )
    x, y = rng.standard_normal((6, 3)) * 3, rng.standard_normal((6, 3))
    for delta in (0.5, 1.0, 2.0):
        check(
            lambda a, d=delta: nn.HuberLoss(reduction, d)(a, y),
            lambda a, d=delta: F_.huber_loss(a, torch.tensor(y), reduction=reduction, delta=d),
            x,
        )
    for beta in (0.0, 0.5, 1.0):
        check(
            lambda a, b=beta: nn.SmoothL1Loss(reduction=reduction, beta=b)(a, y),
            lambda a, b=beta: F_.smooth_l1_loss(a, torch.tensor(y), reduction=reduction, beta=b),
            x,
        )


def test_bce_gradient_inside_the_open_interval():
    rng = np.random.default_rng(2)
    prob, t = rng.uniform(0.05, 0.95, (5, 2)), (rng.random((5, 2)) > 0.5).astype(float)
    check(lambda a: X.binary_cross_entropy(a, t), lambda a: F_.binary_cross_entropy(a, torch.tensor(t)), prob)


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(0, 2),
    c=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    pads=st.tuples(*[st.integers(0, 3)] * 4),
    seed=st.integers(0, 99),
)
def test_pad_equals_torch(n, c, h, w, pads, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    check(lambda a: X.pad(a, pads, value=1.5), lambda a: F_.pad(a, pads, value=1.5), x)
    check(lambda a: X.pad(a, pads[:2]), lambda a: F_.pad(a, pads[:2]), x)


@settings(max_examples=10, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    oh=st.integers(1, 6),
    ow=st.integers(1, 6),
    seed=st.integers(0, 99),
)
def test_adaptive_avg_pool_equals_torch(h, w, oh, ow, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    check(lambda a: nn.AdaptiveAvgPool2d((oh, ow))(a), lambda a: F_.adaptive_avg_pool2d(a, (oh, ow)), x)


@settings(max_examples=12, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    oh=st.integers(1, 17),
    ow=st.integers(1, 17),
    mode=st.sampled_from(["nearest", "bilinear"]),
    ac=st.booleans(),
    seed=st.integers(0, 99),
)
def test_interpolate_equals_torch(h, w, oh, ow, mode, ac, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    align = ac if mode == "bilinear" else None
    check(
        lambda a: X.interpolate(a, size=(oh, ow), mode=mode, align_corners=align),
        lambda a: F_.interpolate(a, size=(oh, ow), mode=mode, align_corners=align),
        x,
    )


def test_upsample_by_a_scale_factor_equals_torch():
    x = np.random.default_rng(3).standard_normal((1, 3, 4, 5))
    for mode in ("nearest", "bilinear"):
        check(
            lambda a, m=mode: nn.Upsample(scale_factor=2, mode=m)(a),
            lambda a, m=mode: torch.nn.Upsample(scale_factor=2, mode=m)(a),
            x,
        )


@pytest.mark.parametrize(
    "groups,shape", [(1, (2, 4, 3, 3)), (2, (2, 4, 5)), (4, (3, 4, 2, 2)), (3, (1, 6, 4, 4))]
)
def test_group_norm_equals_torch(groups, shape):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[1]
    layer = nn.GroupNorm(groups, c)
    layer.weight.data = Tensor(rng.standard_normal(c).astype(np.float32)).data  # in the storage namespace
    layer.bias.data = Tensor(rng.standard_normal(c).astype(np.float32)).data
    ref = torch.nn.GroupNorm(groups, c).double()
    ref.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in layer.state_dict().items()})
    check(layer, ref, x)


def test_conv1d_layer_equals_torch():
    rng = np.random.default_rng(5)
    for stride, padding, dilation, groups in ((1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2)):
        layer = nn.Conv1d(4, 6, 3, stride, padding, dilation, groups)
        ref = torch.nn.Conv1d(4, 6, 3, stride, padding, dilation, groups).double()
        ref.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in layer.state_dict().items()})
        x = rng.standard_normal((2, 4, 11))
        check(layer, ref, x)
        xt = torch.tensor(x, requires_grad=True)
        ref(xt).sum().backward()
        t = Tensor(x.astype(np.float32), requires_grad=True)
        layer(t).sum().backward()
        np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "padding,kernel,dilation",
    [("same", 3, 1), ("same", 4, 1), ("same", 3, 2), ("same", (2, 5), 1), ("valid", 3, 1)],
)
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
def test_conv2d_padding_modes_equal_torch(padding, kernel, dilation):
    rng = np.random.default_rng(6)
    layer = nn.Conv2d(3, 5, kernel, padding=padding, dilation=dilation)
    ref = torch.nn.Conv2d(3, 5, kernel, padding=padding, dilation=dilation).double()
    ref.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in layer.state_dict().items()})
    check(layer, ref, rng.standard_normal((2, 3, 7, 8)))
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2d(3, 5, 3, padding="full")
    with pytest.raises(ValueError, match="stride 1"):
        nn.Conv2d(3, 5, 3, stride=2, padding="same")


@pytest.mark.parametrize(
    "stride,padding,output_padding,dilation,k",
    [(1, 0, 0, 1, 3), (2, 1, 1, 1, 3), (2, 0, 0, 1, 4), (3, 2, 1, 2, (2, 3))],
)
def test_conv_transpose2d_equals_torch(stride, padding, output_padding, dilation, k):
    rng = np.random.default_rng(7)
    layer = nn.ConvTranspose2d(4, 3, k, stride, padding, output_padding, dilation=dilation)
    ref = torch.nn.ConvTranspose2d(4, 3, k, stride, padding, output_padding, dilation=dilation).double()
    ref.load_state_dict({kk: torch.tensor(v, dtype=torch.float64) for kk, v in layer.state_dict().items()})
    x = rng.standard_normal((2, 4, 5, 6))
    check(layer, ref, x)
    xt = torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(ref(xt).shape)
    ref(xt).backward(torch.tensor(g))
    layer(Tensor(x.astype(np.float32))).backward(g.astype(np.float32))
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_bad_input_names_the_argument():
    t = Tensor(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="mode"):
        X.pad(t, (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="pad must"):
        X.pad(t, (1,))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        X.interpolate(t)
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool2d(0)(t)
    with pytest.raises(ValueError, match="probabilities"):
        nn.BCELoss()(Tensor(np.array([1.5])), np.array([1.0]))
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(2, 2, 3, stride=1, output_padding=1)(t)


# ------------------------------------------------------------------------ nn.functional exposes them
F = nn.functional
FUNCTIONAL = {  # name: torch's parameters (the C builtins have no signature to read)
    "pad": None,
    "interpolate": None,
    "group_norm": None,
    "kl_div": None,
    "huber_loss": None,
    "smooth_l1_loss": None,
    "binary_cross_entropy": None,
    "adaptive_avg_pool2d": ["input", "output_size"],
    "leaky_relu": None,
    "elu": None,
    "mish": None,
    "conv1d": ["input", "weight", "bias", "stride", "padding", "dilation", "groups"],
    "conv_transpose2d": [
        "input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"
    ],
}
NOT_HERE = {"inplace", "antialias"}  # torch's in-place flag and anti-aliased down-sampling


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_has_torch_names_and_argument_order(name):
    import inspect

    ours = list(inspect.signature(getattr(F, name)).parameters)
    theirs = FUNCTIONAL[name] or list(inspect.signature(getattr(F_, name)).parameters)
    assert ours == [p for p in theirs if p not in NOT_HERE]
    assert getattr(X, name) is getattr(F, name)  # one definition, the layers use it


def test_functional_calls_written_for_torch_give_torch_results():
    rng = np.random.default_rng(11)
    logq = np.log(rng.dirichlet(np.ones(4), 3))
    p = rng.dirichlet(np.ones(4), 3)
    # positional reduction after the deprecated size_average, reduce slots, as in torch
    check(
        lambda a: F.kl_div(a, p, None, None, "sum"),
        lambda a: F_.kl_div(a, torch.tensor(p), None, None, "sum"),
        logq,
    )
    prob, t = rng.uniform(0.05, 0.95, (4, 3)), (rng.random((4, 3)) > 0.5).astype(float)
    w = rng.uniform(0.5, 2.0, (4, 3))
    for red in ("mean", "sum", "none"):
        check(
            lambda a, r=red: F.binary_cross_entropy(a, t, w, reduction=r),
            lambda a, r=red: F_.binary_cross_entropy(a, torch.tensor(t), torch.tensor(w), reduction=r),
            prob,
        )
        x, y = rng.standard_normal((4, 3)) * 3, rng.standard_normal((4, 3))
        check(
            lambda a, r=red, y=y: F.huber_loss(a, y, r, 0.7, w),
            lambda a, r=red, y=y: F_.huber_loss(a, torch.tensor(y), r, 0.7, torch.tensor(w)),
            x,
        )
        check(
            lambda a, r=red, y=y: F.smooth_l1_loss(a, y, None, None, r, 0.5),
            lambda a, r=red, y=y: F_.smooth_l1_loss(a, torch.tensor(y), None, None, r, 0.5),
            x,
        )
    img = rng.standard_normal((2, 3, 5, 7))
    check(lambda a: F.pad(a, (1, 2, 0, 3)), lambda a: F_.pad(a, (1, 2, 0, 3)), img)  # value=None is 0
    check(lambda a: F.adaptive_avg_pool2d(a, (None, 3)), lambda a: F_.adaptive_avg_pool2d(a, (None, 3)), img)
    check(lambda a: F.adaptive_avg_pool2d(a, 2), lambda a: F_.adaptive_avg_pool2d(a, 2), img[0])  # (C, H, W)
    check(lambda a: F.leaky_relu(a, 0.3), lambda a: F_.leaky_relu(a, 0.3), img)
    check(lambda a: F.elu(a, 0.5), lambda a: F_.elu(a, 0.5), img)
    check(F.mish, F_.mish, img)


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("scale", [1.5, 0.6, 2.3, (1.7, 0.45), 3])
@pytest.mark.parametrize("recompute", [None, True])
def test_interpolate_by_a_non_integer_scale_factor_equals_torch(mode, align, scale, recompute):
    # torch steps by 1 / scale_factor (not H / H_out) unless recompute_scale_factor
    x = np.random.default_rng(12).standard_normal((1, 2, 5, 7))
    check(
        lambda a: F.interpolate(a, None, scale, mode, align, recompute),
        lambda a: F_.interpolate(a, None, scale, mode, align, recompute),
        x,
    )


def test_group_norm_weight_and_bias_gradients_equal_torch():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 6, 4, 5)) * 2 + 1
    w, b, g = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal((3, 6, 4, 5))
    layer = nn.GroupNorm(3, 6)
    layer.weight.data = Tensor(w.astype(np.float32)).data  # in the storage namespace
    layer.bias.data = Tensor(b.astype(np.float32)).data
    y = layer(Tensor(x.astype(np.float32), requires_grad=True))
    y.backward(Tensor(g.astype(np.float32)).data)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    F_.group_norm(xt, 3, wt, bt).backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(layer.weight.grad), wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer.bias.grad), bt.grad.numpy(), rtol=1e-4, atol=1e-4)
    # the functional form, every input a Tensor: the same three gradients
    check(lambda a, c, d: F.group_norm(a, 2, c, d), lambda a, c, d: F_.group_norm(a, 2, c, d), x, w, b)


@pytest.mark.parametrize(
    "cin,cout,k,stride,padding,output_padding,groups,dilation",
    [
        (4, 6, 3, 1, 0, 0, 2, 1),
        (6, 3, 3, 2, 1, 1, 3, 1),
        (4, 4, (2, 3), 2, 0, 1, 4, 2),
        (2, 4, 3, 1, 1, 0, 1, 1),
    ],
)
def test_conv_transpose2d_groups_in_torch_positions(
    cin, cout, k, stride, padding, output_padding, groups, dilation
):
    rng = np.random.default_rng(14)
    args = (cin, cout, k, stride, padding, output_padding, groups, True, dilation)  # torch's order
    layer, ref = nn.ConvTranspose2d(*args), torch.nn.ConvTranspose2d(*args).double()
    assert layer.weight.shape == tuple(ref.weight.shape) and layer.bias.shape == tuple(ref.bias.shape)
    ref.load_state_dict({kk: torch.tensor(v, dtype=torch.float64) for kk, v in layer.state_dict().items()})
    x = rng.standard_normal((2, cin, 4, 5))
    check(layer, ref, x)  # output and input gradient
    xt = torch.tensor(x)
    g = rng.standard_normal(ref(xt).shape)
    ref.zero_grad()
    layer.zero_grad()
    ref(xt).backward(torch.tensor(g))
    layer(Tensor(x.astype(np.float32))).backward(g.astype(np.float32))
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
    # the bound of torch's init: 1 / sqrt(out / groups * kh * kw)
    kh, kw = (k, k) if isinstance(k, int) else k
    assert np.abs(layer.weight.data).max() <= 1 / np.sqrt(cout // groups * kh * kw)


def test_functional_bad_input_names_the_argument():
    t = Tensor(np.full((2, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match="size_average and reduce are deprecated"):
        F.kl_div(t, np.full((2, 3), 0.5), True)
    with pytest.raises(ValueError, match="size_average and reduce are deprecated"):
        nn.BCELoss(None, False)
    with pytest.raises(ValueError, match="reduction must be"):
        F.kl_div(t, np.full((2, 3), 0.5), reduction="avg")
    with pytest.raises(ValueError, match="target must have the shape of input"):
        F.binary_cross_entropy(t, np.ones(3))
    with pytest.raises(ValueError, match="groups"):
        nn.ConvTranspose2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="groups"):
        F.conv_transpose2d(
            Tensor(np.zeros((1, 3, 4, 4), np.float32)), Tensor(np.zeros((3, 2, 3, 3), np.float32)), groups=2
        )
    with pytest.raises(ValueError, match="recompute_scale_factor"):
        F.interpolate(Tensor(np.zeros((1, 1, 4, 4), np.float32)), size=8, recompute_scale_factor=True)
