"""nn on the GPU (issue 9, Deliver 3 and 6): bf16 autocast on the tensor cores, and a GPT
training step on the GPU against the same step on the CPU.

Without a GPU: the one helper that chooses the autocast path (``functional._autocast_kind``) is
checked on host arrays and on fake device arrays, and the GPU path of linear, conv2d and
scaled_dot_product_attention is run on the CPU with the CUDA kernels' bf16 contract emulated
(bf16 codes in, decoded exactly, float32 kernels, float32 out -- what the tensor cores compute:
exact bf16 products, float32 sums): every GEMM-shaped kernel must receive bf16 codes, forward and
backward, and the results must match the CPU autocast path. With a GPU (``needs_gpu``): the same
ops on CuPy data against the CPU path, and a whole GPT training step.

Tolerances: the forward operands are the same bf16 values on both paths, so forwards differ only
by float32 summation order; the GPU backward also rounds the incoming gradient to bf16 (as
``torch.autocast`` does), a relative error of at most 2^-9 per element, so gradients are compared
with rtol 2^-7 against the magnitude of the reference.
"""

import numpy as np
import pytest
from cuda_support import FakeDeviceArray, needs_gpu
from grimoire import Tensor, kernels, manual_seed, nn, optim
from grimoire import autograd as ag
from grimoire import train as T
from grimoire.nn import functional as F

try:
    import cupy as cp
except ImportError:  # the cuda extra is not installed: only the no-GPU half runs
    cp = None

BF16_GRAD_RTOL = 2.0**-7


