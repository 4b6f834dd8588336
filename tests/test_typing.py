"""grimoire is typed: py.typed ships, the compiled extensions' stubs are current, and mypy sees
grimoire's types (a typed program passes, a deliberately wrong one is reported line by line)."""

import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import grimoire
import pytest

HERE = Path(__file__).resolve().parent
PACKAGE = Path(grimoire.__file__).resolve().parent


def test_package_is_marked_typed_and_ships_core_stubs():
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_core.pyi").exists()
    assert (PACKAGE / "_cuda.pyi").exists()  # shipped beside _core even where _cuda is not built


@pytest.mark.parametrize("module", ["_core", "_cuda"])
def test_compiled_stubs_are_current(module):
    # The stub of the built extension regenerated now must equal the checked-in one. When this
    # fails after a binding changed: `python .ci/stubs.py` (see CONTRIBUTING.md) and commit.
    # _cuda exists only where nvcc was found at build time; its stub is checked where it is built.
    try:
        mod = importlib.import_module(f"grimoire.{module}")
    except ImportError:
        pytest.skip(f"grimoire.{module} is not built here (no nvcc at build time)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", f"grimoire.{module}", "-o", tmp,
                        "--numpy-array-use-type-var"], check=True, capture_output=True, env=_env())
        fresh = (Path(tmp) / "grimoire" / f"{module}.pyi").read_text()
    assert fresh == (PACKAGE / f"{module}.pyi").read_text(), (
        f"{PACKAGE / (module + '.pyi')} is stale for {mod.__file__}: run `python .ci/stubs.py`")


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "PATH")}


def _mypy(path: Path, cache: Path) -> subprocess.CompletedProcess:
    # MYPYPATH points at the package when it runs from a checkout (PYTHONPATH=python); installed,
    # mypy finds it in site-packages through py.typed. --follow-imports=silent: the usage file is
    # checked, grimoire's own modules are read for their types only.
    env = {**_env(), "MYPYPATH": os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
                           "--cache-dir", str(cache), "--python-executable", sys.executable, str(path)],
                          capture_output=True, text=True, env=env)


