"""Tour: autograd (2.3.3), neural networks (5) and training (6.3, 6.5-6.7)."""

from __future__ import annotations

import tempfile

import numpy as np

from . import Tour, section


@section("2.3.3", "Partial derivatives by reverse-mode autograd", "grimoire.autograd")
def partial_derivatives(t: Tour) -> None:
    from grimoire import Tensor

    x, y = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    f = x**3 + 2 * x * y + y
    f.backward()
    t.say("f(x, y) = x^3 + 2xy + y at (x, y) = (2, 3)")
    t.show("f", f.item())
    t.show("df/dx (autograd)", f"{x.grad.item():g}   (3x^2 + 2y = {3 * 4 + 2 * 3})")
    t.show("df/dy (autograd)", f"{y.grad.item():g}   (2x + 1 = {2 * 2 + 1})")


@section("5.1.1", "The perceptron", "grimoire.nn.Perceptron")
def perceptron(t: Tour) -> None:
    from grimoire.datasets import make_blobs
    from grimoire.nn import Perceptron

    X, y = make_blobs(200, centers=2, cluster_std=1.0, random_state=3)
    p = Perceptron(lr=0.1, max_iter=50).fit(X, y)
    t.say("w <- w + alpha (y - y_hat) x,  b <- b + alpha (y - y_hat), example by example")
    t.show("mistakes per epoch", p.errors_[:10])
    t.show("training accuracy on two separable blobs", f"{p.score(X, y):.3f} after {p.n_iter_} epochs")


