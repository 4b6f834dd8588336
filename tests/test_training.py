"""Training techniques (grimoire.train) and the chapter-5 showcases on reduced sizes."""

import grimoire
import numpy as np
import pytest
import torch
from grimoire import Tensor, nn, optim
from grimoire import train as T
from grimoire.nn import zoo


def test_perceptron_primer_algorithm_and_xor():
    # one hand-checked update: w starts ~0, the first example (target 1) is misclassified
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    p_and = nn.Perceptron(lr=0.1, max_iter=100).fit(X, [0, 0, 0, 1])
    assert p_and.score(X, [0, 0, 0, 1]) == 1.0 and p_and.errors_[-1] == 0
    p_xor = nn.Perceptron(lr=0.1, max_iter=100).fit(X, [0, 1, 1, 0])
    assert p_xor.score(X, [0, 1, 1, 0]) <= 0.75 and p_xor.errors_[-1] > 0  # no line separates XOR
    grimoire.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        nn.BCEWithLogitsLoss()(mlp(Tensor(X)).reshape(-1), np.array([0, 1, 1, 0], np.float32)).backward()
        opt.step()
    assert ((mlp(Tensor(X)).numpy().reshape(-1) > 0) == [0, 1, 1, 0]).all()


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal((3, 4)).astype(np.float32) * 5, rng.standard_normal(4).astype(np.float32)]
    ours = [nn.Parameter(np.zeros_like(g)) for g in gs]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in gs]
    for p, t, g in zip(ours, theirs, gs, strict=True):
        p.grad, t.grad = g.copy(), torch.tensor(g)
    n1 = T.clip_grad_norm_(ours, 2.0)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, 2.0)
    assert n1 == pytest.approx(n2.item(), rel=1e-5)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-5)


def test_gradient_accumulation_equals_big_batch():
    grimoire.manual_seed(0)
    m = nn.Linear(5, 2)
    X = np.random.default_rng(1).standard_normal((12, 5)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 2, 12)
    nn.CrossEntropyLoss()(m(Tensor(X)), y).backward()
    full = np.array(m.weight.grad, copy=True)
    m.zero_grad()
    for i in range(3):
        (nn.CrossEntropyLoss()(m(Tensor(X[4 * i : 4 * i + 4])), y[4 * i : 4 * i + 4]) * (1 / 3)).backward()
    np.testing.assert_allclose(m.weight.grad, full, rtol=1e-5, atol=1e-7)


def test_checkpoint_same_gradients_less_memory():
    grimoire.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64)) for _ in range(3)]
    xs = np.random.default_rng(0).standard_normal((128, 64)).astype(np.float32)

    def run(ckpt):
        for b in blocks:
            b.zero_grad()
        x = Tensor(xs, requires_grad=True)
        h = x
        for b in blocks:
            h = T.checkpoint(b, h) if ckpt else b(h)
        (h * h).mean().backward()
        return x.grad, [np.array(p.grad, copy=True) for b in blocks for p in b.parameters()]

    gx0, gp0 = run(False)
    gx1, gp1 = run(True)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-6)
    for a, b in zip(gp0, gp1, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6)
    assert T.peak_memory(lambda: run(True)) < T.peak_memory(lambda: run(False))


def test_autocast_bf16_and_grad_scaler():
    import ml_dtypes

    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    np.testing.assert_array_equal(T.bf16_round(x), x.astype(ml_dtypes.bfloat16).astype(np.float32))
    m = nn.Linear(8, 3)
    xb = Tensor(np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32))
    with T.autocast():
        y16 = m(xb)
    ref = T.bf16_round(xb.numpy()) @ T.bf16_round(m.weight.data).T + m.bias.data
    np.testing.assert_allclose(y16.numpy(), ref, rtol=1e-5, atol=1e-6)
    y16.sum().backward()
    assert np.asarray(m.weight.grad).dtype == np.float32
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=1.0)
    sc = T.GradScaler(init_scale=8.0, growth_interval=1)
    p.grad = np.array([np.inf, 1.0], np.float32)
    assert not sc.step(opt)
    sc.update()
    assert sc.scale_value == 4.0 and (p.numpy() == 1).all()
    p.grad = np.array([4.0, 8.0], np.float32)  # = 4 * true gradient (1, 2)
    assert sc.step(opt)
    sc.update()
    np.testing.assert_allclose(p.data, [0.0, -1.0])
    assert sc.scale_value == 8.0


def test_early_stopping_and_curriculum():
    es = T.EarlyStopping(patience=2)
    vals = [1.0, 0.8, 0.85, 0.9, 0.7]
    stops = [es(v, i) for i, v in enumerate(vals)]
    assert stops == [False, False, False, True, False] and es.best_epoch == 4
    np.testing.assert_array_equal(T.curriculum_order([0.9, 0.1, 0.5, 0.1]), [1, 3, 2, 0])
    assert T.curriculum_fraction(0, 10, 0.3) == pytest.approx(0.3) and T.curriculum_fraction(5, 10) == 1.0


