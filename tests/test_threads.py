"""Threads by the ecosystem's rules: OMP_NUM_THREADS and threadpoolctl govern grimoire's kernels
unless GRIMOIRE_NUM_THREADS (or set_num_threads) pins the count.

Each case runs in a fresh interpreter: the count of a process's threads is only meaningful before
any OpenMP team exists, and OpenMP reads OMP_NUM_THREADS once, at load. The threads a kernel
starts are counted from /proc/self/task before and after it (libgomp keeps its team alive)."""

import json
import os
import subprocess
import sys

import joblib
import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")

# A grimoire kernel big enough to open a parallel region with every thread it is given.
_PROBE = """
import json, os, sys
import numpy as np
a = np.ones((384, 384), np.float32)
import grimoire
def tasks():
    return len(os.listdir("/proc/self/task"))
def probe():
    before = tasks()
    grimoire.matmul(a, a)
    return {"threads": grimoire.get_num_threads(), "started": tasks() - before}
"""


def _run(body: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_NUM_THREADS", "GRIMOIRE_NUM_THREADS", "OMP_THREAD_LIMIT")}
    out = subprocess.run([sys.executable, "-c", _PROBE + body], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_counting_sees_the_threads_a_kernel_starts():
    # The oracle for the cases below: pinned to 2, the kernel starts one thread beside the caller.
    r = _run("print(json.dumps(probe()))", GRIMOIRE_NUM_THREADS="2")
    assert r == {"threads": 2, "started": 1}


def test_omp_num_threads_sets_the_default():
    assert _run("print(json.dumps(probe()))", OMP_NUM_THREADS="1") == {"threads": 1, "started": 0}
    assert _run("print(json.dumps(probe()))", OMP_NUM_THREADS="2")["threads"] == 2


def test_grimoire_num_threads_wins_over_omp_num_threads():
    r = _run("print(json.dumps(probe()))", OMP_NUM_THREADS="1", GRIMOIRE_NUM_THREADS="2")
    assert r == {"threads": 2, "started": 1}


def test_threadpool_limits_brings_grimoire_to_one_thread():
    body = """
from threadpoolctl import threadpool_info, threadpool_limits
gomp = [i for i in threadpool_info() if i["internal_api"] == "openmp"]
with threadpool_limits(1):
    limited = probe()
print(json.dumps({"limited": limited, "after": grimoire.get_num_threads(),
                  "openmp": [i["filepath"] for i in gomp]}))
"""
    r = _run(body, OMP_NUM_THREADS="2")
    # threadpoolctl finds grimoire's OpenMP runtime (the libgomp _core links; the wheel vendors a
    # renamed copy, libgomp-<hash>.so, which threadpoolctl matches by its prefix).
    assert any("libgomp" in os.path.basename(p) for p in r["openmp"]), r["openmp"]
    assert r["limited"] == {"threads": 1, "started": 0}
    assert r["after"] == 2  # the limit is lifted on leaving the block


def test_threadpool_limits_do_not_override_a_pinned_count():
    body = """
from threadpoolctl import threadpool_limits
with threadpool_limits(1):
    print(json.dumps(probe()))
"""
    assert _run(body, GRIMOIRE_NUM_THREADS="2")["threads"] == 2


def _fit_in_worker(seed: int) -> dict:
    import grimoire
    import numpy as np
    from grimoire.ml import KMeans

    x = np.random.default_rng(seed).normal(size=(2000, 16)).astype(np.float32)
    before = len(os.listdir("/proc/self/task"))
    KMeans(n_clusters=4, n_init=1, random_state=seed).fit(x)
    grimoire.matmul(x.T, x)
    return {"threads": grimoire.get_num_threads(), "started": len(os.listdir("/proc/self/task")) - before}


def test_joblib_workers_do_not_oversubscribe():
    # joblib's loky backend gives each of n_jobs workers cores // n_jobs OpenMP threads (through
    # OMP_NUM_THREADS); grimoire must keep to it, as scikit-learn's own estimators do.
    n_jobs = 2
    env = {k: os.environ.pop(k) for k in ("OMP_NUM_THREADS", "GRIMOIRE_NUM_THREADS") if k in os.environ}
    try:
        results = joblib.Parallel(n_jobs=n_jobs, backend="loky")(
            joblib.delayed(_fit_in_worker)(seed) for seed in range(n_jobs))
    finally:
        os.environ.update(env)
    per_worker = max(1, joblib.cpu_count() // n_jobs)
    for r in results:
        assert r["threads"] <= per_worker, results
        assert r["started"] <= per_worker - 1, results
