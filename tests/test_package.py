"""The package's face: info, threads, the CLI and the tour registry."""

import os
import subprocess
import sys

import grimoire
import pytest
from grimoire import _core


def test_info_reports_every_family_and_cuda():
    d = grimoire.info(as_dict=True)
    assert d["version"] == grimoire.__version__
    assert "gemm" in d["kernels"]
    assert d["kernels"]["gemm"]["in_use"] in d["kernels"]["gemm"]["paths"]
    assert isinstance(d["cuda"]["built"], bool)
    assert "kernel families" in grimoire.info()


def test_set_num_threads_round_trips_and_rejects_bad_values():
    before = grimoire.get_num_threads() if _core.num_threads_pinned() else None
    try:
        grimoire.set_num_threads(1)
        assert grimoire.get_num_threads() == 1
        with pytest.raises(ValueError, match=r"n \(the number of threads\) must be >= 1"):
            grimoire.set_num_threads(0)
        with pytest.raises(TypeError, match="n must be an int or None"):
            grimoire.set_num_threads(2.0)
    finally:
        grimoire.set_num_threads(before)


def test_set_isa_refuses_what_the_cpu_lacks_and_unknown_names():
    with pytest.raises(ValueError, match="isa must be one of"):
        _core.set_isa("sse9")
    if _core.detected_isa() != "avx512":
        with pytest.raises(ValueError, match="not supported by this CPU"):
            _core.set_isa("avx512")


def test_environment_limits_isa_and_threads():
    code = "from grimoire import _core; print(_core.active_isa(), _core.get_num_threads())"
    env = {"GRIMOIRE_ISA": "scalar", "GRIMOIRE_NUM_THREADS": "3", "PATH": "", **_pythonpath()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["scalar", "3"]


def test_cli_tour_list_and_one_section():
    out = _cli("tour", "--list")
    assert "2.2.1" in out and "grimoire.matmul" in out
    out = _cli("tour", "2.2.1")
    assert "[[ 3. 13. 10.]" in out and "[ 9. 28. 25.]" in out


def test_cli_tour_unknown_section_fails_clearly():
    proc = subprocess.run([sys.executable, "-m", "grimoire", "tour", "99.9"],
                          capture_output=True, text=True, env=_pythonpath())
    assert proc.returncode != 0 and "no section matches 99.9" in proc.stderr


def _pythonpath() -> dict:
    import os
    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "PATH")}


def _cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "grimoire", *args], capture_output=True,
                          text=True, check=True, env=_pythonpath()).stdout


def test_cli_version_names_the_distribution():
    out = _cli("--version")
    assert out.strip() == f"ml-grimoire {grimoire.__version__} (import name: grimoire)"


def test_bench_without_a_peer_says_what_is_missing(tmp_path):
    # A stand-in threadpoolctl that cannot be imported, placed ahead of the real one on sys.path.
    (tmp_path / "threadpoolctl.py").write_text("raise ModuleNotFoundError(name='threadpoolctl')\n")
    env = _pythonpath()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path), env.get("PYTHONPATH")) if p)
    args = ["bench", "gemm", "--sizes", "64", "--no-skinny", "--repeats", "1"]
    proc = subprocess.run([sys.executable, "-m", "grimoire", *args], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "needs 'threadpoolctl', which is not installed" in proc.stderr
    assert "Traceback" not in proc.stderr
