"""``grimoire tour``: the primer, chapter by chapter, computed by the library.

Each chapter's module in this package registers its sections with :func:`section`; the tour
discovers the modules by itself, so adding a chapter is adding a file. A section prints what a
reader should look at (the primer's worked example, computed) and may write plots into the
output folder.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Tour:
    """What a section gets: where to write plots, and how to print."""

    out_dir: Path
    quick: bool = False

    def say(self, *lines: str) -> None:
        for line in lines:
            print(f"  {line}", flush=True)

    def show(self, label: str, value) -> None:
        """Print a labelled value; arrays print on their own indented lines."""
        text = str(value)
        if "\n" in text:
            print(f"  {label}:", flush=True)
            for line in text.splitlines():
                print(f"      {line}", flush=True)
        else:
            print(f"  {label}: {text}", flush=True)

    def plot_path(self, name: str) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / name


@dataclass
class Section:
    number: str
    title: str
    where: str  # the grimoire module a reader opens for this section
    run: Callable[[Tour], None]

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.number.split("."))


_SECTIONS: dict[str, Section] = {}


def section(number: str, title: str, where: str):
    """Register a tour section: ``@section("2.2.1", "Matrix operations", "grimoire.linalg")``."""

    def register(fn: Callable[[Tour], None]) -> Callable[[Tour], None]:
        if number in _SECTIONS:
            raise RuntimeError(f"tour section {number} is registered twice")
        _SECTIONS[number] = Section(number, title, where, fn)
        return fn

    return register


def sections() -> list[Section]:
    """Every registered section, in the primer's order."""
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    return sorted(_SECTIONS.values(), key=lambda s: s.key)


def select(patterns: list[str]) -> list[Section]:
    """Sections matching any pattern: "2.2.1" exactly, or "2.2" for the whole subsection."""
    every = sections()
    if not patterns:
        return every
    chosen = [s for s in every
              if any(s.number == p or s.number.startswith(p + ".") for p in patterns)]
    if not chosen:
        known = ", ".join(s.number for s in every)
        raise SystemExit(f"grimoire tour: no section matches {' '.join(patterns)} (sections: {known})")
    return chosen


def run(patterns: list[str], out_dir: Path, quick: bool = False) -> None:
    tour = Tour(out_dir=out_dir, quick=quick)
    for s in select(patterns):
        print(f"\n== {s.number} {s.title}   [{s.where}]", flush=True)
        start = time.perf_counter()
        s.run(tour)
        print(f"  ({time.perf_counter() - start:.1f} s)", flush=True)
