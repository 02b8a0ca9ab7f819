"""The Gemello connector: the FastAPI service each partner runs, its storage and its CLI."""

__version__ = "0.1.0"
