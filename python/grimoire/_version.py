"""The one source of grimoire's version: pyproject.toml reads it (scikit-build-core's regex
provider), ``grimoire.__version__`` and ``grimoire --version`` print it."""

__version__ = "0.1.0"
