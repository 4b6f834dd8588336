"""The illustrated tour: all 46 of the primer's figures registered in the sections the primer
puts them, drawn from grimoire computations, and the HTML book (opened in headless Chromium
where Debian's chromium is installed: .ci/run installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib
import pytest
from grimoire import tour

matplotlib.use("Agg")


def test_all_46_figures_are_registered_after_existing_sections():
    figures = tour.figures()
    assert [f.number for f in figures] == list(range(1, 47))
    numbers = {s.number for s in tour.sections()}
    for f in figures:
        assert f.section in numbers, f"Figure {f.number} is placed after {f.section}, which is no section"
        assert f.title


def test_the_primer_sections_2_1_1_and_3_5_exist():
    numbers = {s.number for s in tour.sections()}
    assert {"2.1.1", "3.5"} <= numbers


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    results = tour.run(
        ["2.2.3", "3.5", "6.4.2", "6.5.3"], out / "plots", quick=True, html=out / "book", quiet=True
    )
    return out / "book" / "index.html", results


def test_sections_draw_their_figures(book):
    _, results = book
    drawn = {f.number: path for r in results for f, path in r.figures}
    assert set(drawn) == {2, 36, 37, 41}
    for path in drawn.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_book_embeds_everything(book):
    path, results = book
    page = path.read_text()
    assert page.count('<section class="tour"') == len(results) == 4
    assert len(re.findall(r'<img alt="Figure \d+" src="data:image/png;base64,', page)) == 4
    assert "<svg" in page  # a formula rendered offline
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
    assert "curse of dimensionality" in page.lower()
    assert "def curse_of_dimensionality" in page  # the code that ran


def test_quiet_prints_nothing(capsys, tmp_path):
    tour.run(["2.2.1"], tmp_path, quiet=True)
    assert capsys.readouterr().out == ""


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_book_opens_in_headless_chromium(book, tmp_path):
    path, results = book
    flags = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--v=0",
    ]
    dom = subprocess.run(flags + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    assert 'data-broken-images="0"' in body, body
    assert f'data-sections="{len(results)}"' in body
    assert 'data-images="4"' in body
    errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and "rror" in line]
    assert not errors, errors
    shot = tmp_path / "book.png"
    subprocess.run(
        flags + [f"--screenshot={shot}", "--window-size=1200,2400", path.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("number", sorted(__import__("grimoire.tour._book", fromlist=["FORMULAS"]).FORMULAS))
def test_every_formula_renders_offline(number):
    from grimoire.tour._book import FORMULAS, formula_svg

    svg = formula_svg(FORMULAS[number])
    assert svg.startswith("<svg") and "<path" in svg
