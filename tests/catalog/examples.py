"""Dataset descriptions written for the tests: one that conforms, and ways to break it."""

from __future__ import annotations

from connector.settings import source_root

# Personal data, aggregate-only, with clamping bounds: the strictest case that must pass.
# The file doubles as the example a newcomer reads (and the benchmark's sample).
TRIPS = (source_root() / "ontology" / "examples" / "trips.ttl").read_text()

BROKEN = {
    "personal data marked open": (
        ("gem:privacyClass gem:AggregateOnly", "gem:privacyClass gem:Open"),
        "personal data cannot be gem:Open",
    ),
    "no privacy class": (
        ("gem:privacyClass gem:AggregateOnly ;", ""),
        "exactly one privacy class",
    ),
    "unknown privacy class": (
        ("gem:privacyClass gem:AggregateOnly", "gem:privacyClass gem:Whatever"),
        "exactly one privacy class",
    ),
    "bounds the wrong way round": (
        ("gem:upperBound 60.0", "gem:upperBound -1.0"),
        "below the upper bound",
    ),
    "aggregate-only without bounds": (
        ("gem:columnBounds ex:trips-distance .", "gem:spatialUnit gem:StatisticalArea ."),
        "must declare gem:columnBounds",
    ),
    "personal-data flag not a boolean": (
        ("gem:containsPersonalData true", 'gem:containsPersonalData "yes"'),
        "contains personal data",
    ),
}


def broken(name: str) -> tuple[str, str]:
    """The example with one defect, and words the refusal must contain."""
    (old, new), expect = BROKEN[name]
    assert old in TRIPS, old
    return TRIPS.replace(old, new), expect
