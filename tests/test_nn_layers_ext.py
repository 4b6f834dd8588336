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
        lambda a: nn.KLDivLoss(reduction)(a, p),
        lambda a: F_.kl_div(a, torch.tensor(p), reduction=reduction),
        logq,
    )
    if reduction != "none":
        check(
            lambda a: X.kl_div(a, np.log(p + 1e-3), reduction, log_target=True),
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
        lambda a: nn.BCELoss(reduction)(a, t),
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
            lambda a, b=beta: nn.SmoothL1Loss(reduction, b)(a, y),
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
