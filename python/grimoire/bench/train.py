"""``grimoire bench train``: one training step (forward + backward + AdamW) in grimoire vs PyTorch CPU.

Models: a GPT-style decoder (6 layers, d_model 256, 8 heads, seq 256, batch 8, vocab 256) and the
digits CNN (batch 64). Both libraries use the same number of threads, each in its own process,
alternating (:func:`grimoire.bench.compare_in_processes`); the ratio is the median of the paired
torch time / grimoire time (> 1: grimoire is faster). Peak RSS is each process's own (VmHWM after
the warm-up step and one timed step), so one library's allocations never count against the other.
``--accuracy`` also trains the digits CNN and reports its test accuracy and wall time.

Options: ``--quick`` (GPT with 2 layers, seq 128), ``--no-rss``, ``--accuracy``, ``--repeats N``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GPT_FULL = dict(n_layers=6, d_model=256, n_heads=8, seq=256, batch=8, vocab=256)
GPT_QUICK = dict(n_layers=2, d_model=256, n_heads=8, seq=128, batch=8, vocab=256)


# ---------------------------------------------------------------------------- grimoire steps
def grimoire_gpt_step(cfg: dict) -> Callable[[], float]:
    import grimoire
    from grimoire import nn, optim
    from grimoire.nn import functional as F

    grimoire.manual_seed(0)
    model = nn.GPT(cfg["vocab"], cfg["d_model"], cfg["n_heads"], cfg["n_layers"], max_len=cfg["seq"])
    opt = optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    x = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["seq"]))
    y = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["seq"]))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab"]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def grimoire_cnn_step(batch: int = 64) -> Callable[[], float]:
    import grimoire
    from grimoire import Tensor, nn, optim
    from grimoire.nn.zoo import digits_cnn

    grimoire.manual_seed(0)
    model = digits_cnn()
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(Tensor(x)), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ---------------------------------------------------------------------------- torch steps
def torch_gpt_step(cfg: dict) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)
    d, v, t = cfg["d_model"], cfg["vocab"], cfg["seq"]

    class GPT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = torch.nn.Embedding(v, d)
            self.pos = torch.nn.Parameter(torch.randn(t, d) * 0.02)
            self.blocks = torch.nn.ModuleList(
                torch.nn.TransformerEncoderLayer(
                    d, cfg["n_heads"], 4 * d, 0.0, "gelu", batch_first=True, norm_first=True
                )
                for _ in range(cfg["n_layers"])
            )
            self.ln_f = torch.nn.LayerNorm(d)
            self.head = torch.nn.Linear(d, v, bias=False)
            self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(t))

        def forward(self, idx):
            h = self.tok(idx) + self.pos[: idx.shape[1]]
            for b in self.blocks:
                h = b(h, src_mask=self.mask, is_causal=True)
            return self.head(self.ln_f(h))

    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.integers(0, v, (cfg["batch"], t)))
    y = torch.tensor(rng.integers(0, v, (cfg["batch"], t)))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, v), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_cnn_step(batch: int = 64) -> Callable[[], float]:
    import torch

    torch.manual_seed(0)
    w = 32
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, w, 3, padding=1),
        torch.nn.BatchNorm2d(w),
        torch.nn.ReLU(),
        torch.nn.Conv2d(w, 2 * w, 3, padding=1),
        torch.nn.BatchNorm2d(2 * w),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(2 * w * 16, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((batch, 1, 8, 8), dtype=np.float32))
    y = torch.tensor(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _make(lib: str, model: str, quick: bool):
    cfg = GPT_QUICK if quick else GPT_FULL
    if lib == "grimoire":
        return grimoire_gpt_step(cfg) if model == "gpt" else grimoire_cnn_step()
    return torch_gpt_step(cfg) if model == "gpt" else torch_cnn_step()


def step(lib: str, model: str, quick: bool) -> tuple[Callable[[], float], Callable[[], int]]:
    """One training step of ``lib``'s ``model``; its report is the process's peak RSS in bytes
    (after the warm-up step and the timed one: two steps)."""
    return _make(lib, model, quick), _peak_rss


def _peak_rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str]) -> None:
    import grimoire
    from grimoire.bench import compare_in_processes, emit, isa_of

    quick = "--quick" in argv
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else 3
    threads = grimoire.get_num_threads()
    cfg = GPT_QUICK if quick else GPT_FULL
    rows = []
    for model in ("gpt", "cnn"):
        work = {lib: (__name__, "step", {"lib": lib, "model": model, "quick": quick})
                for lib in ("grimoire", "torch")}
        c = compare_in_processes(work, repeats=repeats, min_time=0.0 if model == "gpt" else 0.05)
        row = [model, c.seconds["grimoire"] * 1e3, c.seconds["torch"] * 1e3, c.ratio["torch"]]
        if "--no-rss" not in argv:
            rg, rt = c.extra["grimoire"], c.extra["torch"]
            row += [rg / 2**20, rt / 2**20, rg / rt]
        rows.append(row)
    header = ["model", "grimoire ms", "torch ms", "torch time / grimoire's"]
    if "--no-rss" not in argv:
        header += ["grimoire MiB", "torch MiB", "RSS ratio"]
    emit(f"one training step (forward + backward + AdamW), {threads} threads for both, {repeats} alternating "
         f"rounds in separate processes; GPT {cfg}; digits CNN batch 64", header, rows, isa=isa_of("gemm"))
    if "--accuracy" in argv:
        from grimoire.nn.zoo import train_digits_cnn

        r = train_digits_cnn()
        print(f"digits CNN: test accuracy {r['accuracy']:.4f} after {r['seconds']:.1f} s of training")
