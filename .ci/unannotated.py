"""List the public functions and methods of grimoire that lack annotations (issue 12 item 3).

Usage: PYTHONPATH=python python .ci/unannotated.py [--gate] [grimoire.stats grimoire.linalg ...]

With no module named, every public module of grimoire is walked (a module is public when no part
of its dotted name starts with "_"). A function is public when it is reached through a public
name of a public module (``__all__`` where the module has one): a module-level function, or a
method (plain, classmethod, staticmethod, property getter; ``__init__`` and ``__call__`` count)
of a public class, including the methods it inherits from grimoire base classes, private ones
too. Each function is reported once, under the module that defines it, with its unannotated
parameters ("return" when the return type is missing; ``__init__`` needs none). Only ``self``
and ``cls`` are exempt; ``*args`` and ``**kwargs`` are annotated like any other parameter.

Prints one line per function and the count on stderr. Exits 0 (a report), or 1 with --gate when
any function lacks annotations (tests/test_typing.py gates the modules listed there).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import grimoire


def public_modules() -> list[str]:
    """Every importable public module of grimoire, sorted."""
    names = ["grimoire"]
    for info in pkgutil.walk_packages(grimoire.__path__, "grimoire."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _public_names(m: ModuleType) -> list[str]:
    return list(getattr(m, "__all__", [n for n in vars(m) if not n.startswith("_")]))


def _methods(cls: type) -> Iterator[tuple[str, Callable]]:
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("grimoire"):
            continue
        for mn, mv in vars(klass).items():
            if mn in seen or (mn.startswith("_") and mn not in ("__init__", "__call__")):
                continue
            seen.add(mn)
            if isinstance(mv, (classmethod, staticmethod)):
                mv = mv.__func__
            elif isinstance(mv, property):
                mv = mv.fget
            # a Protocol's __init__ is typing's own function, not grimoire's
            if inspect.isfunction(mv) and mv.__module__.startswith("grimoire"):
                yield f"{klass.__qualname__}.{mn}", mv


def missing(fn: Callable) -> tuple[list[str], bool]:
    """The parameters of fn without an annotation, and whether its return annotation is missing."""
    sig = inspect.signature(fn)
    params = [p for p, prm in sig.parameters.items()
              if p not in ("self", "cls") and prm.annotation is inspect.Parameter.empty]
    ret = sig.return_annotation is inspect.Signature.empty and fn.__name__ != "__init__"
    return params, ret


def unannotated(modules: list[str]) -> list[str]:
    """One line per public function of the modules that lacks an annotation."""
    found: dict[tuple[str, str], str] = {}
    for name in modules:
        m = importlib.import_module(name)
        for n in _public_names(m):
            obj = getattr(m, n, None)
            fns: list[tuple[str, Callable]] = []
            if inspect.isfunction(obj) and obj.__module__.startswith("grimoire"):
                fns.append((obj.__qualname__, obj))
            elif inspect.isclass(obj) and obj.__module__.startswith("grimoire"):
                fns.extend(_methods(obj))
            for qual, fn in fns:
                key = (fn.__module__, qual)
                if key in found:
                    continue
                params, ret = missing(fn)
                if params or ret:
                    found[key] = f"{fn.__module__}.{qual}: params {params}{' return' if ret else ''}"
    return sorted(found.values())


if __name__ == "__main__":
    args = sys.argv[1:]
    gate = "--gate" in args
    mods = [a for a in args if a != "--gate"] or public_modules()
    lines = unannotated(mods)
    print("\n".join(lines))
    print("total", len(lines), file=sys.stderr)
    sys.exit(1 if gate and lines else 0)
