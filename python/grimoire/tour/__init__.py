"""``grimoire tour``: the primer, chapter by chapter, computed by the library.

Each chapter's module in this package registers its sections with :func:`section`, and the
primer's figures with :func:`figure` (each drawn from a grimoire computation, shown after the
section the primer puts it in); the tour discovers the modules by itself, so adding a chapter is
adding a file. A section prints what a reader should look at (the primer's worked example,
computed); ``grimoire tour --html DIR`` also writes the whole tour as one self-contained HTML
book (tour/_book.py).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pkgutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass
class Tour:
    """What a section gets: where to write plots, and how to print."""

    out_dir: Path
    quick: bool = False

    def say(self, *lines: str) -> None:
        for line in lines:
            print(f"  {line}", flush=True)

    def show(self, label: str, value: object) -> None:
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


def pyplot() -> ModuleType | None:
    """matplotlib's pyplot on the Agg backend, or None (plots are an optional extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


@dataclass
class Figure:
    """A figure of the primer: ``draw(tour, plt)`` computes it with grimoire and returns a
    matplotlib Figure."""

    number: int
    title: str
    section: str  # the tour section it is shown after (the primer's place for it)
    draw: Callable


_FIGURES: dict[int, Figure] = {}


def figure(number: int, title: str, section: str) -> Callable[[_F], _F]:
    """Register the primer's Figure ``number``: ``@figure(3, "Linear Transformation", "2.2.3")``."""

    def register(fn: _F) -> _F:
        if number in _FIGURES:
            raise RuntimeError(f"tour figure {number} is registered twice")
        _FIGURES[number] = Figure(number, title, section, fn)
        return fn

    return register


def figures() -> list[Figure]:
    sections()  # imports every chapter module, which registers its figures
    return sorted(_FIGURES.values(), key=lambda f: f.number)


@dataclass
class Ran:
    """What one section produced: its printed output, its figures and its time."""

    section: Section
    output: str = ""
    seconds: float = 0.0
    figures: list[tuple[Figure, Path]] = field(default_factory=list)


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


def section(number: str, title: str,
            where: str) -> Callable[[Callable[[Tour], None]], Callable[[Tour], None]]:
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


class _Tee(io.TextIOBase):
    """Writes to a buffer and, unless quiet, to the terminal."""

    def __init__(self, echo):
        self.buffer, self.echo = io.StringIO(), echo

    def write(self, text: str) -> int:
        self.buffer.write(text)
        if self.echo is not None:
            self.echo.write(text)
        return len(text)

    def flush(self) -> None:
        if self.echo is not None:
            self.echo.flush()


def run(patterns: list[str], out_dir: Path, quick: bool = False, html: Path | None = None,
        quiet: bool = False) -> list[Ran]:
    """Run the selected sections (and draw their figures into ``out_dir``); with ``html``, also
    write the HTML book there. ``quiet`` prints nothing but errors."""
    from tqdm.auto import tqdm

    tour = Tour(out_dir=out_dir, quick=quick)
    chosen = select(patterns)
    by_section: dict[str, list[Figure]] = {}
    for f in figures():
        by_section.setdefault(f.section, []).append(f)
    plt = pyplot()
    results = []
    bar = tqdm(chosen, desc="tour", unit="section", file=sys.stderr, disable=True if quiet else None,
               leave=False)
    for s in bar:
        bar.set_postfix_str(s.number)
        ran = Ran(s)
        tee = _Tee(None if quiet else sys.stdout)
        start = time.perf_counter()
        with contextlib.redirect_stdout(tee):
            print(f"\n== {s.number} {s.title}   [{s.where}]", flush=True)
            s.run(tour)
            for f in by_section.get(s.number, []):
                ran.figures.append((f, _draw(tour, plt, f)))
            ran.seconds = time.perf_counter() - start
            print(f"  ({ran.seconds:.1f} s)", flush=True)
        ran.output = tee.buffer.getvalue()
        results.append(ran)
    if html is not None:
        from ._book import write_book

        path = write_book(results, Path(html))
        if not quiet:
            print(f"\nthe tour as a book: {path}")
    return results


def _draw(tour: Tour, plt, f: Figure) -> Path | None:
    if plt is None:
        print(f"  Figure {f.number} ({f.title}): skipped, matplotlib is not installed")
        return None
    fig = f.draw(tour, plt)
    path = tour.plot_path(f"figure_{f.number:02d}.png")
    fig.suptitle(f"Figure {f.number}: {f.title}", fontsize=11, y=1.02)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    print(f"  Figure {f.number}: {f.title} -> {path}")
    return path