def test_fit_features_and_checkpoint_round_trip(tmp_path):
    Xtr, ytr, Xte, yte = zoo.digits_split()
    Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    grimoire.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = optim.Adam(m.parameters(), lr=3e-3)
    es = T.EarlyStopping(patience=3)
    hist = T.fit(
        m,
        nn.CrossEntropyLoss(),
        opt,
        Xtr,
        ytr,
        epochs=6,
        batch_size=32,
        val=(Xte, yte),
        accumulation_steps=2,
        clip_norm=5.0,
        mixed_precision=True,
        early_stopping=es,
        curriculum=np.random.default_rng(0).random(len(Xtr)),
        checkpoint_path=tmp_path / "ck.safetensors",
        verbose=False,
    )
    assert hist["val_metric"][-1] > 0.85 and hist["loss"][-1] < hist["loss"][0]
    # the checkpoint holds the best epoch's model and optimizer; training continues identically
    m2 = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt2 = optim.Adam(m2.parameters(), lr=3e-3)
    meta = T.load_checkpoint(tmp_path / "ck.safetensors", m2, opt2)
    assert meta["val_loss"] == pytest.approx(min(hist["val_loss"]), rel=1e-6)
    T.save_checkpoint(tmp_path / "a.safetensors", m2, opt2)
    m3 = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt3 = optim.Adam(m3.parameters(), lr=3e-3)
    T.load_checkpoint(tmp_path / "a.safetensors", m3, opt3)
    for mm, oo in ((m2, opt2), (m3, opt3)):
        oo.zero_grad()
        nn.CrossEntropyLoss()(mm(Tensor(Xtr[:16])), ytr[:16]).backward()
        oo.step()
    for a, b in zip(m2.parameters(), m3.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_freeze_partial_fine_tuning():
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    T.freeze(m, except_=["2."])
    assert [n for n, p in m.named_parameters() if p.requires_grad] == ["2.weight", "2.bias"]
    before = m[0].weight.numpy().copy()
    opt = optim.SGD(T.trainable_parameters(m), lr=0.1)
    nn.CrossEntropyLoss()(m(Tensor(np.ones((3, 4)))), [0, 1, 1]).backward()
    opt.step()
    np.testing.assert_array_equal(m[0].weight.data, before)
    T.unfreeze(m)
    assert all(p.requires_grad for p in m.parameters())


@pytest.mark.slow
def test_digits_cnn_showcase_reduced():
    r = zoo.train_digits_cnn(epochs=3, width=16)
    assert r["accuracy"] >= 0.95


@pytest.mark.slow
def test_tabular_mlp_showcase():
    assert zoo.train_tabular_mlp(epochs=15)["accuracy"] >= 0.95


@pytest.mark.slow
def test_sequence_gru_showcase():
    r = zoo.train_sequence_gru(epochs=5, n=300)
    assert r["mse"] < 0.6 * r["naive_mse"]


@pytest.mark.slow
def test_char_gpt_learns_and_kv_cache_matches():
    r = zoo.train_char_gpt(steps=30, d_model=32, n_heads=2, n_layers=2, block=32, batch=8, max_chars=20_000)
    assert np.mean(r["losses"][-5:]) < 0.75 * r["losses"][0]
    m = r["model"]
    prompt = zoo.char_data(100)[None, :8]
    a = m.generate(prompt, 20, temperature=0.9, top_k=10, use_cache=True, seed=3)
    b = m.generate(prompt, 20, temperature=0.9, top_k=10, use_cache=False, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        m.generate(prompt, 10, temperature=0, use_cache=True),
        m.generate(prompt, 10, temperature=0, use_cache=False),
    )


@pytest.mark.slow
def test_vit_and_moe_train_on_digits():
    assert zoo.train_digits_vit(epochs=3, dim=32, n_train=800)["accuracy"] >= 0.8
    assert zoo.train_digits_moe(epochs=4)["accuracy"] >= 0.9


def test_autocast_linear_runs_the_bf16_gemm_on_the_cpu(isa):
    """Under autocast, linear's forward is the core's bf16 GEMM (kernels.linear_bf16: x and W
    rounded to bf16 while packing, float32 sums) and its backward multiplies by the bf16-rounded
    operands, as before."""
    import ml_dtypes
    from grimoire.kernels import linear_bf16

    rng = np.random.default_rng(2)
    m = nn.Linear(40, 24)
    x = Tensor(rng.standard_normal((3, 5, 40)).astype(np.float32), requires_grad=True)
    with T.autocast():
        y = m(x)
    x2 = x.numpy().reshape(-1, 40)
    if isinstance(y.data, np.ndarray):  # NumPy storage runs the core's linear_bf16 itself; another
        # namespace (array_api_strict in .ci/nn_namespace.sh) rounds to bf16 and runs its own matmul
        want = (linear_bf16(x2, np.asarray(m.weight.data)) + np.asarray(m.bias.data)).reshape(3, 5, 24)
        np.testing.assert_array_equal(y.numpy(), want)
    xr = x2.astype(ml_dtypes.bfloat16).astype(np.float64)
    wr = np.asarray(m.weight.data).astype(ml_dtypes.bfloat16).astype(np.float64)
    np.testing.assert_allclose(y.numpy().reshape(-1, 24), xr @ wr.T + m.bias.data, rtol=1e-5, atol=1e-5)
    g = rng.standard_normal((3, 5, 24)).astype(np.float32)
    y.backward(g)
    g2 = g.reshape(-1, 24).astype(np.float64)
    np.testing.assert_allclose(np.asarray(x.grad).reshape(-1, 40), g2 @ wr, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.weight.grad, g2.T @ xr, rtol=1e-5, atol=1e-5)