def assert_close_scaled(got, ref, rtol):
    """|got - ref| <= rtol * max|ref| (+ a float32 floor): for sums of many rounded products."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    scale = max(float(np.abs(ref).max(initial=0.0)), 1e-30)
    err = float(np.abs(got - ref).max(initial=0.0))
    assert err <= rtol * scale + 1e-6, f"max error {err:.3g} > {rtol:.3g} * {scale:.3g}"


# --------------------------------------------------------------------- the decision (no GPU needed)
def test_autocast_kind_off_is_float32_everywhere():
    assert F._autocast_kind(np.zeros((2, 2), np.float32)) == "float32"
    assert F._autocast_kind(FakeDeviceArray((2, 2))) == "float32"


def test_autocast_kind_on_rounds_on_the_cpu_and_uses_bf16_codes_on_a_device():
    import array_api_strict as xs

    with ag.autocast():
        assert F._autocast_kind(np.zeros((2, 2), np.float32)) == "bf16_round"
        assert F._autocast_kind(xs.zeros((2, 2))) == "bf16_round"  # a CPU namespace that is not NumPy
        assert F._autocast_kind(FakeDeviceArray((2, 2))) == "bf16_codes"
    with ag.autocast(enabled=False):
        assert F._autocast_kind(FakeDeviceArray((2, 2))) == "float32"


def test_autocast_operand_gives_what_each_kernel_path_takes():
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    xp = ag._NP
    assert F._autocast_operand("float32", xp, x) is x
    np.testing.assert_array_equal(F._autocast_operand("bf16_round", xp, x), ag.bf16_round(x))
    codes = F._autocast_operand("bf16_codes", xp, x.T)  # a transposed view: codes are C-contiguous
    assert codes.dtype == np.uint16 and codes.flags.c_contiguous
    np.testing.assert_array_equal(kernels.from_bf16(codes), ag.bf16_round(np.ascontiguousarray(x.T)))


# --------------------------------------------------------------------- the GPU path, emulated on the CPU
@pytest.fixture
def emulated_tensor_cores(monkeypatch):
    """Force the ``bf16_codes`` path on host data and stand in for the CUDA bindings' bf16 contract
    (uint16 codes in, float32 out; attention returns its output as codes). Records, per kernel,
    the dtypes it was called with, so the test can see that every GEMM got bf16 codes."""
    calls: dict[str, list[str]] = {}
    gemm, conv2d, conv2d_bw = kernels.gemm, kernels.conv2d, kernels.conv2d_backward
    attention, attention_bw = F._attention, F._attention_backward
    dec = kernels.from_bf16

    def all_codes(name, *arrays):
        kinds = {str(a.dtype) for a in arrays}
        calls.setdefault(name, []).append("/".join(sorted(kinds)))
        assert kinds in ({"uint16"}, {"float32"}), f"{name} got mixed dtypes {kinds}"  # as the bindings
        return kinds == {"uint16"}

    def emu_gemm(a, b, c=None, **kw):
        if all_codes("gemm", a, b):
            a, b = dec(a), dec(b)
        return gemm(a, b, c, **kw)

    def emu_conv2d(x, w, b=None, **cfg):
        if all_codes("conv2d", x, w):
            x, w = dec(x), dec(w)
        return conv2d(x, w, b, **cfg)

    def emu_conv2d_backward(g, x, w, **cfg):
        if all_codes("conv2d_backward", g, x, w):
            g, x, w = dec(g), dec(x), dec(w)
        return conv2d_bw(g, x, w, **cfg)

    def emu_attention(q, k, v, **kw):
        if not all_codes("attention", q, k, v):
            return attention(q, k, v, **kw)
        out, lse = attention(dec(q), dec(k), dec(v), **kw)
        return kernels.to_bf16(out), lse

    def emu_attention_backward(g, q, k, v, out, lse, **kw):
        if all_codes("attention_backward", g, q, k, v, out):
            g, q, k, v, out = (dec(a) for a in (g, q, k, v, out))
        return attention_bw(g, q, k, v, out, lse, **kw)

    def forced(data):
        return "bf16_codes" if ag.autocast_enabled() else "float32"

    monkeypatch.setattr(F, "_autocast_kind", forced)
    monkeypatch.setattr(F, "_gemm", emu_gemm)
    monkeypatch.setattr(kernels, "conv2d", emu_conv2d)
    monkeypatch.setattr(kernels, "conv2d_backward", emu_conv2d_backward)
    monkeypatch.setattr(F, "_attention", emu_attention)
    monkeypatch.setattr(F, "_attention_backward", emu_attention_backward)
    return calls


def _run(fn, *arrays, autocast: bool, grad_out=None):
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    with ag.autocast(autocast):
        y = fn(*ts)
    g = np.ones(y.shape, np.float32) if grad_out is None else grad_out
    (y * Tensor(g)).sum().backward()
    return y.numpy(), [t.grad for t in ts]


def _run_cpu_autocast(fn, *arrays, monkeypatch, grad_out=None):
    """The CPU autocast path, with the emulation's kind forced back to ``bf16_round``."""
    with monkeypatch.context() as m:
        m.setattr(F, "_autocast_kind", lambda data: "bf16_round" if ag.autocast_enabled() else "float32")
        return _run(fn, *arrays, autocast=True, grad_out=grad_out)


def test_linear_tensor_core_path_emulated(emulated_tensor_cores, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 7, 48)).astype(np.float32)
    w = rng.standard_normal((33, 48)).astype(np.float32) * 0.2
    b = rng.standard_normal(33).astype(np.float32)
    g = rng.standard_normal((2, 7, 33)).astype(np.float32)
    y, grads = _run(F.linear, x, w, b, autocast=True, grad_out=g)
    assert emulated_tensor_cores["gemm"] == ["uint16"] * 3  # forward, dx, dW: all on bf16 codes
    y_ref, grads_ref = _run_cpu_autocast(F.linear, x, w, b, monkeypatch=monkeypatch, grad_out=g)
    # The same bf16 operands, summed in float32: on the CPU by linear_bf16 (vdpbf16ps pairs where the
    # CPU has AVX512_BF16), here by the float32 GEMM, so only the order of the sums differs.
    assert_close_scaled(y, y_ref, 1e-6)
    for got, ref in zip(grads, grads_ref, strict=True):
        assert_close_scaled(got, ref, BF16_GRAD_RTOL)
    np.testing.assert_array_equal(grads[2], grads_ref[2])  # the bias gradient sums the float32 g
    # and the bf16 rounding of g is really there: dx differs from the float32-g reference
    assert not np.array_equal(grads[0], grads_ref[0])


