"""Fused optimizer steps and clip_grad_norm on the GPU (grimoire._cuda): the checks without a GPU
(optim_args.h, the CPU's messages), and with a GPU the multi-tensor launches bit-identical to the
CPU core's SIMD step, clip_grad_norm against the CPU and torch."""

import numpy as np
import pytest
from cuda_checks import fake, reaches_device, same_error
from cuda_support import _cuda, needs_build, needs_gpu
from grimoire import _core
from grimoire.kernels import (
    adam_step,
    clip_grad_norm,
    multi_tensor_adam_step,
    multi_tensor_sgd_step,
    sgd_step,
)
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = needs_build

ADAM = dict(
    step=1,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    decoupled=True,
    amsgrad=False,
    max_v=None,
)


def adam_pair(shapes=((4,),) * 4, **kw):
    host = [np.zeros(s, np.float32) for s in shapes]
    dev = [fake(s) for s in shapes]
    call = ADAM | kw
    return (lambda: _core.adam_step(*host, **call)), (lambda: _cuda.adam_step(*dev, **call))


@pytest.mark.parametrize(
    ("shapes", "kw", "match"),
    [
        (((4,), (4,), (4,), (5,)), {}, "v must have the shape of param"),
        (((4,),) * 4, {"step": 0}, "step must be >= 1"),
        (((4,),) * 4, {"beta2": 1.0}, r"beta2 must be finite and in \[0, 1\)"),
        (((4,),) * 4, {"lr": float("nan")}, r"lr must be finite and in \[0, inf\)"),
        (((4,),) * 4, {"amsgrad": True}, "needs max_v"),
    ],
)
def test_adam_checks_match_the_cpu(shapes, kw, match):
    same_error(*adam_pair(shapes, **kw), ValueError, match)


def test_aliasing_and_lists_match_the_cpu():
    p, g, m = np.zeros(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32)
    dp, dg, dm = fake((4,)), fake((4,)), fake((4,))
    call = ADAM
    same_error(
        lambda: _core.adam_step(p, g, m, m, **call),
        lambda: _cuda.adam_step(dp, dg, dm, dm, **call),
        ValueError,
        "m and v must not share memory",
    )
    multi = {k: v for k, v in ADAM.items() if k != "max_v"} | {"max_vs": None}
    hp = [np.zeros(3, np.float32) for _ in range(8)]
    dv = [fake((3,)) for _ in range(8)]
    # grads[0] is params[1]: refused across the tensors of one list call
    same_error(
        lambda: _core.multi_tensor_adam_step(
            [hp[0], hp[1]], [hp[1], hp[2]], [hp[3], hp[4]], [hp[5], hp[6]], **multi
        ),
        lambda: _cuda.multi_tensor_adam_step(
            [dv[0], dv[1]], [dv[1], dv[2]], [dv[3], dv[4]], [dv[5], dv[6]], **multi
        ),
        ValueError,
        r"grads\[0\] and params\[1\] must not share memory",
    )
    same_error(
        lambda: _core.multi_tensor_adam_step([hp[0]], [hp[1], hp[2]], [hp[3]], [hp[5]], **multi),
        lambda: _cuda.multi_tensor_adam_step([dv[0]], [dv[1], dv[2]], [dv[3]], [dv[5]], **multi),
        ValueError,
        "grads has 2 entries but params has 1",
    )
    reaches_device(
        lambda: _cuda.multi_tensor_adam_step(
            [dv[0], dv[1]], [dv[2], dv[3]], [dv[4], dv[5]], [dv[6], dv[7]], **multi
        )
    )


