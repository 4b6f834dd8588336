"""The documentation site's generator (docs/gen_pages.py, docs/griffe_rst.py; the strict build
itself is .ci/docs.sh): every public module has an API page, and the docstrings' reStructuredText
becomes Markdown."""

import importlib.util
import pkgutil
from pathlib import Path

import grimoire
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", DOCS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_public_module_has_an_api_page():
    gen = _load("gen_pages")
    public = {m.name for m in pkgutil.iter_modules(grimoire.__path__) if not m.name.startswith("_")}
    missing = public - set(gen.API_MODULES) - set(gen.NOT_API)
    assert not missing, f"add these modules to API_MODULES (or NOT_API) in docs/gen_pages.py: {missing}"
    for mod in gen.API_MODULES:
        assert importlib.util.find_spec(gen._full(mod)) is not None, mod


def test_module_names_link_to_the_page_that_documents_them():
    gen = _load("gen_pages")
    assert gen._api_page("grimoire.nn.functional.relu") == "api/nn.functional.md"
    assert gen._api_page("grimoire.nn.Linear") == "api/nn.md"
    assert gen._api_page("grimoire.matmul") == "api/grimoire.md"
    assert gen._link_modules("see `grimoire.linalg` and `numpy.linalg`", "") == \
        "see [`grimoire.linalg`](api/linalg.md) and `numpy.linalg`"


def test_the_map_page_is_the_readme_table_and_home_keeps_the_rest():
    gen = _load("gen_pages")
    home, table = gen._readme_pages()
    assert gen._MAP_HEADING not in home and "| primer | grimoire |" not in home
    assert "pip install" in home and "## A taste" in home
    assert "| primer | grimoire |" in table and "[`grimoire.stats`](api/stats.md)" in table


def test_shadowed_functions_are_rendered_explicitly():
    gen = _load("gen_pages")
    assert "grimoire.kernels.gemm.gemm" in gen._shadowed("kernels")
    assert "::: grimoire.kernels.attention.attention" in gen._api_markdown("kernels")


def test_rst_roles_and_math_become_markdown():
    pytest.importorskip("griffe")
    rst = _load("griffe_rst").rst_to_markdown
    assert rst("as :func:`attention`, :class:`~grimoire.nn.Linear` and :meth:`.Tensor.sum`") == \
        "as `attention`, `Linear` and `Tensor.sum`"
    text = "Intro.\n\n    .. math:: a = b,\\quad\n              c = d\n\n    After."
    assert rst(text) == "Intro.\n\n    ```text\n    a = b,\\quad\n    c = d\n    ```\n\n    After."