def test_linear_autocast_off_keeps_float32_kernels(emulated_tensor_cores):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    y, _ = _run(F.linear, x, w, autocast=False)
    assert emulated_tensor_cores["gemm"] == ["float32"] * 3
    np.testing.assert_allclose(y, x @ w.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("groups,stride,padding", [(1, 1, 1), (2, 2, 0)])
def test_conv2d_tensor_core_path_emulated(emulated_tensor_cores, monkeypatch, groups, stride, padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 4 // groups, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(6).astype(np.float32)

    def conv(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)

    y, grads = _run(conv, x, w, b, autocast=True)
    assert emulated_tensor_cores["conv2d"] == ["uint16"]
    assert emulated_tensor_cores["conv2d_backward"] == ["uint16"]
    y_ref, grads_ref = _run_cpu_autocast(conv, x, w, b, monkeypatch=monkeypatch)
    np.testing.assert_array_equal(y, y_ref)
    for got, ref in zip(grads, grads_ref, strict=True):
        assert_close_scaled(got, ref, BF16_GRAD_RTOL)


@pytest.mark.parametrize("causal,kv_heads", [(False, 4), (True, 2)])
def test_attention_tensor_core_path_emulated(emulated_tensor_cores, monkeypatch, causal, kv_heads):
    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 4, 9, 16)).astype(np.float32)
    k = rng.standard_normal((2, kv_heads, 9, 16)).astype(np.float32)
    v = rng.standard_normal((2, kv_heads, 9, 16)).astype(np.float32)
    g = rng.standard_normal((2, 4, 9, 16)).astype(np.float32)

    def sdpa(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    y, grads = _run(sdpa, q, k, v, autocast=True, grad_out=g)
    assert emulated_tensor_cores["attention"] == ["uint16"]
    assert emulated_tensor_cores["attention_backward"] == ["uint16"]
    # the output the graph holds is the bf16 output widened: exactly representable in bf16
    np.testing.assert_array_equal(y, ag.bf16_round(y))
    y_ref, grads_ref = _run(sdpa, q, k, v, autocast=False, grad_out=g)  # the CPU: float32 attention
    assert_close_scaled(y, y_ref, 2.0**-6)  # bf16 q, k, v (and out): a few bf16 ulps
    for got, ref in zip(grads, grads_ref, strict=True):
        assert_close_scaled(got, ref, 2.0**-5)


# --------------------------------------------------------------------- on a GPU
def _to_cuda(a):
    return cp.asarray(a)


@needs_gpu
@pytest.mark.parametrize("op", ["linear", "conv2d", "attention"])
def test_autocast_ops_on_the_gpu_match_the_cpu_path(op):
    rng = np.random.default_rng(5)
    if op == "linear":
        arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 37, 96), (80, 96), (80,)]]

        def fn(x, w, b):
            return F.linear(x, w, b)
    elif op == "conv2d":
        arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 8, 13, 11), (16, 8, 3, 3), (16,)]]

        def fn(x, w, b):
            return F.conv2d(x, w, b, padding=1)
    else:
        arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 4, 70, 64), (2, 2, 70, 64),
                                                                    (2, 2, 70, 64)]]

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    y_ref, grads_ref = _run(fn, *arrays, autocast=True)  # the CPU path (bf16-rounded float32)
    with ag.autocast():
        assert F._autocast_kind(_to_cuda(arrays[0])) == "bf16_codes"
    ts = [Tensor(_to_cuda(a), requires_grad=True) for a in arrays]  # leaves on the device
    with ag.autocast():
        y = fn(*ts)
    y.sum().backward()
    assert y.device.startswith("cuda")
    rtol_y = 2.0**-6 if op == "attention" else 1e-5
    assert_close_scaled(y.numpy(), y_ref, rtol_y)
    for t, ref in zip(ts, grads_ref, strict=True):
        assert t.grad is not None and t.device.startswith("cuda")
        assert_close_scaled(cp.asnumpy(t.grad), ref, 2.0**-5 if op == "attention" else BF16_GRAD_RTOL)