def test_sgd_and_clip_checks_match_the_cpu():
    p, g = np.zeros(4, np.float32), np.zeros(4, np.float32)
    dp, dg = fake((4,)), fake((4,))
    sgd = dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, first_step=True)
    same_error(
        lambda: _core.sgd_step(p, g, None, **sgd),
        lambda: _cuda.sgd_step(dp, dg, None, **sgd),
        ValueError,
        "needs momentum_buf",
    )
    same_error(
        lambda: _core.sgd_step(p, g, None, **(sgd | {"dampening": 0.1, "nesterov": True})),
        lambda: _cuda.sgd_step(dp, dg, None, **(sgd | {"dampening": 0.1, "nesterov": True})),
        ValueError,
        "nesterov",
    )
    same_error(
        lambda: _core.clip_grad_norm([p, p[1:]], 1.0, 2.0),
        lambda: _cuda.clip_grad_norm(
            [dp, fake((3,), ptr=dp.__cuda_array_interface__["data"][0] + 4)], 1.0, 2.0
        ),
        ValueError,
        "share memory",
    )
    same_error(
        lambda: _core.clip_grad_norm([p], 1.0, 0.0),
        lambda: _cuda.clip_grad_norm([dp], 1.0, 0.0),
        ValueError,
        "norm_type",
    )
    reaches_device(lambda: _cuda.sgd_step(dp, dg, fake((4,)), **sgd))
    reaches_device(lambda: _cuda.clip_grad_norm([dp, dg], 1.0, 2.0))


# ---- on a GPU ---------------------------------------------------------------------------------


def _assert_same_step(got, want):
    """Bit-identical to the CPU's SIMD step (the same fmas and constants); the scalar reference
    path (GRIMOIRE_ISA=scalar, or a CPU without AVX2) rounds without fmas: a few ulps then."""
    import grimoire

    if grimoire.info(as_dict=True)["kernels"]["optim"]["in_use"] == "scalar":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)


SIZES = st.lists(st.sampled_from([0, 1, 3, 4, 5, 1000, 65536, 65537, 200003]), min_size=1, max_size=6)


@needs_gpu
@settings(max_examples=25, deadline=None)
@given(
    sizes=SIZES,
    decoupled=st.booleans(),
    amsgrad=st.booleans(),
    wd=st.sampled_from([0.0, 0.01]),
    step=st.sampled_from([1, 7, 1000]),
    offset=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**31),
)
def test_multi_tensor_adam_is_bit_identical_to_the_cpu_simd_step(
    sizes, decoupled, amsgrad, wd, step, offset, seed
):
    import cupy as cp

    rng = np.random.default_rng(seed)
    kinds = 5 if amsgrad else 4
    host = [[rng.standard_normal(n).astype(np.float32) for n in sizes] for _ in range(kinds)]
    for arrays in host[2:]:
        for a in arrays:
            np.abs(a, out=a)  # v, max_v >= 0
    # offset 1: every array one float into its buffer (not 16-byte aligned: the scalar path)
    dev = [[cp.zeros(a.size + offset, cp.float32)[offset:] for a in arrays] for arrays in host]
    for ds, hs in zip(dev, host, strict=True):
        for d, h in zip(ds, hs, strict=True):
            d[...] = cp.asarray(h)
    kw = dict(step=step, lr=1e-3, weight_decay=wd, decoupled=decoupled, amsgrad=amsgrad)
    for i in range(len(sizes)):
        adam_step(host[0][i], host[1][i], host[2][i], host[3][i], **kw, max_v=host[4][i] if amsgrad else None)
    multi_tensor_adam_step(*dev[:4], **kw, max_vs=dev[4] if amsgrad else None)
    for ds, hs in zip(dev, host, strict=True):
        for d, h in zip(ds, hs, strict=True):
            _assert_same_step(cp.asnumpy(d), h)


