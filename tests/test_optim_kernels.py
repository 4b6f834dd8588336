"""grimoire.kernels.optim against torch.optim / torch.nn.utils: Adam, AdamW, SGD over several steps,
clip_grad_norm, in place and without copies."""

import numpy as np
import pytest
import torch
from grimoire.kernels import adam_step, clip_grad_norm, sgd_step
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HYP = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SIZES = st.sampled_from([0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1031])
STEPS = 5


def grads_for(rng, shape, steps):
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(steps)]


def torch_run(opt_cls, param, grads, **kw):
    p = torch.nn.Parameter(torch.tensor(param))
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy(), opt.state[p]


@HYP
@given(n=SIZES, decoupled=st.booleans(), wd=st.sampled_from([0.0, 0.1]), amsgrad=st.booleans(),
       seed=st.integers(0, 2**16))
def test_adam_matches_torch(isa, n, decoupled, wd, amsgrad, seed):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(n).astype(np.float32)
    grads = grads_for(rng, n, STEPS)
    hyper = dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=wd, amsgrad=amsgrad)
    opt_cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref, state = torch_run(opt_cls, param, grads, foreach=False, **hyper)
    p, m, v = param.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
    max_v = np.zeros(n, np.float32) if amsgrad else None
    for t, g in enumerate(grads, start=1):
        adam_step(p, g, m, v, step=t, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=wd,
                  decoupled=decoupled, amsgrad=amsgrad, max_v=max_v)
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m, state["exp_avg"].numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, state["exp_avg_sq"].numpy(), rtol=1e-5, atol=1e-9)
    if amsgrad:
        np.testing.assert_allclose(max_v, state["max_exp_avg_sq"].numpy(), rtol=1e-5, atol=1e-9)


def test_adam_default_and_fused_torch_agree(rng):
    # torch's fastest CPU variant (fused=True) is the benchmark's peer: same numbers.
    param = rng.standard_normal(4099).astype(np.float32)
    grads = grads_for(rng, 4099, 3)
    ref, _ = torch_run(torch.optim.Adam, param, grads, lr=1e-3, fused=True)
    p, m, v = param.copy(), np.zeros_like(param), np.zeros_like(param)
    for t, g in enumerate(grads, start=1):
        adam_step(p, g, m, v, step=t, lr=1e-3, decoupled=False)
    np.testing.assert_allclose(p, ref, rtol=1e-6, atol=1e-7)


@HYP
@given(n=SIZES, momentum=st.sampled_from([0.0, 0.9]), dampening=st.sampled_from([0.0, 0.5]),
       nesterov=st.booleans(), wd=st.sampled_from([0.0, 0.01]), seed=st.integers(0, 2**16))
def test_sgd_matches_torch(isa, n, momentum, dampening, nesterov, wd, seed):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(n).astype(np.float32)
    grads = grads_for(rng, n, STEPS)
    ref, _ = torch_run(torch.optim.SGD, param, grads, lr=0.1, momentum=momentum, dampening=dampening,
                       nesterov=nesterov, weight_decay=wd, foreach=False)
    p = param.copy()
    buf = np.full(n, np.nan, np.float32) if momentum else None  # the first step must not read it
    for t, g in enumerate(grads):
        sgd_step(p, g, buf, lr=0.1, momentum=momentum, dampening=dampening, nesterov=nesterov,
                 weight_decay=wd, first_step=t == 0)
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)


@HYP
@given(sizes=st.lists(SIZES, min_size=0, max_size=4),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, float("inf")]), max_norm=st.sampled_from([0.1, 1.0, 1e6]),
       seed=st.integers(0, 2**16))
def test_clip_grad_norm_matches_torch(isa, sizes, norm_type, max_norm, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    ours = [g.copy() for g in grads]
    total = clip_grad_norm(ours, max_norm, norm_type)
    # torch refuses the inf-norm of an empty tensor (no identity); it adds nothing to the total here.
    kept = [i for i, g in enumerate(grads) if g.size]
    grads, ours = [grads[i] for i in kept], [ours[i] for i in kept]
    params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    ref = float(torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type, foreach=False))
    assert total == pytest.approx(ref, rel=1e-5, abs=1e-7)
    for o, p in zip(ours, params, strict=True):
        np.testing.assert_allclose(o, p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite(isa):
    for bad in (np.nan, np.inf):
        grads = [np.ones(40, np.float32), np.arange(19, dtype=np.float32)]
        grads[1][7] = bad
        params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        for norm_type in (2.0, float("inf")):
            ref = float(torch.nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type, foreach=False))
            ours = [g.copy() for g in grads]
            total = clip_grad_norm(ours, 1.0, norm_type)
            assert (np.isnan(total) and np.isnan(ref)) or total == ref
            for o, p in zip(ours, params, strict=True):
                np.testing.assert_array_equal(np.isnan(o), np.isnan(p.grad.numpy()))
            for p, g in zip(params, grads, strict=True):
                p.grad = torch.tensor(g)


def test_bad_inputs():
    p, g = np.zeros(4, np.float32), np.zeros(4, np.float32)
    m, v = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(TypeError, match="m must have dtype float32"):
        adam_step(p, g, m.astype(np.float64), v, step=1, lr=1e-3)
    with pytest.raises(ValueError, match="v must have the shape of param"):
        adam_step(p, g, m, np.zeros(5, np.float32), step=1, lr=1e-3)
    with pytest.raises(ValueError, match="C-contiguous"):
        adam_step(p, g, m, np.zeros(8, np.float32)[::2], step=1, lr=1e-3)
    with pytest.raises(ValueError, match="m and v must not share memory"):
        adam_step(p, g, m, m, step=1, lr=1e-3)
    with pytest.raises(ValueError, match="step must be >= 1"):
        adam_step(p, g, m, v, step=0, lr=1e-3)
    with pytest.raises(ValueError, match="beta2"):
        adam_step(p, g, m, v, step=1, lr=1e-3, beta2=1.0)
    with pytest.raises(ValueError, match="needs max_v"):
        adam_step(p, g, m, v, step=1, lr=1e-3, amsgrad=True)
    with pytest.raises(ValueError, match="param must be writable"):
        ro = p.copy()
        ro.flags.writeable = False
        adam_step(ro, g, m, v, step=1, lr=1e-3)
    with pytest.raises(ValueError, match="needs momentum_buf"):
        sgd_step(p, g, None, lr=0.1, momentum=0.9, first_step=True)
    with pytest.raises(ValueError, match="nesterov"):
        sgd_step(p, g, m, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True, first_step=True)
    with pytest.raises(ValueError, match="lr"):
        sgd_step(p, g, None, lr=-1.0, first_step=True)
    with pytest.raises(ValueError, match="share memory"):
        clip_grad_norm([p, p[1:]], 1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm([p], 1.0, norm_type=0.0)
    with pytest.raises(TypeError, match="list"):
        clip_grad_norm(p, 1.0)
