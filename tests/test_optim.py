"""Optimizers over several steps against torch.optim, schedules against torch.optim.lr_scheduler."""

import numpy as np
import pytest
import torch
from grimoire import Tensor, kernels, optim
from grimoire.nn import Parameter
from grimoire.optim import lr_scheduler as gs

OPTS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.5, eps=1e-6)),
]


@pytest.mark.parametrize("name,cfg", OPTS)
def test_optimizer_matches_torch(name, cfg):
    rng = np.random.default_rng(0)
    inits = [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]
    ours = [Parameter(a) for a in inits]
    theirs = [torch.tensor(a, requires_grad=True) for a in inits]
    o_opt = getattr(optim, name)(ours, **cfg)
    t_opt = getattr(torch.optim, name)(theirs, **cfg)
    for step in range(6):
        grads = [rng.standard_normal(a.shape).astype(np.float32) for a in inits]
        for p, t, g in zip(ours, theirs, grads, strict=True):
            p.grad = Tensor(g.copy()).data  # in the storage namespace
            t.grad = torch.tensor(g)
        if step == 3:  # a parameter without a gradient is skipped
            ours[1].grad = None
            theirs[1].grad = None
        o_opt.step()
        t_opt.step()
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


FUSED = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.5, eps=1e-6)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
]


def _per_parameter_step(opt, name):
    """The update of one parameter at a time (one adam_step / sgd_step call each): what the
    optimizers did before the multi-tensor kernels, the reference they must equal bit for bit."""
    for group in opt.param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            st = opt.state.setdefault(id(p), {})
            g = p.grad.astype(np.float32)
            if name == "SGD":
                first = "momentum_buffer" not in st
                if group["momentum"] and first:
                    st["momentum_buffer"] = np.zeros_like(p.data)
                kernels.sgd_step(p.data, -g if group["maximize"] else g, st.get("momentum_buffer"),
                                 lr=group["lr"], momentum=group["momentum"], dampening=group["dampening"],
                                 nesterov=group["nesterov"], weight_decay=group["weight_decay"],
                                 first_step=first)
                continue
            if not st:
                st.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
                if group["amsgrad"]:
                    st["max_exp_avg_sq"] = np.zeros_like(p.data)
            st["step"] += 1
            b1, b2 = group["betas"]
            kernels.adam_step(p.data, g, st["exp_avg"], st["exp_avg_sq"], step=st["step"], lr=group["lr"],
                              beta1=b1, beta2=b2, eps=group["eps"], weight_decay=group["weight_decay"],
                              decoupled=name == "AdamW", amsgrad=group["amsgrad"],
                              max_v=st.get("max_exp_avg_sq"))


@pytest.mark.parametrize("name,cfg", FUSED)
def test_fused_multi_tensor_step_equals_the_per_parameter_step(name, cfg, monkeypatch):
    """One multi-tensor kernel call per group and step count (one launch on a GPU), bit-identical
    to a loop of single-tensor steps, over steps where some parameters have no gradient (so their
    Adam step counts and SGD first steps fall out of line with the others)."""
    rng = np.random.default_rng(1)
    shapes = [(5, 3), (3,), (2, 2, 4), (7,)]
    inits = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    fused = [Parameter(a.copy()) for a in inits]
    loop = [Parameter(a.copy()) for a in inits]
    groups = lambda ps: [{"params": ps[:3]}, {"params": ps[3:], "lr": cfg["lr"] / 2}]  # noqa: E731
    f_opt, l_opt = getattr(optim, name)(groups(fused), **cfg), getattr(optim, name)(groups(loop), **cfg)
    calls = []
    kernel = "multi_tensor_sgd_step" if name == "SGD" else "multi_tensor_adam_step"
    real = getattr(kernels, kernel)

    def counted(params, *a, **kw):
        calls.append(len(params))
        return real(params, *a, **kw)

    monkeypatch.setattr(kernels, kernel, counted)
    seen = [0] * len(shapes)  # gradients each parameter has had
    for step in range(7):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        skip = {1: [0], 2: [0, 2], 4: [3]}.get(step, [])  # parameters without a gradient this step
        for i, (f, lp, g) in enumerate(zip(fused, loop, grads, strict=True)):
            f.grad = None if i in skip else Tensor(g.copy()).data  # in the storage namespace
            lp.grad = None if i in skip else g.copy()
        calls.clear()
        f_opt.step()
        _per_parameter_step(l_opt, name)
        for f, lp in zip(fused, loop, strict=True):
            np.testing.assert_array_equal(np.asarray(f.data), lp.data)
        # every parameter with a gradient in exactly one call; one call per group and Adam step
        # count (SGD: per group and first-step flag), counted here from the skips
        for i in range(len(shapes)):
            seen[i] += i not in skip
        live = [i for i in range(len(shapes)) if i not in skip]
        key = (lambda i: seen[i]) if name != "SGD" else (lambda i: seen[i] == 1 and bool(cfg.get("momentum")))
        expected = len({(i >= 3, key(i)) for i in live})
        assert sum(calls) == len(live) and len(calls) == expected, calls


