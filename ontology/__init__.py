"""Vocabularies and SHACL shapes (Turtle) and their small loader (issue #4)."""
