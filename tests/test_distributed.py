"""grimoire.distributed on 2 (and 4) MPI ranks on this machine, against one process.

Each scenario (grimoire/distributed/_scenarios.py) runs under mpiexec and writes every rank's
results; the oracle is the same seeded model trained in one process on the concatenated batch
(data parallelism, ZeRO) or the unsharded block (tensor parallelism).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from grimoire.distributed import _scenarios as S
from grimoire.distributed import comm, launch

ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(sys.path),
    "GRIMOIRE_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}


def run(name: str, out_dir, ranks: int = 2) -> list[dict[str, np.ndarray]]:
    cmd = launch.command(ranks, ["-m", "grimoire.distributed._scenarios", name, str(out_dir)])
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return [dict(np.load(os.path.join(out_dir, f"{name}-rank{r}.npz"))) for r in range(ranks)]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def reference():
    return S.single_process()


def test_collectives(out_dir):
    ranks = run("collectives", out_dir)
    x = [np.arange(6, dtype=np.float32) + 10 * r for r in range(2)]
    for r, got in enumerate(ranks):
        np.testing.assert_array_equal(got["sum"], x[0] + x[1])
        np.testing.assert_array_equal(got["mean"], (x[0] + x[1]) / 2)
        np.testing.assert_array_equal(got["max"], np.maximum(x[0], x[1]))
        np.testing.assert_array_equal(got["reduce_scatter"], (x[0] + x[1])[3 * r : 3 * r + 3])
        np.testing.assert_array_equal(got["all_gather"], np.concatenate(x))
        np.testing.assert_array_equal(got["broadcast"], x[1])
        np.testing.assert_array_equal(got["async_sum"], x[0] + x[1])


@pytest.mark.parametrize("name", ["ddp", "zero1", "zero2", "zero3", "no_sync"])
def test_data_parallel_equals_one_process_on_the_whole_batch(name, out_dir, reference):
    prefix = "module." if name in ("ddp", "zero1", "no_sync") else ""
    for got in run(name, out_dir):
        for key, want in reference.items():
            have = got[f"param.{prefix}{key}"]
            assert np.abs(have - want).max() <= 1e-6 * np.abs(want).max(), f"{name}: {key}"


def test_tensor_parallel_blocks_equal_the_unsharded_ones(out_dir):
    for got in run("tensor_parallel", out_dir):
        for key, rel_err in got.items():
            assert float(rel_err) <= 1e-5, f"{key}: relative error {float(rel_err):.2e}"


def test_tensor_and_data_parallel_on_a_2x2_grid(out_dir):
    ranks = run("tp_dp", out_dir, ranks=4)
    # The same seeded MLP, unsharded, in one process on the whole batch.
    from grimoire import autograd as ag
    from grimoire import nn, optim
    from grimoire.autograd import Tensor

    ag.manual_seed(0)
    fc1, fc2 = nn.Linear(S.D_IN, S.D_HIDDEN), nn.Linear(S.D_HIDDEN, S.D_IN)
    params = [*fc1.parameters(), *fc2.parameters()]
    opt = optim.AdamW(params, lr=1e-2)
    for s in range(S.STEPS):
        x, _ = S.data(s)
        loss = (fc2(fc1(Tensor(x)).gelu()) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for got in ranks:
        r, h = int(got["tp_rank"]), S.D_HIDDEN // 2
        pairs = {
            "fc1.weight": fc1.weight.data[r * h : (r + 1) * h],
            "fc1.bias": fc1.bias.data[r * h : (r + 1) * h],
            "fc2.weight": fc2.weight.data[:, r * h : (r + 1) * h],
            "fc2.bias": fc2.bias.data,
        }
        for key, want in pairs.items():
            np.testing.assert_allclose(got[f"param.{key}"], want, rtol=0, atol=1e-6 * np.abs(want).max())


def test_a_checkpoint_of_2_ranks_resumes_in_one_process(out_dir):
    uninterrupted = run("zero3", out_dir)
    two = run("checkpoint", out_dir)
    for r in range(2):  # the sharded run itself continues exactly
        np.testing.assert_allclose(two[r]["losses_after"], uninterrupted[r]["losses"][10:], rtol=1e-6)
    done = subprocess.run(
        [sys.executable, "-m", "grimoire.distributed._scenarios", "resume", str(out_dir)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    one = np.load(os.path.join(out_dir, "resume-rank0.npz"))["losses_after"]
    # one process sees the whole batch: its loss is the mean of the two ranks' half-batch losses
    np.testing.assert_allclose(one, (two[0]["losses_after"] + two[1]["losses_after"]) / 2, rtol=1e-5)
    from grimoire.distributed import load_full_state_dict

    state = load_full_state_dict(os.path.join(out_dir, "ckpt"))
    plain = S.mlp()
    plain.load_state_dict(state)  # a plain module takes the gathered weights


def test_ranks_that_disagree_on_shapes_fail_on_every_rank(out_dir):
    for got in run("mismatch", out_dir):
        assert "ranks disagree on the parameters" in str(got["error"])


def test_a_world_size_that_does_not_divide_the_layer_is_refused_on_every_rank(out_dir):
    expected = {
        "column": r"out_features \(3\) must be divisible by the tensor-parallel world size 2",
        "row": r"in_features \(3\) must be divisible by the tensor-parallel world size 2",
        "mlp": r"out_features \(5\) must be divisible by the tensor-parallel world size 2",
        "attention": r"num_heads \(3\) must be divisible by the tensor-parallel world size 2",
    }
    for got in run("tp_indivisible", out_dir):
        for key, pattern in expected.items():
            assert re.search(pattern, str(got[key])), (key, str(got[key]))


def test_zero3_holds_at_most_055_of_ddp_memory(out_dir):
    ddp = max(int(g["state_bytes"]) for g in run("memory_ddp", out_dir))
    zero3 = max(int(g["state_bytes"]) for g in run("memory_zero3", out_dir))
    assert zero3 <= 0.55 * ddp, f"ZeRO-3 keeps {zero3} bytes per rank, DDP {ddp}"


def test_char_gpt_under_ddp_and_zero3_follows_one_process(out_dir):
    """The tour's run (5.4's char-level GPT, clipping and schedule included): the loss of the
    whole batch at every step equals one process's, and ZeRO-3 holds <= 0.55x of DDP's bytes."""
    one = run("char_gpt", out_dir, ranks=1)[0]
    ranks = run("char_gpt", out_dir)
    assert one["plain.losses"][-1] < one["plain.losses"][0] - 1.0  # it trains
    for got in ranks:
        for kind in ("ddp", "zero3"):
            np.testing.assert_allclose(got[f"{kind}.losses"], one["plain.losses"], rtol=1e-5, err_msg=kind)
    ddp, zero3 = (max(int(g[f"{k}.state_bytes"]) for g in ranks) for k in ("ddp", "zero3"))
    assert zero3 <= 0.55 * ddp, f"ZeRO-3 keeps {zero3} bytes per rank, DDP {ddp}"


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_fsdp_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    from grimoire import nn
    from grimoire.distributed import FullyShardedDataParallel

    model = FullyShardedDataParallel(S.mlp(), auto_wrap_policy={nn.Linear})  # a world of one
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(u.shard.shape).astype(np.float32) for u in model.units]
    for u, g in zip(model.units, grads, strict=True):
        u.shard.grad = g.copy()
    ref = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, g in zip(ref, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    want = float(torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type))
    assert model.clip_grad_norm_(max_norm, norm_type) == pytest.approx(want, rel=1e-5)
    for u, p in zip(model.units, ref, strict=True):
        np.testing.assert_allclose(u.shard.grad, p.grad.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="norm_type must be"):
        model.clip_grad_norm_(1.0, 0.0)
    with pytest.raises(ValueError, match="max_norm must be"):
        model.clip_grad_norm_(-1.0)


def test_one_process_is_a_world_of_one():
    g = comm.init()
    assert (g.rank, g.size) == (0, 1)
    x = np.arange(4, dtype=np.float32)
    g.all_reduce(x, "mean")
    np.testing.assert_array_equal(x, np.arange(4))


def test_bad_buffers_and_arguments_are_named():
    g = comm.init()
    with pytest.raises(TypeError, match="buf must be a numpy.ndarray"):
        g.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="buf must be C-contiguous"):
        g.all_reduce(np.zeros((4, 4), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="op must be one of"):
        g.all_reduce(np.zeros(3, np.float32), "prod")
    with pytest.raises(ValueError, match="out must have world_size"):
        g.all_gather(np.zeros(3, np.float32), np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="-n .* must be a positive int"):
        launch.command(0, ["x.py"])
    with pytest.raises(ValueError, match="dp \\* tp must equal"):
        comm.ProcessGrid(2, 2)
    from grimoire.distributed import ColumnParallelLinear

    ColumnParallelLinear(4, 3)  # a world of one divides anything
    from grimoire.distributed import DistributedSampler

    with pytest.raises(ValueError, match="rank must be in"):
        DistributedSampler(10, num_replicas=2, rank=2)


def test_missing_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match="pip install 'ml-grimoire\\[distributed\\]'"):
        comm.mpi()


def test_distributed_sampler_shards_like_torch():
    import torch
    from grimoire.distributed import DistributedSampler
    from torch.utils.data import DistributedSampler as TorchSampler

    for n, drop_last in [(10, False), (11, False), (11, True)]:
        ours = [
            DistributedSampler(n, num_replicas=3, rank=r, shuffle=False, drop_last=drop_last)
            for r in range(3)
        ]
        theirs = [
            TorchSampler(range(n), num_replicas=3, rank=r, shuffle=False, drop_last=drop_last)
            for r in range(3)
        ]
        for a, b in zip(ours, theirs, strict=True):
            assert list(a) == list(b) and len(a) == len(b)
    s = DistributedSampler(10, num_replicas=2, rank=0, seed=3)
    first = list(s)
    s.set_epoch(1)
    assert sorted(first + list(DistributedSampler(10, num_replicas=2, rank=1, seed=3))) == list(range(10))
    assert list(s) != first  # reshuffled per epoch
    del torch


def test_grimoire_run_launches_ranks(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text(
        # one write per rank (print's arguments are separate writes, which the launcher may
        # interleave with the other rank's when the output is unbuffered)
        "import sys\nfrom grimoire import distributed as d\n"
        "sys.stdout.write(f'rank {d.rank()} of {d.world_size()}\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "grimoire", "run", "-n", "2", str(script)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(re.findall(r"rank (\d) of (\d)", done.stdout)) == [("0", "2"), ("1", "2")], done.stdout


def test_train_fit_takes_a_wrapped_model_unchanged():
    from grimoire import nn, optim, train
    from grimoire.distributed import DistributedDataParallel

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, S.D_IN)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    plain, wrapped = S.mlp(), DistributedDataParallel(S.mlp())  # a world of one rank
    runs = []
    for model in (plain, wrapped):
        h = train.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.AdamW(model.parameters(), lr=1e-2),
            X,
            y,
            epochs=3,
            batch_size=16,
            verbose=False,
        )
        runs.append(h)
    for key, want in plain.state_dict().items():
        np.testing.assert_array_equal(wrapped.module.state_dict()[key], want)