def test_param_groups_and_zero_grad():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = Tensor(np.ones(2, np.float32)).data
    b.grad = Tensor(np.ones(2, np.float32)).data
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)


def test_optimizer_state_dict_round_trip():
    p = Parameter(np.ones(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad = Tensor(np.full(3, 0.5, np.float32)).data
    opt.step()
    sd = opt.state_dict()
    q = Parameter(p.numpy().copy())
    opt2 = optim.Adam([q], lr=0.1)
    opt2.load_state_dict(sd)
    p.grad = Tensor(np.full(3, -0.2, np.float32)).data
    q.grad = Tensor(np.full(3, -0.2, np.float32)).data
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(p.data, q.data)


def _torch_and_ours(make_t, make_o, steps=25, lr=0.1):
    tp = torch.nn.Parameter(torch.zeros(1))
    t_opt = torch.optim.SGD([tp], lr=lr)
    o_opt = optim.SGD([Parameter(np.zeros(1))], lr=lr)
    ts, os_ = make_t(t_opt), make_o(o_opt)
    t_lrs, o_lrs = [], []
    for _ in range(steps):
        t_lrs.append(ts.get_last_lr()[0])
        o_lrs.append(os_.get_last_lr()[0])
        t_opt.step()
        ts.step()
        os_.step()
    np.testing.assert_allclose(o_lrs, t_lrs, rtol=1e-6, atol=1e-12)
    return o_lrs


def test_schedules_match_torch():
    tl = torch.optim.lr_scheduler
    _torch_and_ours(lambda o: tl.StepLR(o, 4, 0.5), lambda o: gs.StepLR(o, 4, 0.5))
    _torch_and_ours(lambda o: tl.MultiStepLR(o, [3, 7], 0.3), lambda o: gs.MultiStepLR(o, [3, 7], 0.3))
    _torch_and_ours(lambda o: tl.ExponentialLR(o, 0.9), lambda o: gs.ExponentialLR(o, 0.9))
    _torch_and_ours(
        lambda o: tl.CosineAnnealingLR(o, 20, 0.001), lambda o: gs.CosineAnnealingLR(o, 20, 0.001)
    )
    _torch_and_ours(lambda o: tl.LinearLR(o, 0.1, 1.0, 5), lambda o: gs.LinearLR(o, 0.1, 1.0, 5))
    _torch_and_ours(
        lambda o: tl.LambdaLR(o, lambda e: 1 / (1 + e)), lambda o: gs.LambdaLR(o, lambda e: 1 / (1 + e))
    )


def test_warmup_then_cosine_matches_torch():
    tl = torch.optim.lr_scheduler

    def t(o):
        return tl.SequentialLR(o, [tl.LinearLR(o, 0.01, 1.0, 5), tl.CosineAnnealingLR(o, 15)], milestones=[5])

    def g(o):
        return gs.SequentialLR(o, [gs.LinearLR(o, 0.01, 1.0, 5), gs.CosineAnnealingLR(o, 15)], milestones=[5])

    lrs = _torch_and_ours(t, g, steps=20)
    assert lrs[0] == pytest.approx(0.001) and max(lrs) == pytest.approx(0.1)
