"""The ``hvkit`` command line: :func:`main` runs one command and returns its exit status."""
from .main import build_parser, main

__all__ = ["main", "build_parser"]