def test_mypy_accepts_a_typed_program(tmp_path):
    proc = _mypy(HERE / "typing" / "usage_ok.py", tmp_path / "cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_reports_each_wrong_line(tmp_path):
    path = HERE / "typing" / "usage_wrong.py"
    wrong = {i for i, line in enumerate(path.read_text().splitlines(), 1) if "# WRONG" in line}
    proc = _mypy(path, tmp_path / "cache")
    reported = {int(line.split(":")[1]) for line in proc.stdout.splitlines() if ": error:" in line}
    assert proc.returncode == 1 and reported == wrong, proc.stdout + proc.stderr


def _unannotated_script():
    path = HERE.parent / ".ci" / "unannotated.py"
    if not path.exists():  # the installed-wheel run has tests/ without .ci/
        pytest.skip(f"{path} is not here")
    spec = importlib.util.spec_from_file_location("unannotated", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Modules whose every public function and method (inherited ones from grimoire bases included) is
# fully annotated; add a module here once `python .ci/unannotated.py grimoire.x` prints nothing.
ANNOTATED = [
    "grimoire", "grimoire.agents", "grimoire.autograd", "grimoire.bench", "grimoire.bench.arima",
    "grimoire.bench.attention", "grimoire.bench.conv", "grimoire.bench.distributed",
    "grimoire.bench.gemm", "grimoire.bench.gpu", "grimoire.bench.gpu_attention",
    "grimoire.bench.gpu_conv", "grimoire.bench.gpu_gemm", "grimoire.bench.gpu_gpt",
    "grimoire.bench.gpu_norm", "grimoire.bench.gpu_optim", "grimoire.bench.gpu_pool",
    "grimoire.bench.gpu_quant", "grimoire.bench.gpu_softmax", "grimoire.bench.linalg",
    "grimoire.bench.linear_attention", "grimoire.bench.ml", "grimoire.bench.ml_svm_tsne",
    "grimoire.bench.norm", "grimoire.bench.optim", "grimoire.bench.quant", "grimoire.bench.rl",
    "grimoire.bench.train", "grimoire.calculus", "grimoire.cli", "grimoire.compress",
    "grimoire.datasets", "grimoire.diffusion", "grimoire.distributed", "grimoire.distributed.comm",
    "grimoire.distributed.ddp", "grimoire.distributed.fsdp", "grimoire.distributed.launch",
    "grimoire.distributed.tensor_parallel", "grimoire.distributed.zero", "grimoire.graph",
    "grimoire.graph.gnn", "grimoire.graph.graph", "grimoire.kernels", "grimoire.kernels.attention",
    "grimoire.kernels.conv", "grimoire.kernels.distance", "grimoire.kernels.gemm",
    "grimoire.kernels.linalg", "grimoire.kernels.linear_attention", "grimoire.kernels.norm",
    "grimoire.kernels.optim", "grimoire.kernels.pool", "grimoire.kernels.quant",
    "grimoire.kernels.softmax", "grimoire.kernels.word2vec", "grimoire.linalg", "grimoire.metrics",
    "grimoire.ml", "grimoire.ml.base", "grimoire.ml.cluster", "grimoire.ml.decomposition",
    "grimoire.ml.ensemble", "grimoire.ml.hierarchy", "grimoire.ml.linear_model", "grimoire.ml.manifold",
    "grimoire.ml.svm", "grimoire.ml.tree", "grimoire.ml.umap", "grimoire.model_selection", "grimoire.nn",
    "grimoire.nn.activation", "grimoire.nn.attention", "grimoire.nn.blocks", "grimoire.nn.containers",
    "grimoire.nn.conv", "grimoire.nn.functional", "grimoire.nn.layers_ext", "grimoire.nn.linear",
    "grimoire.nn.linear_attention", "grimoire.nn.loss", "grimoire.nn.module", "grimoire.nn.moe",
    "grimoire.nn.norm", "grimoire.nn.perceptron", "grimoire.nn.recurrent", "grimoire.nn.transformer",
    "grimoire.nn.vit", "grimoire.nn.zoo", "grimoire.optim", "grimoire.optim.descent",
    "grimoire.optim.lr_scheduler", "grimoire.optim.optimizers", "grimoire.preprocessing", "grimoire.rl",
    "grimoire.rl.actor_critic", "grimoire.rl.base", "grimoire.rl.dqn", "grimoire.rl.envs",
    "grimoire.rl.losses", "grimoire.rl.on_policy", "grimoire.rl.policies", "grimoire.rl.q_learning",
    "grimoire.rl.rlhf", "grimoire.stats", "grimoire.text", "grimoire.timeseries", "grimoire.tour",
    "grimoire.tour.ch2_foundations", "grimoire.tour.ch2_linear_algebra", "grimoire.tour.ch3_foundations",
    "grimoire.tour.ch4_classical", "grimoire.tour.ch4_reinforcement_learning",
    "grimoire.tour.ch4_svm_manifold", "grimoire.tour.ch5_cnn_kernels",
    "grimoire.tour.ch5_linear_attention", "grimoire.tour.ch5_neural_networks",
    "grimoire.tour.ch5_norm_softmax", "grimoire.tour.ch6_compression", "grimoire.tour.ch6_distributed",
    "grimoire.tour.ch7_agents", "grimoire.tour.ch7_diffusion", "grimoire.tour.ch7_graphs",
    "grimoire.tour.ch7_time_series", "grimoire.tour.figures_ch2", "grimoire.tour.figures_ch3_4",
    "grimoire.tour.figures_ch5_7", "grimoire.train",
]
# What is left in the other public modules (`python .ci/unannotated.py`): it may only go down.
REMAINING_AT_MOST = 0


def test_public_functions_of_annotated_modules_are_annotated():
    lines = _unannotated_script().unannotated(ANNOTATED)
    assert not lines, "public functions without annotations:\n" + "\n".join(lines)


def test_unannotated_public_functions_do_not_grow():
    script = _unannotated_script()
    lines = script.unannotated(script.public_modules())
    assert len(lines) <= REMAINING_AT_MOST, (
        f"{len(lines)} unannotated public functions, more than {REMAINING_AT_MOST}: annotate the new "
        "ones (`PYTHONPATH=python python .ci/unannotated.py`)")


def test_the_checker_sees_a_missing_annotation():
    script = _unannotated_script()

    def f(x, y: int = 0):
        return x

    assert script.missing(f) == (["x"], True)
    assert script.missing(_env) == ([], False)
