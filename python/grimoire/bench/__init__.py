"""``grimoire bench``: grimoire beside its peers.

Each family's module here has ``main(argv)``; ``grimoire bench <family>`` runs it and
``grimoire bench`` lists them. One timing loop for every comparison:

* :func:`compare_in_processes` where grimoire meets a peer (NumPy, PyTorch, scikit-learn,
  LightGBM): each contender runs in a fresh process of its own, the processes alternate
  (a, b, a, b, ...), and the figure is the median of the paired ratios (peer time / grimoire
  time of the same round). A peer's idle worker threads keep spinning on the cores after each
  call; in one process they slow whoever runs next, in separate processes they are gone.

Every table goes through :func:`emit`, which adds the ISA path to each row and names the CPU;
``grimoire bench FAMILY --json PATH`` writes the tables (and the machine) to PATH atomically,
for comparison across machines.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_WORKER = "grimoire.bench._worker"
_RESULT_MARK = "GRIMOIRE-BENCH-RESULT "
_THREAD_ENV = ("GRIMOIRE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_tables: list[dict] = []  # what emit() printed since run() started, for --json


def families() -> list[str]:
    # gpu_<family> modules are run together by `grimoire bench gpu` (gpu.py), not one by one.
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if not m.name.startswith("_") and not m.name.startswith("gpu_"))


def run(family: str, argv: list[str]) -> None:
    """Runs a family's ``main``; ``--json PATH`` anywhere in argv writes its tables to PATH."""
    if family not in families():
        raise SystemExit(f"grimoire bench: no benchmark '{family}' (have: {', '.join(families())})")
    argv = list(argv)
    json_path = None
    if "--json" in argv:
        i = argv.index("--json")
        if i + 1 >= len(argv):
            raise SystemExit("grimoire bench: --json needs a PATH")
        json_path = argv[i + 1]
        del argv[i:i + 2]
    _tables.clear()
    try:
        importlib.import_module(f"{__name__}.{family}").main(argv)
    except ModuleNotFoundError as e:
        # A peer (torch, threadpoolctl, scikit-learn, ...) is missing: say which and how to get
        # it instead of a traceback. grimoire's own modules missing is a bug and propagates.
        peer = (e.name or "").split(".")[0]
        if not peer or peer == "grimoire":
            raise
        raise SystemExit(f"grimoire bench {family}: needs '{peer}', which is not installed; "
                         f"the benchmarks' peers come with: pip install 'ml-grimoire[bench]'") from None
    if json_path is not None:
        write_json(json_path, {"family": family, "argv": argv, "machine": machine(), "tables": list(_tables)})


def cpu_model() -> str:
    """The CPU's marketing name ("model name" in /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> dict:
    """CPU model, the ISA grimoire detected and the one its kernels use, CPU features, cores."""
    from grimoire import _core

    return {"cpu": cpu_model(), "isa": _core.active_isa(), "detected_isa": _core.detected_isa(),
            "cpu_features": dict(_core.cpu_features()), "cores": _core.available_cores(),
            "threads": _core.get_num_threads()}


def isa_of(family: str | None = None) -> str:
    """The path a kernel family runs on (``_core.kernel_families``), else the active ISA."""
    from grimoire import _core

    if family is not None:
        paths = _core.kernel_families()
        if family in paths:
            return paths[family][1]
    return _core.active_isa()


def emit(title: str, header: list[str], rows: list[list[object]], isa: str | None = None) -> None:
    """Prints a table (an "isa" column added to each row, the CPU model in the title) and keeps it
    for ``--json``."""
    isa = isa or isa_of()
    cpu = cpu_model()
    print(f"{title} [{cpu}]")
    print(table(header + ["isa"], [list(r) + [isa] for r in rows]))
    _tables.append({"title": title, "cpu": cpu, "isa": isa, "header": header,
                    "rows": [dict(zip(header, map(_plain, r), strict=True)) | {"cpu": cpu, "isa": isa}
                             for r in rows]})


def _plain(value: object) -> object:
    """A JSON value for a table cell (NumPy scalars become Python numbers)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return value.item()  # type: ignore[attr-defined]
    except AttributeError:
        return str(value)


