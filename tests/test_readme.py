"""The README's example runs as written."""

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_taste_runs(capsys):
    text = README.read_text()
    code = text.split("## A taste")[1].split("```python\n")[1].split("```")[0]
    exec(compile(code, str(README), "exec"), {})
    assert "kernel families" in capsys.readouterr().out
