"""The kit's version (one place; the package root and every result carry it)."""
__version__ = "0.2.0"