def _gpt_step(device: str, steps: int = 2):
    """``steps`` AdamW steps of a small GPT under bf16 autocast on ``device``: the losses, the
    gradients of the last step and the parameters before and after, on the host."""
    manual_seed(0)
    model = nn.GPT(64, d_model=64, n_heads=4, n_layers=2, max_len=32)
    model.to(device)
    params = model.parameters()
    before = [np.array(p.numpy(), copy=True) for p in params]
    opt = optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    data = np.random.default_rng(0).integers(0, 64, (4, 33))
    x, y = data[:, :-1], data[:, 1:]
    if device != "cpu":
        x, y = cp.asarray(x), cp.asarray(y)
    losses = []
    for _ in range(steps):
        with T.autocast():
            loss = F.cross_entropy(model(x).reshape(-1, 64), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        grads = [np.asarray(cp.asnumpy(p.grad) if device != "cpu" else p.grad) for p in params]
        T.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
    assert all((p.device == "cpu") == (device == "cpu") for p in params)  # nothing left behind
    return losses, grads, before, [p.numpy() for p in params]


@needs_gpu
def test_gpt_training_step_on_the_gpu_matches_the_cpu():
    cpu_losses, cpu_grads, cpu_before, cpu_after = _gpt_step("cpu")
    gpu_losses, gpu_grads, gpu_before, gpu_after = _gpt_step("cuda")
    for a, b in zip(gpu_before, cpu_before, strict=True):
        np.testing.assert_array_equal(a, b)  # one initialisation, moved
    # bf16 operands on both; the GPU also rounds the gradients entering its GEMMs to bf16 and
    # sums in another order: losses agree to a few bf16 ulps of the logits' effect
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=2e-3)
    for got, ref in zip(gpu_grads, cpu_grads, strict=True):
        assert_close_scaled(got, ref, 2.0**-4)
    # the updates: Adam's normalised step may flip where a gradient is ~0, so compare norms
    for a0, a1, b1 in zip(cpu_before, gpu_after, cpu_after, strict=True):
        du_gpu, du_cpu = a1 - a0, b1 - a0
        assert np.linalg.norm(du_gpu - du_cpu) <= 0.1 * np.linalg.norm(du_cpu) + 1e-7


# --------------------------------------------------------------------- the showcases on a device
def test_zoo_trainers_take_a_device_and_cpu_equals_the_default():
    from grimoire.nn import zoo

    cfg = dict(steps=3, d_model=16, n_heads=2, n_layers=1, block=16, batch=4, max_chars=5_000)
    a, b = zoo.train_char_gpt(**cfg), zoo.train_char_gpt(**cfg, device="cpu")
    assert a["losses"] == b["losses"] and a["val_loss"] == b["val_loss"]
    assert b["tokens_per_s"] == pytest.approx(3 * 4 * 16 / b["seconds"])
    c = zoo.train_digits_cnn(epochs=1, width=4, n_train=128, device="cpu")
    d = zoo.train_digits_cnn(epochs=1, width=4, n_train=128)
    assert c["accuracy"] == d["accuracy"] and c["history"]["loss"] == d["history"]["loss"]


def test_tour_gpu_section_without_a_gpu_says_why_in_one_line(capsys, tmp_path):
    from grimoire import tour
    from grimoire._info import cuda_unavailable

    reason = cuda_unavailable()
    if reason is None:
        pytest.skip("this machine has a GPU: the section trains there (test_tour_gpu_section_prints_speeds)")
    (sec,) = tour.select(["5.4.5.2"])
    sec.run(tour.Tour(out_dir=tmp_path, quick=True))
    out = capsys.readouterr().out.strip()
    assert out == f"not run: {reason}; on a machine with an NVIDIA GPU this trains the 5.4 model there"


