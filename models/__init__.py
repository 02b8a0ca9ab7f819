"""Simulation models behind one Model interface, and the model registry (issue #7).

Public API: `Model`, `Stage`, `Partial`, `Noise` (models.base); `MODELS`, `get`, `by_hash`
(models.registry); `run_central`, `run_federated` (models.testing, the mock federation).
"""

from models.base import Context, Model, Noise, Partial, Stage
from models.registry import MODELS, by_hash, get
from models.testing import run_central, run_federated

__all__ = [
    "MODELS",
    "Context",
    "Model",
    "Noise",
    "Partial",
    "Stage",
    "by_hash",
    "get",
    "run_central",
    "run_federated",
]
