"""MkDocs hook: every page of the site, generated at build time from the sources of truth.

- ``index.md``: README.md without its module table; ``map.md``: the table (the primer-to-module
  map), each module name linked to its API page.
- ``api/<module>.md``: one page per public module (:data:`API_MODULES`), rendered by mkdocstrings
  from the docstrings (read statically from python/, nothing is imported).
- ``tour/<section>.md``: one page per section of ``grimoire tour``, from the tour's registry
  (``grimoire.tour.sections()``, the list ``grimoire tour --list`` prints): the primer's formula,
  the module to open and the code that runs, with the figures it draws.

Nothing is checked in but this script: a module, section or README change shows up on the next
build, and ``mkdocs build --strict`` fails on a broken link or docstring.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The public modules, in the primer's order (grimoire first): one API page each.
API_MODULES = [
    "grimoire", "autograd", "kernels", "linalg", "calculus", "stats", "model_selection", "preprocessing",
    "text", "datasets", "ml", "rl", "rl.rlhf", "nn", "nn.functional", "optim", "optim.descent",
    "optim.lr_scheduler", "train", "metrics", "compress", "distributed", "timeseries", "diffusion", "graph",
    "agents",
]
# Public modules that are tools, not API: the command line, the tour and the benchmarks.
NOT_API = ["cli", "tour", "bench"]
_MAP_HEADING = "## Where each chapter lives"


def _full(mod: str) -> str:
    return "grimoire" if mod == "grimoire" else f"grimoire.{mod}"


def _api_page(name: str) -> str | None:
    """The API page that documents ``name`` (a module or an object in one): the longest
    documented module that is a prefix of it."""
    best = None
    for mod in API_MODULES:
        full = _full(mod)
        if (name == full or name.startswith(full + ".")) and (best is None or len(full) > len(_full(best))):
            best = mod
    return None if best is None else f"api/{best}.md"


def _link_modules(text: str, prefix: str) -> str:
    """Link every `grimoire.x` code span in ``text`` to the API page documenting it."""

    def link(m: re.Match) -> str:
        page = _api_page(m.group(1))
        return f"[`{m.group(1)}`]({prefix}{page})" if page else m.group(0)

    return re.sub(r"`(grimoire(?:\.\w+)*)`", link, text)


def _readme_pages() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(_MAP_HEADING)
    end = readme.index("\n## ", start + len(_MAP_HEADING))
    table = readme[start:end].strip()
    home = readme[:start] + readme[end + 1 :]
    home += ("\n## This site\n\n[The primer-to-module map](map.md), the [API reference](api/grimoire.md) "
             "generated from the docstrings, and [the tour](tour/index.md) section by section.\n")
    body = table.replace(_MAP_HEADING, "# The primer, module by module", 1)
    intro = ("Each chapter of the primer has a home in grimoire; a module name links to its API page. "
             "[The tour](tour/index.md) runs each section's worked example (`grimoire tour 2.2.1`).\n\n")
    title_end = body.index("\n") + 1
    return home, body[:title_end] + "\n" + intro + _link_modules(body[title_end:], "")


def _shadowed(mod: str) -> list[str]:
    """Functions a package re-exports under the name of their own submodule
    (``from .gemm import gemm``): griffe keeps the submodule under that name, Python the
    function, so the page renders them explicitly."""
    init = ROOT / "python" / Path(*_full(mod).split(".")) / "__init__.py"
    if not init.exists():
        return []
    found = []
    for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found += [f"{_full(mod)}.{node.module}.{a.name}" for a in node.names
                      if a.name == node.module and a.asname is None]
    return found


def _api_markdown(mod: str) -> str:
    full = _full(mod)
    text = f"# {full}\n\n::: {full}\n    options:\n      show_root_heading: false\n"
    for path in _shadowed(mod):
        text += f"\n::: {path}\n"
    return text


def _tour_registry():
    """The tour's sections and figures, from the registry the ``grimoire tour`` command uses."""
    python = str(ROOT / "python")
    try:
        import grimoire.tour as tour
    except ImportError:  # not installed: the checkout's package (its extension must be built)
        sys.path.insert(0, python)
        import grimoire.tour as tour
    return tour


def _where_links(where: str) -> str:
    def link(m: re.Match) -> str:
        page = _api_page(m.group(0))
        return f"[`{m.group(0)}`](../{page})" if page else f"`{m.group(0)}`"

    return re.sub(r"grimoire(?:\.\w+)*", link, where)


def _tour_pages() -> tuple[dict[str, str], list]:
    tour = _tour_registry()
    from grimoire.tour._book import FORMULAS, formula_svg

    by_section: dict[str, list] = {}
    for f in tour.figures():
        by_section.setdefault(f.section, []).append(f)
    pages: dict[str, str] = {}
    chapters: dict[str, list] = {}
    index = ["# The tour", "",
             "`grimoire tour` walks the primer: each section computes the primer's worked example with "
             "grimoire and draws its figures (`grimoire tour --list`, `grimoire tour 2.2.1`, "
             "`grimoire tour --html` for an offline book). One page per section: the formula, the module "
             "to open and the code that runs.", "",
             "| section | title | where |", "|---|---|---|"]
    for s in tour.sections():
        uri = f"tour/{s.number}.md"
        chapters.setdefault(s.number.split(".")[0], []).append({f"{s.number} {s.title}": uri})
        index.append(f"| [{s.number}]({s.number}.md) | {s.title} | {_where_links(s.where)} |")
        lines = [f"# {s.number} {s.title}", "", f"Where: {_where_links(s.where)}", "",
                 f"Run it: `grimoire tour {s.number}`", ""]
        tex = FORMULAS.get(s.number) or FORMULAS.get(s.number.rsplit(".", 1)[0])
        if tex:
            lines += [f'<div class="formula" markdown="0">{formula_svg(tex)}</div>', ""]
        doc = inspect.getdoc(s.run)
        if doc:
            lines += [doc, ""]
        lines += ["```python", inspect.getsource(s.run).rstrip(), "```", ""]
        for f in by_section.get(s.number, []):
            lines += [f"## Figure {f.number}: {f.title}", "", "```python",
                      inspect.getsource(f.draw).rstrip(), "```", ""]
        pages[uri] = "\n".join(lines)
    pages["tour/index.md"] = "\n".join(index) + "\n"
    nav = ["tour/index.md"] + [{f"Chapter {c}": entries} for c, entries in chapters.items()]
    return pages, nav


_PAGES: dict[str, str] = {}


def on_config(config, **kwargs):
    home, table = _readme_pages()
    _PAGES.clear()
    _PAGES["index.md"] = home
    _PAGES["map.md"] = table
    for mod in API_MODULES:
        _PAGES[f"api/{mod}.md"] = _api_markdown(mod)
    tour_pages, tour_nav = _tour_pages()
    _PAGES.update(tour_pages)
    config["nav"] = [
        {"Home": "index.md"},
        {"Primer map": "map.md"},
        {"API reference": [{_full(m): f"api/{m}.md"} for m in API_MODULES]},
        {"Tour": tour_nav},
    ]
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    for uri, content in _PAGES.items():
        files.append(File.generated(config, uri, content=content))
    return files
