"""grimoire.bench: the separate-process harness (pairing, medians, order, threads, JSON) and the CLI."""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from grimoire import bench

TESTS = Path(__file__).parent


@pytest.fixture
def contenders_on_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))


def test_comparison_is_median_of_paired_ratios_not_ratio_of_medians():
    c = bench.Comparison(reference="a", samples={"a": [1.0, 2.0, 4.0], "b": [4.0, 2.0, 6.0]})
    assert c.seconds == {"a": 2.0, "b": 4.0}
    assert c.ratio["a"] == 1.0
    assert c.ratio["b"] == pytest.approx(1.5)  # ratios 4, 1, 1.5; the ratio of medians would be 2
    assert c.ratio["b"] != pytest.approx(c.seconds["b"] / c.seconds["a"])


def test_processes_alternate_and_ratios_pair_rounds(tmp_path, contenders_on_path):
    log = tmp_path / "order.log"
    log.write_text("")
    ref, peer = [0.05, 0.1, 0.2], [0.2, 0.1, 0.3]  # paired ratios 4, 1, 1.5 -> median 1.5
    c = bench.compare_in_processes(
        {"ours": ("bench_contenders", "sleeper", {"name": "ours", "log": str(log), "seconds": ref}),
         "peer": ("bench_contenders", "sleeper", {"name": "peer", "log": str(log), "seconds": peer})},
        repeats=3, threads=1, warmup=0, min_time=0.0)
    assert log.read_text().split() == ["ours", "peer"] * 3
    assert c.reference == "ours"
    for name, want in (("ours", ref), ("peer", peer)):
        assert len(c.samples[name]) == 3
        for got, w in zip(c.samples[name], want, strict=True):
            assert got >= w  # a sleep never returns early (load may make it late: no upper bound)
    assert c.extra["peer"] == {"round": 2, "omp": "1"}  # threads pinned in the worker's environment
    paired = statistics.median(p / o for p, o in zip(c.samples["peer"], c.samples["ours"], strict=True))
    assert c.ratio["peer"] == pytest.approx(paired)


def test_cpu_clock_leaves_out_time_spent_off_the_cpu(monkeypatch):
    import time

    def nap():
        time.sleep(0.05)

    monkeypatch.delenv("GRIMOIRE_BENCH_CLOCK", raising=False)
    assert bench.time_calls(nap, 2) >= 0.05  # wall time counts the sleep
    monkeypatch.setenv("GRIMOIRE_BENCH_CLOCK", "cpu")
    assert bench.time_calls(nap, 2) < 0.025  # process CPU time does not


def test_failing_contender_names_itself(contenders_on_path):
    with pytest.raises(RuntimeError, match="(?s)'broken'.*cannot be built"):
        bench.compare_in_processes({"broken": ("bench_contenders", "failing", {})}, repeats=1, threads=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="repeats"):
        bench.compare_in_processes({"a": ("m", "f", {})}, repeats=0)
    with pytest.raises(ValueError, match="reference"):
        bench.compare_in_processes({"a": ("m", "f", {})}, reference="b")
    with pytest.raises(ValueError, match="empty"):
        bench.compare_in_processes({})


def test_write_json_is_atomic_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "t.json"
    path.write_text("old")
    bench.write_json(str(path), {"x": [1, 2.5]})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}
    with pytest.raises(TypeError):
        bench.write_json(str(path), {"x": object()})
    assert json.loads(path.read_text()) == {"x": [1, 2.5]}  # the failed write left the old file whole
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grimoire.cli", "bench", *args], capture_output=True,
                          text=True, timeout=600, check=True)


def test_cli_lists_families():
    out = _cli().stdout
    for family in ("gemm", "conv", "attention", "norm", "optim", "quant", "ml", "train", "linalg"):
        assert family in out


def test_cli_runs_a_family_quickly_and_writes_json(tmp_path):
    path = tmp_path / "linalg.json"
    out = _cli("linalg", "--skip-distances", "--eig-n", "24", "--repeats", "1", "--json", str(path)).stdout
    assert "svd 24x24" in out and "eigh 24x24" in out
    report = json.loads(path.read_text())
    assert report["family"] == "linalg"
    assert report["machine"]["cpu"] == bench.cpu_model()
    rows = [r for t in report["tables"] for r in t["rows"]]
    assert {r["problem"] for r in rows} == {"svd 24x24 f64", "eigh 24x24 f64"}
    for r in rows:
        assert r["isa"] in ("scalar", "avx2", "avx512") and r["cpu"] == bench.cpu_model()
        assert r["peer ms"] > 0 and r["grimoire ms"] > 0 and r["ratio"] > 0


@pytest.mark.parametrize("family", ["conv", "pool", "quant"])
def test_gpu_bench_families_exist_and_say_in_one_line_why_they_cannot_run(family, capsys):
    """`grimoire bench gpu <family>` for the conv, pool and quant families: listed, a module with
    run(args), and, where no GPU (or CuPy / PyTorch CUDA) is present, one line saying why."""
    import importlib

    from grimoire.bench import gpu

    assert family in gpu.gpu_families()
    module = importlib.import_module(f"grimoire.bench.gpu_{family}")
    assert callable(module.run) and "torch" in module.__doc__
    reason = gpu.unavailable()
    if reason is None:
        pytest.skip("this machine can run the GPU benchmarks")
    gpu.main([family])
    out = capsys.readouterr().out
    assert out == f"grimoire bench gpu: skipped ({reason})\n"
