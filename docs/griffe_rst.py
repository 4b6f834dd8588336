"""Griffe extension for the documentation site: the reStructuredText the docstrings use, as
Markdown. ``:func:`x``` (and the other Sphinx roles) becomes the code span ``x``; a ``.. math::``
block becomes a fenced block holding the formula. The docstrings stay what ``help()`` shows.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj|math|py:\w+):`(~?)\.?([^`]+)`")
_MATH = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")


def rst_to_markdown(text: str) -> str:
    """Sphinx roles to code spans and ``.. math::`` blocks to fenced blocks."""
    # ``~a.b.c`` shows ``c``, as Sphinx does.
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = _MATH.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("first").strip()] if m.group("first").strip() else []
        i += 1
        while i < len(lines) and (not lines[i].strip() and not body or lines[i].startswith(indent + " ")):
            if lines[i].strip():
                body.append(lines[i].strip())
            i += 1
        out += [f"{indent}```text", *(indent + b for b in body), f"{indent}```"]
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None and not obj.is_alias:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
