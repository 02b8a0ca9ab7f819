"""The Gemello connector: the FastAPI service each partner runs, its storage and its CLI."""

__version__ = "0.1.0"

# The partners of the local dataspace as shipped in deploy/dataspace.toml, in the order the demo
# starts them (here, so the command line can name them without importing anything heavy).
PARTNERS = ("comune", "cineca", "unibo", "fbk")
