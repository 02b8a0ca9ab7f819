"""Vocabularies and SHACL shapes (Turtle files) and their small loader.

`gemello.ttl` is the Gemello governance profile (privacy class, personal-data and synthetic
flags, spatial unit, column bounds); `shapes.ttl` holds our SHACL shapes for it. Both are written
for Gemello. Official third-party shapes (DCAT-AP) are read from `../shared`, never copied here.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, Namespace

HERE = Path(__file__).resolve().parent
GEM = Namespace("https://w3id.org/gemello/ns#")
GSH = Namespace("https://w3id.org/gemello/shapes#")
VOCABULARY = HERE / "gemello.ttl"
SHAPES = HERE / "shapes.ttl"


def vocabulary() -> Graph:
    """The Gemello profile vocabulary."""
    return Graph().parse(VOCABULARY, format="turtle")


def shapes() -> Graph:
    """Gemello's own SHACL shapes."""
    return Graph().parse(SHAPES, format="turtle")


__all__ = ["GEM", "GSH", "SHAPES", "VOCABULARY", "shapes", "vocabulary"]