def test_tour_gpu_section_prints_speeds(capsys, tmp_path, monkeypatch):
    """The section's GPU branch: three runs (CPU float32, GPU float32, GPU bf16), tokens/s each.
    Without a GPU the 'GPU' runs are made on the CPU (the device argument recorded and dropped),
    which checks what the section asks for and prints, not the GPU."""
    from grimoire import _info, tour
    from grimoire.nn import zoo

    asked = []
    real = zoo.train_char_gpt
    on_gpu = _info.cuda_unavailable() is None

    def train(**kw):
        asked.append((kw.get("device"), kw.get("autocast", False), kw["steps"]))
        small = {**kw, "d_model": 16, "n_layers": 1, "block": 16, "batch": 4, "max_chars": 5_000}
        return real(**(small if on_gpu else {k: v for k, v in small.items() if k != "device"}))

    monkeypatch.setattr(zoo, "train_char_gpt", train)
    monkeypatch.setattr(_info, "cuda_unavailable", lambda: None)
    (sec,) = tour.select(["5.4.5.2"])
    sec.run(tour.Tour(out_dir=tmp_path, quick=True))
    out = capsys.readouterr().out
    assert asked == [("cuda", True, 2), (None, False, 10), ("cuda", False, 10), ("cuda", True, 10)]
    rows = [line for line in out.splitlines() if "tokens/s" in line]
    assert len(rows) == 3 and "1.0x the CPU" in rows[0], out


def test_bench_gpu_gpt_is_the_issue_case_and_says_why_it_cannot_run(capsys):
    from grimoire.bench import gpu, gpu_gpt

    assert "gpt" in gpu.gpu_families()
    full = gpu_gpt._config(small=False)
    assert (full["layers"], full["d_model"], full["seq"], full["batch"]) == (12, 768, 1024, 8)
    reason = gpu.unavailable()
    if reason is None:
        pytest.skip("this machine can run the GPU benchmarks")
    gpu.main(["gpt"])
    assert capsys.readouterr().out == f"grimoire bench gpu: skipped ({reason})\n"


# --------------------------------------------------------------------- conv1d goes where its arrays are
def test_conv1d_dispatches_through_backend_with_4d_views(monkeypatch):
    from grimoire import _core
    from grimoire.kernels import conv as conv_mod

    seen = []
    real = conv_mod.backend

    def recording_backend(**arrays):
        seen.append({k: (None if v is None else tuple(v.shape)) for k, v in arrays.items()})
        return real(**arrays)

    monkeypatch.setattr(conv_mod, "backend", recording_backend)
    rng = np.random.default_rng(6)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in [(2, 4, 11), (6, 2, 3), (6,)])
    y = kernels.conv1d(x, w, b, stride=2, padding=1, groups=2)
    ref = _core.conv2d(x[:, :, None, :], w[:, :, None, :], b, (1, 2), (0, 1), (1, 1), 2)[:, :, 0, :]
    np.testing.assert_array_equal(y, ref)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = kernels.conv1d_backward(g, x, w, stride=2, padding=1, groups=2)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (6,)
    assert seen == [{"x": (2, 4, 1, 11), "w": (6, 2, 1, 3), "b": (6,)},
                    {"grad_out": (2, 6, 1, 6), "x": (2, 4, 1, 11), "w": (6, 2, 1, 3)}]
    with pytest.raises(TypeError, match="x must be an array"):
        kernels.conv1d([[[1.0]]], w)


@needs_gpu
def test_conv1d_layer_on_the_gpu_matches_the_cpu():
    rng = np.random.default_rng(7)
    manual_seed(0)
    layer = nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)
    x = rng.standard_normal((3, 4, 17)).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    y = layer(t)
    y.sum().backward()
    ref = (y.numpy(), t.grad, layer.weight.grad.copy(), layer.bias.grad.copy())
    layer.zero_grad()
    layer.to("cuda")
    tc = Tensor(cp.asarray(x), requires_grad=True)
    yc = layer(tc)
    yc.sum().backward()
    got = (yc.numpy(), cp.asnumpy(tc.grad), cp.asnumpy(layer.weight.grad), cp.asnumpy(layer.bias.grad))
    for a, r in zip(got, ref, strict=True):
        assert_close_scaled(a, r, 1e-5)
