"""The model registry: every model this installation can run, by name and by code hash."""

from __future__ import annotations

from models import energy, flood, gravity, mobility
from models.base import Model

MODELS: dict[str, Model] = {
    m.name: m for m in (mobility.MODEL, gravity.MODEL, energy.MODEL, flood.MODEL)
}


def get(name: str) -> Model:
    """A model by name (KeyError naming the known ones otherwise)."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"no model '{name}'; known: {', '.join(sorted(MODELS))}") from None


def by_hash(code_hash: str) -> Model | None:
    """The installed model with this code hash, if any."""
    return next((m for m in MODELS.values() if m.hash == code_hash), None)
