"""Compiled kernels (numba) of the models, each with a plain NumPy twin for comparison."""
