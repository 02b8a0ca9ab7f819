"""The model registry: every model this installation can run, by name and by code hash, each
with the example scenario the demo runs and the benchmark times. Adding a model is one entry
here (a dedicated report section in `connector/gateway/report.py` is optional: without one the
report shows the model's summary, holders and provenance).
"""

from __future__ import annotations

from models import energy, flood, gravity, mobility
from models.base import Example, Model

_TRAM_STREETS = ("VIA EMILIA PONENTE", "VIA SAN FELICE", "VIA FRANCESCO RIZZOLI",
                 "VIA GUGLIELMO MARCONI")  # fmt: skip

INSTALLED: tuple[tuple[Model, Example], ...] = (
    (
        mobility.MODEL,
        Example(
            "the 30 km/h city, with one lane less on the red tram line's streets",
            {
                "speed_limits": {"street": 30, "minor": 30},
                "closures": [{"street": s, "lanes": 1} for s in _TRAM_STREETS],
            },
            synthetic=Example(
                "the 30 km/h city (no lane closures: the road graph is synthetic)",
                {"speed_limits": {"street": 30, "minor": 30}},
            ),
        ),
    ),
    (gravity.MODEL, Example("one distance decay fitted from WiFi flows and trips")),
    (
        energy.MODEL,
        Example(
            "35 % of the pre-1991 stock retrofitted, heating at 19 °C",
            {"retrofit_share": 0.35, "heating_setpoint": 19},
        ),
    ),
    (
        flood.MODEL,
        Example(
            "May 2023 with 20 % more rain, a quarter of the paving made permeable",
            {"rain_multiplier": 1.2, "permeable_share": 0.25},
        ),
    ),
)
MODELS: dict[str, Model] = {m.name: m for m, _ in INSTALLED}
EXAMPLES: dict[str, Example] = {m.name: e for m, e in INSTALLED}


def get(name: str) -> Model:
    """A model by name (KeyError naming the known ones otherwise)."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"no model '{name}'; known: {', '.join(sorted(MODELS))}") from None


def by_hash(code_hash: str) -> Model | None:
    """The installed model with this code hash, if any."""
    return next((m for m in MODELS.values() if m.hash == code_hash), None)
