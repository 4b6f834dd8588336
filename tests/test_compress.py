"""grimoire.compress against PyTorch (pruning masks, distillation loss, convolution), NumPy (SVD)
and ml_dtypes (FP8 codes)."""

import copy
import os
import tempfile

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune
from grimoire import compress, optim
from grimoire import nn as gnn
from grimoire.autograd import Tensor
from grimoire.nn import CrossEntropyLoss, Flatten, Linear, ReLU, Sequential
from grimoire.nn.conv import Conv2d
from grimoire.train import fit


def small_cnn(seed=0):
    from grimoire import autograd as ag

    ag.manual_seed(seed)
    return Sequential(
        Conv2d(1, 6, 3, padding=1),
        ReLU(),
        Conv2d(6, 8, 3, padding=1),
        ReLU(),
        Flatten(),
        Linear(8 * 64, 20),
        ReLU(),
        Linear(20, 10),
    )


def torch_twin(layer):
    if isinstance(layer, Linear):
        t = torch.nn.Linear(*layer.weight.shape[::-1])
    else:
        w = layer.weight.data
        t = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], padding=layer.padding)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.weight.data))
        t.bias.copy_(torch.tensor(layer.bias.data))
    return t


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.9])
def test_unstructured_and_structured_masks_equal_torch_prune(amount):
    model = small_cnn()
    layers = [m for m in model if isinstance(m, (Linear, Conv2d))]
    twins = [torch_twin(m) for m in layers]
    compress.prune(model, amount)
    for m, t in zip(layers, twins, strict=True):
        tprune.l1_unstructured(t, "weight", amount)
        np.testing.assert_array_equal(m.weight_mask, t.weight_mask.numpy())
    model, twins = small_cnn(), [torch_twin(m) for m in small_cnn() if isinstance(m, (Linear, Conv2d))]
    compress.prune(model, amount, structured=True)
    for m, t in zip([m for m in model if isinstance(m, (Linear, Conv2d))], twins, strict=True):
        tprune.ln_structured(t, "weight", amount, n=2, dim=0)
        np.testing.assert_array_equal(m.weight_mask, t.weight_mask.numpy())


def test_global_pruning_equals_torch_global_unstructured():
    model = small_cnn(1)
    layers = [m for m in model if isinstance(m, (Linear, Conv2d))]
    twins = [torch_twin(m) for m in layers]
    compress.prune(model, 0.8, scope="global")
    tprune.global_unstructured(
        [(t, "weight") for t in twins], pruning_method=tprune.L1Unstructured, amount=0.8
    )
    for m, t in zip(layers, twins, strict=True):
        np.testing.assert_array_equal(m.weight_mask, t.weight_mask.numpy())
    assert compress.sparsity(model)["total"] == pytest.approx(0.8, abs=1e-4)


def test_masks_survive_optimizer_steps_and_remove_makes_them_permanent():
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 64)
    model = small_cnn()
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)  # built before pruning
    compress.prune(model, 0.7)
    keys = set(model.state_dict())
    assert "0.weight_orig" in keys and "0.weight_mask" in keys and "0.weight" not in keys
    before = {n: m.weight_orig.data.copy() for n, m in model.named_modules() if hasattr(m, "weight_mask")}
    fit(model, CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=16, verbose=False)
    for name, m in model.named_modules():
        if hasattr(m, "weight_mask"):
            assert np.all(m.weight_orig.data[m.weight_mask == 0] == 0)
            assert not np.array_equal(m.weight_orig.data, before[name])  # the kept weights trained
    clone = copy.deepcopy(model)
    out = model(Tensor(X)).data
    np.testing.assert_array_equal(clone(Tensor(X)).data, out)
    compress.remove(model)
    assert set(model.state_dict()) == {k.replace("_orig", "") for k in keys if not k.endswith("_mask")}
    np.testing.assert_allclose(model(Tensor(X)).data, out, rtol=1e-6)
    assert compress.sparsity(model)["total"] == pytest.approx(0.7, abs=1e-3)
    fit(model, CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=16, verbose=False)  # same Parameters