@section("5.1.2", "XOR: one perceptron cannot, a small MLP can", "grimoire.nn")
def xor(t: Tour) -> None:
    import grimoire
    from grimoire import Tensor, nn, optim
    from grimoire.nn import Perceptron

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    p = Perceptron(lr=0.1, max_iter=100).fit(X, y)
    t.show(
        "perceptron predictions",
        f"{p.predict(X)}  (target {y}), accuracy {p.score(X, y):.2f}, "
        f"still {p.errors_[-1]} mistakes after {p.n_iter_} epochs",
    )
    grimoire.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.Adam(mlp.parameters(), lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(mlp(Tensor(X)).reshape(-1), y.astype(np.float32))
        loss.backward()
        opt.step()
    pred = (mlp(Tensor(X)).numpy().reshape(-1) > 0).astype(int)
    t.show("2-4-1 tanh MLP predictions", f"{pred}  accuracy {(pred == y).mean():.2f}, loss {loss.item():.4f}")


@section("5.1.3", "Backpropagation", "grimoire.autograd")
def backprop(t: Tour) -> None:
    from grimoire import Tensor, nn
    from grimoire.autograd import gradcheck

    p = np.array([0.01, 0.05, 0.04, 0.1, 0.2, 0.1, 0.2, 0.1, 0.1, 0.1], np.float32)
    z = Tensor(np.log(p), requires_grad=True)
    loss = nn.CrossEntropyLoss()(z.reshape(1, 10), np.array([2]))
    loss.backward()
    t.say("the primer's prediction vector, truth = digit 2: the loss's gradient on the logits is p - onehot")
    t.show("dL/dz", np.round(z.grad, 3))
    ok = gradcheck(
        lambda a, b: (a @ b).tanh().sum(axis=1) ** 2,
        [np.random.default_rng(0).standard_normal((3, 4)), np.random.default_rng(1).standard_normal((4, 2))],
    )
    t.show("gradcheck of a 2-layer expression vs finite differences", ok)


@section("5.2.3", "A CNN on the digits (showcase)", "grimoire.nn.zoo")
def digits_cnn(t: Tour) -> None:
    from grimoire.nn.zoo import train_digits_cnn

    r = train_digits_cnn(epochs=3 if t.quick else 6, width=16 if t.quick else 32)
    t.say("Conv-BN-ReLU x2, max-pool 2x2, MLP head; AdamW + cosine schedule on 1437 images")
    t.show("training loss per epoch", np.round(r["history"]["loss"], 3))
    t.show("test accuracy (360 held-out digits)", f"{r['accuracy']:.4f} in {r['seconds']:.1f} s")
    r["history"].plot(t.plot_path("5.2.3_digits_cnn_loss.png"))


@section("5.3", "A GRU learns a sequence", "grimoire.nn.GRU")
def gru(t: Tour) -> None:
    from grimoire.nn.zoo import train_sequence_gru

    r = train_sequence_gru(epochs=6 if t.quick else 12, n=300 if t.quick else 500)
    t.say("next value of a noisy two-tone sine from a window of 20, GRU(1 -> 32) + linear read-out")
    t.show("test MSE", f"{r['mse']:.4f}   (repeating the last value: {r['naive_mse']:.4f})")


@section("5.4", "A char-level transformer with a KV cache", "grimoire.nn.GPT")
def char_gpt(t: Tour) -> None:
    from grimoire.nn.zoo import char_data, train_char_gpt

    r = train_char_gpt(steps=30 if t.quick else 100)
    m = r["model"]
    t.say("decoder-only, 2 pre-norm blocks, d_model 64, trained on Python's pydoc text (bytes)")
    t.show(
        "loss (nats/byte) first -> last step",
        f"{r['losses'][0]:.3f} -> {np.mean(r['losses'][-10:]):.3f}"
        f"  (validation {r['val_loss']:.3f}; uniform = {np.log(256):.3f})",
    )
    prompt = char_data(200)[None, :16]
    a = m.generate(prompt, 48, temperature=0.8, top_k=20, use_cache=True, seed=1)
    b = m.generate(prompt, 48, temperature=0.8, top_k=20, use_cache=False, seed=1)
    t.show("sample", repr(bytes(a[0].astype(np.uint8)).decode("utf-8", "replace")))
    t.show("cached and uncached generation identical", bool(np.array_equal(a, b)))


@section("5.4.5.2", "The char-level transformer on a GPU", "grimoire.nn.zoo")
def char_gpt_gpu(t: Tour) -> None:
    from grimoire._info import cuda_unavailable
    from grimoire.nn.zoo import train_char_gpt

    reason = cuda_unavailable()
    if reason:
        t.say(f"not run: {reason}; on a machine with an NVIDIA GPU this trains the 5.4 model there")
        return
    # a wider model than 5.4's, so that the GPU has work to do; the same code on both devices
    cfg = dict(steps=10 if t.quick else 40, d_model=128, n_heads=4, n_layers=4, block=128, batch=32)
    train_char_gpt(**{**cfg, "steps": 2}, device="cuda", autocast=True)  # warm-up: CuPy's pool, kernels
    runs = {
        "CPU, float32": train_char_gpt(**cfg),
        "GPU, float32": train_char_gpt(**cfg, device="cuda"),
        "GPU, bf16 autocast (tensor cores)": train_char_gpt(**cfg, device="cuda", autocast=True),
    }
    t.say(f"{cfg['n_layers']} blocks, d_model {cfg['d_model']}, batch {cfg['batch']} x {cfg['block']} bytes, "
          f"{cfg['steps']} AdamW steps from one initialisation")
    base = runs["CPU, float32"]["tokens_per_s"]
    for name, r in runs.items():
        speed = f"{r['tokens_per_s']:10,.0f}  ({r['tokens_per_s'] / base:5.1f}x the CPU)"
        t.show(f"{name:34s} tokens/s", f"{speed}   loss {r['losses'][0]:.3f} -> {r['losses'][-1]:.3f}")


@section("5.4.3", "A Vision Transformer on the digits", "grimoire.nn.ViT")
def vit(t: Tour) -> None:
    from grimoire.nn.zoo import train_digits_vit

    r = train_digits_vit(epochs=2 if t.quick else 4, dim=32)
    t.say("4x4 patches -> 4 tokens + class token, 2 pre-norm encoder blocks")
    t.show("test accuracy", f"{r['accuracy']:.4f}")


@section("5.4.5", "Mixture of Experts on the digits", "grimoire.nn.MoE")
def moe(t: Tour) -> None:
    from grimoire.nn.zoo import train_digits_moe

    r = train_digits_moe(epochs=4 if t.quick else 8)
    t.say("top-2 of 4 expert MLPs per token, + 0.01 x load-balancing loss")
    t.show("test accuracy", f"{r['accuracy']:.4f}")
    t.show("share of routing slots per expert (last batch)", np.round(r["load"], 3))


@section("6.3", "Error functions", "grimoire.nn.functional")
def losses(t: Tour) -> None:
    from grimoire import Tensor
    from grimoire.nn import functional as F

    y, yh = np.array([3.0, -0.5, 2.0, 7.0], np.float32), Tensor(np.array([2.5, 0.0, 2.0, 8.0], np.float32))
    t.show(
        "MSE / MAE of [2.5, 0, 2, 8] vs [3, -0.5, 2, 7]",
        f"{F.mse_loss(yh, y).item():.4f} / {F.l1_loss(yh, y).item():.4f}",
    )
    z = Tensor(np.array([[2.0, 0.5, -1.0]], np.float32))
    t.show("cross-entropy of logits [2, 0.5, -1], class 0", f"{F.cross_entropy(z, [0]).item():.4f}")
    t.show(
        "binary cross-entropy from logit 80 (stable), target 0",
        f"{F.binary_cross_entropy_with_logits(Tensor([80.0]), [0.0]).item():.1f}",
    )
    t.show("multiclass hinge, same logits, class 1 (margin 1)", f"{F.multi_margin_loss(z, [1]).item():.4f}")


@section("6.5.1", "Optimizers", "grimoire.optim")
def optimizers(t: Tour) -> None:
    from grimoire import Tensor, optim
    from grimoire.nn import Parameter

    def rosenbrock(name, **kw):
        p = Parameter(np.array([-1.5, 2.0]))
        opt = getattr(optim, name)([p], **kw)
        for _ in range(500):
            opt.zero_grad()
            x, y = p[0], p[1]
            f = (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2
            f.backward()
            opt.step()
        return p.data, float(f.item())

    t.say("500 steps on Rosenbrock's valley from (-1.5, 2); the minimum is (1, 1)")
    for name, kw in [
        ("SGD", dict(lr=1e-4, momentum=0.9)),
        ("SGD", dict(lr=1e-4, momentum=0.9, nesterov=True)),
        ("Adagrad", dict(lr=0.5)),
        ("RMSprop", dict(lr=1e-2)),
        ("Adam", dict(lr=5e-2)),
        ("AdamW", dict(lr=5e-2, weight_decay=0.0)),
    ]:
        p, f = rosenbrock(name, **kw)
        t.show(
            f"{name}{' nesterov' if kw.get('nesterov') else ''}",
            f"at ({p[0]:+.3f}, {p[1]:+.3f}), f = {f:.2e}",
        )
    del Tensor


@section("6.5.4", "Learning-rate schedules", "grimoire.optim.lr_scheduler")
def schedules(t: Tour) -> None:
    from grimoire import optim
    from grimoire.nn import Parameter

    def trace(make):
        opt = optim.SGD([Parameter(np.zeros(1))], lr=0.1)
        s = make(opt)
        out = []
        for _ in range(12):
            out.append(round(s.get_last_lr()[0], 4))
            opt.step()
            s.step()
        return out

    ls = optim.lr_scheduler
    t.show("StepLR(4, 0.5)", trace(lambda o: ls.StepLR(o, 4, 0.5)))
    t.show("ExponentialLR(0.8)", trace(lambda o: ls.ExponentialLR(o, 0.8)))
    t.show("CosineAnnealingLR(12)", trace(lambda o: ls.CosineAnnealingLR(o, 12)))
    t.show(
        "warm-up 3 + cosine",
        trace(
            lambda o: ls.SequentialLR(
                o, [ls.LinearLR(o, 0.1, 1.0, 3), ls.CosineAnnealingLR(o, 9)], milestones=[3]
            )
        ),
    )


@section("6.5.5", "Accumulation, checkpointing, clipping, mixed precision, curriculum", "grimoire.train")
def techniques(t: Tour) -> None:
    import grimoire
    from grimoire import Tensor, nn
    from grimoire.train import (
        GradScaler,
        autocast,
        checkpoint,
        clip_grad_norm_,
        curriculum_order,
        peak_memory,
    )

    grimoire.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(256, 1024), nn.GELU(), nn.Linear(1024, 256)) for _ in range(4)]
    x = Tensor(np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32), requires_grad=True)

    def run(ckpt: bool):
        h = x
        for b in blocks:
            h = checkpoint(b, h) if ckpt else b(h)
        (h * h).mean().backward()

    plain, ck = peak_memory(lambda: run(False)), peak_memory(lambda: run(True))
    t.say("gradient checkpointing: 4 MLP blocks, batch 256; activations recomputed in backward")
    t.show("peak memory without / with", f"{plain / 2**20:.1f} MiB / {ck / 2**20:.1f} MiB")

    # accumulation: 4 mini-batches of 8 give the gradient of one batch of 32
    m = nn.Linear(16, 1)
    xb = np.random.default_rng(1).standard_normal((32, 16)).astype(np.float32)
    yb = xb.sum(1, keepdims=True)
    nn.MSELoss()(m(Tensor(xb)), yb).backward()
    full = m.weight.grad.copy()
    m.zero_grad()
    for i in range(4):
        (nn.MSELoss()(m(Tensor(xb[i * 8 : (i + 1) * 8])), yb[i * 8 : (i + 1) * 8]) * 0.25).backward()
    t.show("accumulated 4x8 gradient == batch-32 gradient", bool(np.allclose(m.weight.grad, full, atol=1e-6)))
    total = clip_grad_norm_(m.parameters(), 1.0)
    t.show(
        "clip_grad_norm_: norm before -> after",
        f"{total:.3f} -> {np.sqrt(sum((p.grad**2).sum() for p in m.parameters())):.3f}",
    )

    with autocast():
        out = m(Tensor(xb))
    t.show(
        "bf16 autocast vs float32 output, max |diff|",
        f"{np.abs(out.numpy() - m(Tensor(xb)).numpy()).max():.2e} (bf16 has 8 significant bits)",
    )
    sc = GradScaler(init_scale=2.0**16)
    g = np.float32(1e-8)
    t.show(
        "loss scaling: a gradient of 1e-8 stored in float16 without / with a 2^16 scale",
        f"{float(np.float16(g)):.3e} / {float(np.float16(g * sc.scale_value)) / sc.scale_value:.3e}"
        "  (bf16 keeps float32's exponent range, so it underflows far less)",
    )
    d = np.array([0.9, 0.1, 0.5, 0.3])
    t.show("curriculum order (easy first) of difficulties [0.9, 0.1, 0.5, 0.3]", curriculum_order(d))


