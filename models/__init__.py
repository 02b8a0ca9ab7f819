"""Simulation models behind one Model interface, and the model registry (issue #7)."""