def test_prune_iteratively_reaches_the_target_with_fine_tuning_between():
    model = small_cnn()
    seen = []
    compress.prune_iteratively(model, 0.9, 3, lambda m: seen.append(compress.sparsity(m)["total"]))
    assert seen == sorted(seen) and seen[-1] == pytest.approx(0.9, abs=1e-3) and len(seen) == 3


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 1.0), (3.0, 0.0)])
def test_distillation_loss_and_gradient_equal_torch(temperature, alpha):
    rng = np.random.default_rng(0)
    s, t, y = rng.standard_normal((7, 5)), rng.standard_normal((7, 5)) * 3, rng.integers(0, 5, 7)
    st = Tensor(s.astype(np.float32), requires_grad=True)
    loss = compress.distillation_loss(st, t, y, temperature, alpha)
    loss.backward()
    ts = torch.tensor(s, requires_grad=True)
    tt = torch.tensor(t)
    soft = (
        torch.nn.functional.kl_div(
            torch.log_softmax(ts / temperature, 1), torch.softmax(tt / temperature, 1), reduction="batchmean"
        )
        * temperature**2
    )
    ref = alpha * soft + (1 - alpha) * torch.nn.functional.cross_entropy(ts, torch.tensor(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(st.grad, ts.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_fit_runs_the_teacher_for_distillation():
    rng = np.random.default_rng(0)
    X, y = rng.random((96, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 96)
    teacher = small_cnn(3).train()
    student = Sequential(Flatten(), Linear(64, 10))
    loss = compress.DistillationLoss(2.0, 1.0)  # alpha = 1: only the teacher's soft targets
    hist = fit(
        student,
        loss,
        optim.Adam(student.parameters(), lr=1e-2),
        X,
        y,
        epochs=15,
        batch_size=32,
        verbose=False,
        teacher=teacher,
    )
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert not teacher.training
    with pytest.raises(ValueError, match="teacher"):
        loss(Tensor(X[:2].reshape(2, -1)[:, :10]), y[:2])


def test_low_rank_is_the_truncated_svd():
    model = small_cnn()
    lin, conv = model[5], model[2]
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    ranks = compress.low_rank(model, 0.8, layers=["5"])
    w = lin.weight.data.astype(np.float64)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    e = np.cumsum(s**2) / np.sum(s**2)
    r = int(np.argmax(e >= 0.8)) + 1
    assert ranks == {"5": r}
    assert isinstance(model[5], Sequential)
    h = np.random.default_rng(1).random((3, 512)).astype(np.float32)
    want = h @ ((u[:, :r] * s[:r]) @ vt[:r]).T + lin.bias.data
    np.testing.assert_allclose(model[5](Tensor(h)).data, want, rtol=1e-4, atol=1e-5)
    ranks = compress.low_rank(model, layers=["2"], rank=3)
    wc = conv.weight.data.reshape(8, -1).astype(np.float64)
    u, s, vt = np.linalg.svd(wc, full_matrices=False)
    wr = ((u[:, :3] * s[:3]) @ vt[:3]).reshape(conv.weight.shape)
    hx = np.random.default_rng(2).random((2, 6, 8, 8)).astype(np.float32)
    ref = torch.nn.functional.conv2d(
        torch.tensor(hx, dtype=torch.float64),
        torch.tensor(wr),
        torch.tensor(conv.bias.data, dtype=torch.float64),
        padding=1,
    )
    np.testing.assert_allclose(model[2](Tensor(hx)).data, ref.numpy(), rtol=1e-4, atol=1e-5)
    assert model(Tensor(x)).shape == (4, 10)
    with pytest.raises(ValueError, match=r"rank must be an int in \[1, min\(m, n\)\] = \[1, 10\]"):
        compress.low_rank(small_cnn(), rank=11, layers=["7"])


def test_int8_quantized_layers_equal_their_integer_arithmetic():
    model = small_cnn()
    rng = np.random.default_rng(0)
    x = rng.random((5, 1, 8, 8)).astype(np.float32)
    q = compress.quantize(model, "int8")
    assert isinstance(model[0], Conv2d)  # the original is untouched
    ref = model(Tensor(x)).data
    got = q(Tensor(x)).data
    np.testing.assert_allclose(got, ref, rtol=0.05, atol=0.02 * np.abs(ref).max())
    # one layer against its definition: per-row int8 x, per-channel int8 W, int32 products
    lin = model[7]
    h = rng.standard_normal((3, 20)).astype(np.float32)
    sx = np.abs(h).max(1, keepdims=True) / 127
    qx = np.round(h / sx)
    sw = np.abs(lin.weight.data).max(1) / 127
    qw = np.clip(np.round(lin.weight.data / sw[:, None]), -127, 127)
    want = (qx @ qw.T) * sx * sw + lin.bias.data
    np.testing.assert_allclose(q[7](Tensor(h)).data, want, rtol=1e-5, atol=1e-6)
    # the conv took the ReLU after it into its epilogue; the ReLU's place holds an Identity
    conv = model[2]
    assert q[2].relu and isinstance(q[3], gnn.Identity)
    hx = rng.standard_normal((2, 6, 8, 8)).astype(np.float32)
    tw = torch.relu(torch.nn.functional.conv2d(
        torch.tensor(hx), torch.tensor(conv.weight.data), torch.tensor(conv.bias.data), padding=1
    )).numpy()
    np.testing.assert_allclose(q[2](Tensor(hx)).data, tw, rtol=0.05, atol=0.03 * np.abs(tw).max())


def bn_cnn(seed=0):
    """Conv-BN-ReLU, Conv-BN (no ReLU), with running statistics far from 0 and 1."""
    from grimoire import autograd as ag

    ag.manual_seed(seed)
    model = Sequential(
        Conv2d(3, 8, 3, padding=1), gnn.BatchNorm2d(8), ReLU(),
        Conv2d(8, 6, 3, stride=2, bias=False), gnn.BatchNorm2d(6),
    )
    rng = np.random.default_rng(seed)
    for bn in (model[1], model[4]):
        c = bn.num_features
        bn.running_mean = rng.standard_normal(c).astype(np.float32)
        bn.running_var = rng.uniform(0.2, 3, c).astype(np.float32)
        bn.weight.data = rng.uniform(0.5, 2, c).astype(np.float32) * rng.choice([-1, 1], c).astype(np.float32)
        bn.bias.data = rng.standard_normal(c).astype(np.float32)
    return model


def test_int8_conv_folds_batch_norm_as_torch_fuses_it():
    model = bn_cnn()
    q = compress.quantize(model, "int8")
    kinds = [type(m).__name__ for m in q]
    assert kinds == ["QuantizedConv2d", "Identity", "Identity", "QuantizedConv2d", "Identity"]
    assert q[0].relu and not q[3].relu
    x = np.random.default_rng(1).standard_normal((3, 3, 9, 9)).astype(np.float32)
    for i, (conv, bn) in enumerate(((model[0], model[1]), (model[3], model[4]))):
        # the oracle: torch's own eval-mode fusion, then per-channel codes of the fused weight
        tconv = torch.nn.Conv2d(conv.weight.shape[1], conv.weight.shape[0], 3, conv.stride, conv.padding,
                                bias=conv.bias is not None)
        tbn = torch.nn.BatchNorm2d(bn.num_features).eval()
        with torch.no_grad():
            tconv.weight.copy_(torch.tensor(conv.weight.data))
            if conv.bias is not None:
                tconv.bias.copy_(torch.tensor(conv.bias.data))
            tbn.weight.copy_(torch.tensor(bn.weight.data))
            tbn.bias.copy_(torch.tensor(bn.bias.data))
            tbn.running_mean.copy_(torch.tensor(bn.running_mean))
            tbn.running_var.copy_(torch.tensor(bn.running_var))
        fused = torch.nn.utils.fusion.fuse_conv_bn_eval(tconv.eval(), tbn)
        w = fused.weight.detach().numpy()
        np.testing.assert_allclose(q[3 * i].weight_scale, np.abs(w).max(axis=(1, 2, 3)) / 127, rtol=1e-5)
        np.testing.assert_allclose(q[3 * i].bias, fused.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
        codes = np.clip(np.rint(w / q[3 * i].weight_scale[:, None, None, None]), -127, 127)
        assert np.count_nonzero(codes != q[3 * i].weight_int8) <= 0.01 * codes.size  # ties of the rounding
    # the whole model: close to the float one (eval mode), as int8 allows
    model.eval()
    ref = model(Tensor(x)).data
    got = q(Tensor(x)).data
    np.testing.assert_allclose(got, ref, rtol=0.05, atol=0.03 * np.abs(ref).max())


def test_int8_digits_cnn_keeps_its_accuracy_within_half_a_point():
    # issue 13's bar, on the 360 test digits: 0.5 points is 1.8 images
    from grimoire.nn import zoo

    _, _, Xte, yte = zoo.digits_split()
    base = zoo.train_digits_cnn(epochs=2, width=16)["model"].eval()
    q = compress.quantize(base, "int8")
    assert isinstance(q[0], compress.QuantizedConv2d) and q[0].relu  # Conv-BN-ReLU fused
    acc = {}
    for name, m in (("float32", base), ("int8", q)):
        acc[name] = np.mean(m(Tensor(Xte)).data.argmax(1) == yte)
    assert acc["float32"] > 0.9
    assert abs(acc["int8"] - acc["float32"]) <= 0.005, acc


def test_quantized_conv2d_equals_conv2d_int8_of_its_buffers():
    from grimoire.kernels import conv2d_int8, pack_int8_weight

    q = compress.quantize(bn_cnn(), "int8")
    layer = q[3]
    x = np.random.default_rng(2).standard_normal((2, 8, 7, 7)).astype(np.float32)
    want = conv2d_int8(x, pack_int8_weight(layer.weight_int8), layer.weight_scale, layer.bias, stride=2)
    np.testing.assert_array_equal(layer(Tensor(x)).data, want)
    # a state_dict round trip (new arrays) packs again and gives the same numbers
    clone = compress.quantize(bn_cnn(seed=5), "int8")
    clone.load_state_dict(q.state_dict())
    np.testing.assert_array_equal(clone[3](Tensor(x)).data, want)
    with pytest.raises(ValueError, match="groups=1"):
        compress.QuantizedConv2d(Conv2d(4, 4, 3, groups=2))


def test_quantized_linear_packs_once_and_again_when_stale():
    from grimoire import _core
    from grimoire.kernels import linear_int8

    rng = np.random.default_rng(1)
    q = compress.QuantizedLinear(Linear(40, 24))
    x = rng.standard_normal((6, 40)).astype(np.float32)
    packed = q._packed_for[1]
    want = linear_int8(x, q.weight_int8, q.weight_scale, q.bias)
    np.testing.assert_array_equal(q(Tensor(x)).data, want)
    np.testing.assert_array_equal(q(Tensor(x)).data, want)
    assert q._packed_for[1] is packed  # not packed again per call
    # a new weight (load_state_dict assigns new arrays) is packed again
    state = q.state_dict()
    state["weight_int8"] = rng.integers(-127, 128, (24, 40), dtype=np.int8)
    q.load_state_dict(state)
    want = linear_int8(x, state["weight_int8"], q.weight_scale, q.bias)
    np.testing.assert_array_equal(q(Tensor(x)).data, want)
    assert q._packed_for[1] is not packed
    # another int8 path (set_isa) is packed for again
    previous = _core.active_isa()
    try:
        _core.set_isa("scalar")
        got = q(Tensor(x)).data
        assert q._packed_for[1].isa == "scalar"
        np.testing.assert_array_equal(got, linear_int8(x, q.weight_int8, q.weight_scale, q.bias))
    finally:
        _core.set_isa(previous)
    clone = copy.deepcopy(q)
    np.testing.assert_array_equal(clone(Tensor(x)).data, q(Tensor(x)).data)


def test_fp8_weights_are_ml_dtypes_e4m3_codes():
    model = small_cnn()
    f = compress.quantize(model, "fp8")
    w = model[5].weight.data
    scale = np.abs(w).max(1) / 448
    decoded = (w / scale[:, None]).astype(ml_dtypes.float8_e4m3fn).astype(np.float32) * scale[:, None]
    assert f[5].weight_fp8.dtype == np.uint8
    h = np.random.default_rng(0).random((3, 512)).astype(np.float32)
    np.testing.assert_allclose(f[5](Tensor(h)).data, h @ decoded.T + model[5].bias.data, rtol=1e-5, atol=1e-5)


def test_report_counts_parameters_and_file_bytes():
    model = small_cnn()
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 20)
    rep = compress.report(model, X, y, repeats=1)
    assert rep["parameters"] == model.num_parameters()
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    model.save(path)
    assert rep["bytes"] == os.path.getsize(path)
    os.remove(path)
    assert rep["accuracy"] == pytest.approx(np.mean(model(Tensor(X)).data.argmax(1) == y))
    q = compress.report(compress.quantize(model, "int8"))
    assert q["bytes"] < 0.4 * rep["bytes"]
    # latency: the median of the timed passes on the given clock (here one that ticks 0.5 s a read)
    ticks = iter(np.arange(100) * 0.5)
    timed = compress.report(model, X, y, repeats=3, clock=lambda: float(next(ticks)))
    assert timed["latency_ms"] == 500.0 and next(ticks) == 3.0  # 3 passes, 2 reads each


def test_bad_input_names_the_argument():
    model = small_cnn()
    for amount in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\)"):
            compress.prune(model, amount)
    with pytest.raises(ValueError, match="scope"):
        compress.prune(model, 0.5, scope="model")
    with pytest.raises(ValueError, match="layers"):
        compress.prune(model, 0.5, layers=["1"])
    with pytest.raises(ValueError, match="dtype"):
        compress.quantize(model, "int4")
    with pytest.raises(ValueError, match="temperature"):
        compress.distillation_loss(Tensor(np.zeros((2, 3))), np.zeros((2, 3)), [0, 1], temperature=0)
    with pytest.raises(ValueError, match="teacher_logits"):
        compress.distillation_loss(Tensor(np.zeros((2, 3))), np.zeros((2, 4)), [0, 1])
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        compress.prune(gnn.ReLU(), 0.5)