@section("6.6", "Fine-tuning: freeze the pre-trained network, train a new head", "grimoire.train")
def fine_tuning(t: Tour) -> None:
    _transfer(t, finetune=False)


@section("6.7", "Transfer learning: a digit classifier reused for odd/even", "grimoire.train")
def transfer(t: Tour) -> None:
    _transfer(t, finetune=True)


def _transfer(t: Tour, finetune: bool) -> None:
    import grimoire
    from grimoire import nn, optim
    from grimoire.nn.zoo import digits_split
    from grimoire.train import evaluate, fit, freeze

    Xtr, ytr, Xte, yte = digits_split()
    Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    grimoire.manual_seed(0)
    src = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    fit(
        src,
        nn.CrossEntropyLoss(),
        optim.Adam(src.parameters(), lr=3e-3),
        Xtr[:1000],
        ytr[:1000],
        epochs=8,
        batch_size=32,
        verbose=False,
    )
    _, src_acc = evaluate(src, nn.CrossEntropyLoss(), Xte, yte)
    few = np.arange(1000, 1020)  # the new task (odd or even?) has only 20 labelled images
    new = nn.Sequential(src, nn.Softmax(-1), nn.Linear(10, 2))
    if finetune:  # everything trains, slowly
        params, lr, what = list(new.parameters()), 3e-3, "all layers fine-tuned"
    else:  # partial fine-tuning: only the new head trains
        freeze(new, except_=["2."])
        params, lr, what = [p for p in new.parameters() if p.requires_grad], 3e-2, "pre-trained layers frozen"
    fit(
        new,
        nn.CrossEntropyLoss(),
        optim.Adam(params, lr=lr),
        Xtr[few],
        ytr[few] % 2,
        epochs=40,
        batch_size=10,
        verbose=False,
    )
    _, acc = evaluate(new, nn.CrossEntropyLoss(), Xte, yte % 2)
    grimoire.manual_seed(0)
    scratch = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    fit(
        scratch,
        nn.CrossEntropyLoss(),
        optim.Adam(scratch.parameters(), lr=3e-3),
        Xtr[few],
        ytr[few] % 2,
        epochs=40,
        batch_size=10,
        verbose=False,
    )
    _, acc0 = evaluate(scratch, nn.CrossEntropyLoss(), Xte, yte % 2)
    t.say(f"pre-trained: a 10-way digit classifier (test accuracy {src_acc:.3f}) on 1000 images;")
    t.say(f"new task: odd or even, from 20 labelled images; {what}, a new 10 -> 2 head")
    t.show("odd/even test accuracy: reused network / trained from scratch", f"{acc:.3f} / {acc0:.3f}")
    with tempfile.TemporaryDirectory() as d:  # the adapted model saves and reloads like any other
        new.save(f"{d}/odd_even.safetensors")