def write_json(path: str, obj: object) -> None:
    """Writes obj as JSON to path atomically: a temporary file beside it, then ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bench-", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass
class Comparison:
    """What :func:`compare_in_processes` measured.

    ``samples[name][r]`` is seconds per call in round r; ``seconds`` their medians;
    ``ratio[name]`` the median over rounds of samples[name][r] / samples[reference][r]
    (for a peer, > 1 means grimoire, the reference, is faster); ``extra[name]`` what the
    contender's report callable returned in its last round (a score, an error)."""

    reference: str
    samples: dict[str, list[float]]
    seconds: dict[str, float] = field(default_factory=dict)
    ratio: dict[str, float] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, s in self.samples.items():
            self.seconds[name] = statistics.median(s)
            self.ratio[name] = self.paired(name, self.reference)

    def paired(self, numerator: str, denominator: str) -> float:
        """Median over rounds of samples[numerator][r] / samples[denominator][r]."""
        pairs = zip(self.samples[numerator], self.samples[denominator], strict=True)
        return statistics.median(x / r for x, r in pairs)


def compare_in_processes(contenders: dict[str, tuple[str, str, dict]], repeats: int = 3, *,
                         threads: int | None = None, warmup: int = 1, min_time: float = 0.05,
                         reference: str | None = None, timeout: float = 1800.0) -> Comparison:
    """Times each contender in a fresh process of its own, alternating, ``repeats`` rounds.

    A contender is ``(module, function, kwargs)``: in its process, ``module.function(**kwargs)``
    builds the work (data, model) and returns a zero-argument callable, or a pair (callable,
    report) where ``report()`` gives a JSON value after timing. The callable runs ``warmup``
    times, then often enough to last ``min_time`` (at least once), and the process prints seconds
    per call. Round r runs every contender once, in order (a, b, a, b, ...). Threads: ``threads``
    (default: grimoire's count) for grimoire, OpenMP, OpenBLAS, MKL and torch in every process.
    ``reference`` (default: the first contender) is the denominator of the ratios.
    """
    if not contenders:
        raise ValueError("compare_in_processes: contenders is empty")
    if repeats < 1:
        raise ValueError(f"compare_in_processes: repeats must be >= 1, got {repeats}")
    reference = reference or next(iter(contenders))
    if reference not in contenders:
        raise ValueError(f"compare_in_processes: reference {reference!r} is not a contender")
    if threads is None:
        from grimoire import get_num_threads

        threads = get_num_threads()
    env = dict(os.environ, **{v: str(threads) for v in _THREAD_ENV})
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    extra: dict[str, object] = {}
    for _ in range(repeats):
        for name, (module, function, kwargs) in contenders.items():
            spec = {"module": module, "function": function, "kwargs": kwargs, "threads": threads,
                    "warmup": warmup, "min_time": min_time}
            result = _run_worker(name, spec, env, timeout)
            samples[name].append(result["seconds"])
            extra[name] = result.get("extra")
    return Comparison(reference=reference, samples=samples, extra=extra)


def _run_worker(name: str, spec: dict, env: dict, timeout: float) -> dict:
    proc = subprocess.run([sys.executable, "-m", _WORKER, json.dumps(spec)], env=env, capture_output=True,
                          text=True, timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_RESULT_MARK) and proc.returncode == 0:
            return json.loads(line[len(_RESULT_MARK):])
    tail = (proc.stderr or proc.stdout)[-2000:]
    raise RuntimeError(f"bench contender {name!r} ({spec['module']}.{spec['function']}) failed "
                       f"(exit {proc.returncode}):\n{tail}")


def calibrate(fn: Callable[[], object], warmup: int, min_time: float) -> int:
    """Runs fn ``warmup`` times, then counts the calls that last ``min_time`` (1..1000)."""
    for _ in range(warmup):
        fn()
    if min_time <= 0:
        return 1
    start, n = time.perf_counter(), 0
    while True:
        fn()
        n += 1
        if time.perf_counter() - start >= min_time or n >= 1000:
            return n


def time_calls(fn: Callable[[], object], n: int) -> float:
    """Seconds per call over n back-to-back calls.

    Wall time, or with ``GRIMOIRE_BENCH_CLOCK=cpu`` the process's CPU time (all its threads): on a
    loaded machine a single-threaded contender's CPU time leaves out the time it waited for a
    core, which wall time charges to whoever was unlucky.
    """
    clock = time.process_time if os.environ.get("GRIMOIRE_BENCH_CLOCK") == "cpu" else time.perf_counter
    start = clock()
    for _ in range(n):
        fn()
    return (clock() - start) / n


class gc_paused:
    """The garbage collector off inside the block (as it was after)."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


def table(header: list[str], rows: list[list[object]]) -> str:
    """A plain aligned text table."""
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
