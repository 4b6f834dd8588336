#!/usr/bin/env bash
# The documentation site (issue 12, item 10): install the `docs` extra's requirements and build the
# site with warnings as errors (mkdocs.yml has `strict: true`) into a temporary folder, within a time
# budget (seconds, default 300). Usage: .ci/docs.sh [BUDGET] [SITE_DIR]  (SITE_DIR is kept if given).
# grimoire must be importable (installed, or its extension built in python/): the tour's pages come
# from the tour's registry. The API pages read the docstrings statically from python/.
set -euo pipefail
budget=${1:-300}
cd "$(dirname "$0")/.."
start=$SECONDS

# The extra's requirements only (pip install ".[docs]" would rebuild the C++ core).
python - <<'PY' > "${TMPDIR:-/tmp}/grimoire-docs-reqs.$$"
import sys
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["docs"]))
PY
python -m pip install -q -r "${TMPDIR:-/tmp}/grimoire-docs-reqs.$$"
rm -f "${TMPDIR:-/tmp}/grimoire-docs-reqs.$$"

if ! python -c "import grimoire._core" 2>/dev/null; then
  export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
  python -c "import grimoire._core" || { echo "docs.sh: grimoire is neither installed nor built in python/" >&2; exit 1; }
fi

if [[ $# -ge 2 ]]; then site=$2; else site=$(mktemp -d); trap 'rm -rf "$site"' EXIT; fi
left=$(( budget - (SECONDS - start) ))
(( left > 0 )) || { echo "docs.sh: the install used the whole budget of ${budget}s" >&2; exit 1; }
# Not --quiet: it drops warnings before strict mode counts them (the build would pass with them).
NO_MKDOCS_2_WARNING=1 timeout "$left" python -m mkdocs build --strict --site-dir "$site" 2>&1 | { grep -v '^INFO' || true; }
pages=$(find "$site" -name index.html | wc -l)
echo "docs.sh: $pages pages built with warnings as errors in $(( SECONDS - start ))s (budget ${budget}s)"