@needs_gpu
@pytest.mark.parametrize("offset", [0, 1])
def test_amsgrad_keeps_a_nan_in_max_v_and_in_v_as_the_cpu_does(offset):
    # The CPU's V::max_nan(max_v, v) keeps a NaN from either operand; a plain fmaxf, or
    # `max_v > v ? max_v : v`, drops one in max_v.
    import cupy as cp

    rng = np.random.default_rng(5)
    n = 4099
    host = [rng.standard_normal(n).astype(np.float32) for _ in range(5)]
    np.abs(host[2], out=host[2]), np.abs(host[3], out=host[3]), np.abs(host[4], out=host[4])
    host[4][[0, 17, 4098]] = np.nan  # NaN in max_v
    host[1][[5, 17, 300]] = np.nan  # NaN in the gradient, so in the new v
    dev = [cp.zeros(n + offset, cp.float32)[offset:] for _ in host]
    for d, h in zip(dev, host, strict=True):
        d[...] = cp.asarray(h)
    kw = dict(step=3, lr=1e-3, weight_decay=0.0, decoupled=True, amsgrad=True)
    adam_step(*host[:4], **kw, max_v=host[4])
    multi_tensor_adam_step(*([d] for d in dev[:4]), **kw, max_vs=[dev[4]])
    assert np.isnan(host[4][[0, 5, 17, 300, 4098]]).all()
    for d, h in zip(dev, host, strict=True):
        _assert_same_step(cp.asnumpy(d), h)


@needs_gpu
def test_many_tensors_take_several_launches_and_single_tensor_calls_agree():
    import cupy as cp

    rng = np.random.default_rng(3)
    # 101 tensors (> 36 per launch) and one of 21e6 elements (> 320 chunks: it spans launches)
    sizes = (
        [int(s) for s in rng.integers(1, 3000, 50)]
        + [21_000_000]
        + [int(s) for s in rng.integers(1, 3000, 50)]
    )
    host = [[rng.random(n, dtype=np.float32) for n in sizes] for _ in range(3)]
    dev = [[cp.asarray(a) for a in arrays] for arrays in host]
    kw = dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=1e-4, first_step=False)
    for p, g, b in zip(*host, strict=True):
        sgd_step(p, g, b, **kw)
    multi_tensor_sgd_step(*dev, **kw)
    for ds, hs in zip(dev, host, strict=True):
        for d, h in zip(ds, hs, strict=True):
            _assert_same_step(cp.asnumpy(d), h)
    p, g = rng.random(10, dtype=np.float32), rng.random(10, dtype=np.float32)
    dp, dg = cp.asarray(p), cp.asarray(g)
    sgd_step(p, g, None, lr=0.5, first_step=True)
    sgd_step(dp, dg, None, lr=0.5, first_step=True)
    _assert_same_step(cp.asnumpy(dp), p)


@needs_gpu
@settings(max_examples=25, deadline=None)
@given(
    sizes=SIZES,
    norm_type=st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
    max_norm=st.sampled_from([0.5, 1e9]),
    nan=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_clip_grad_norm_matches_the_cpu(sizes, norm_type, max_norm, nan, seed):
    import cupy as cp

    rng = np.random.default_rng(seed)
    host = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    if nan and host[-1].size:
        host[-1][0] = np.nan
    dev = [cp.asarray(h) for h in host]
    total = clip_grad_norm(host, max_norm, norm_type)
    gtotal = clip_grad_norm(dev, max_norm, norm_type)
    assert isinstance(gtotal, float)
    np.testing.assert_allclose(gtotal, total, rtol=2e-6, equal_nan=True)
    for d, h in zip(dev, host, strict=True):
        np.testing.assert_allclose(cp.asnumpy(d), h, rtol=2e-6, equal_nan=True)


@needs_gpu
def test_clip_grad_norm_does_not_overflow_and_agrees_with_torch():
    import cupy as cp
    import torch

    big = [cp.full(1000, 1e30, cp.float32)]
    assert np.isclose(clip_grad_norm(big, 1.0), 1e30 * np.sqrt(1000), rtol=1e-6)  # squares of 1e30: in double
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    ps = [torch.nn.Parameter(torch.randn(n, device="cuda")) for n in (5, 70000, 3)]
    for p in ps:
        p.grad = torch.randn_like(p) * 10
    grads = [p.grad.clone() for p in ps]
    want = torch.nn.utils.clip_grad_norm_(ps, 1.0)
    got = clip_grad_norm(grads, 1.0)
    np.testing.assert_allclose(got, want.item(), rtol=1e-5)
    for g, p in zip(grads, ps, strict=True):
        np.testing.assert_allclose(g.cpu().numpy(), p.grad.cpu().numpy(), rtol=1e-5, atol=1e-7)
