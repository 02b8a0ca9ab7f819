"""The DP engine on Arrow tables: refusals, declared domains, clamping, suppression, limits."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyarrow as pa
import pytest

from privacy import (
    AggregateQuery,
    DatasetProfile,
    Dimension,
    DisclosureRules,
    PrivacyLeak,
    QueryRefused,
    TimePart,
    privatise_output,
    run_query,
)
from privacy.mechanisms import leaks_are_errors

AREAS = tuple(str(i) for i in range(1, 6))


def _table(n: int = 5000, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-03-04T00:00:00")
    return pa.table(
        {
            "person": [f"psn_{i:04d}" for i in rng.integers(0, n // 5, n)],
            "area": rng.integers(1, 4, n).astype(np.int32),  # areas 4 and 5 have no rows
            "mode": rng.choice(["bike", "car"], n),
            "at": pa.array(start + rng.integers(0, 7 * 86400, n).astype("timedelta64[s]")),
            "km": rng.uniform(0, 10, n),
        }
    )


PROFILE = DatasetProfile(
    dataset="trips",
    bounds={"km": (0.0, 10.0)},
    dimensions={
        "area": Dimension("area", "area", AREAS),
        "mode": Dimension("mode", "mode", ("bike", "car", "walk")),
        "hour": Dimension("hour", "at", tuple(str(h) for h in range(24)), TimePart.hour),
        "weekday": Dimension("weekday", "at", tuple(str(d) for d in range(7)), TimePart.weekday),
    },
    identifiers=("person",),
    row_bound=100_000,
)


def q(**kw: object) -> AggregateQuery:
    base: dict[str, object] = {"dataset": "trips", "aggregate": "mean", "column": "km"}
    return AggregateQuery.model_validate(base | {"epsilon": 1.0} | kw)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (q(column="person"), "personal identifier"),
        (q(column="area"), "no declared bounds"),
        (q(group_by=["street"]), "not a public dimension"),
        (q(filters=[{"dimension": "mode", "values": ["plane"]}]), "not in its declared domain"),
        (q(aggregate="histogram", bins=100, group_by=["hour", "weekday"]), "at most 5000"),
    ],
)
def test_queries_outside_the_profile_are_refused_with_the_reason(
    query: AggregateQuery, message: str
) -> None:
    with pytest.raises(QueryRefused, match=message):
        run_query(_table(), query, PROFILE)


def test_a_query_needs_a_column_except_count() -> None:
    with pytest.raises(ValueError, match="needs a column"):
        AggregateQuery(dataset="t", aggregate="sum", epsilon=1)  # type: ignore[arg-type]
    AggregateQuery(dataset="t", aggregate="count", epsilon=1)  # type: ignore[arg-type]


def test_groups_come_from_the_declared_domain_not_from_the_data() -> None:
    rel = run_query(_table(), q(aggregate="count", column=None, group_by=["area"]), PROFILE)
    assert [c.group["area"] for c in rel.cells] == list(AREAS)  # 4 and 5 present, though empty
    empty = [c for c in rel.cells if c.group["area"] in {"4", "5"}]
    # An empty group is (almost always) suppressed, and never shown as exactly absent.
    assert all(c.suppressed or c.value is not None for c in empty)


def test_large_epsilon_answers_are_close_to_the_truth() -> None:
    table = _table()
    km = table["km"].to_numpy()
    mean = run_query(table, q(epsilon=10), PROFILE).cells[0]
    assert mean.value == pytest.approx(km.mean(), abs=0.05)
    count = run_query(table, q(aggregate="count", column=None, epsilon=10), PROFILE).cells[0]
    assert count.value == pytest.approx(len(km), abs=10)
    var = run_query(table, q(aggregate="variance", epsilon=10), PROFILE).cells[0]
    assert var.value == pytest.approx(km.var(), rel=0.05)
    med = run_query(table, q(aggregate="quantile", epsilon=10), PROFILE).cells[0]
    assert med.value == pytest.approx(np.median(km), abs=0.3)
    total = run_query(table, q(aggregate="sum", epsilon=10), PROFILE).cells[0]
    assert total.value == pytest.approx(km.sum(), rel=0.01)


def test_values_are_clamped_to_the_declared_bounds_before_aggregating() -> None:
    table = pa.table({"km": np.full(1000, 1e9)})
    profile = DatasetProfile("t", {"km": (0.0, 10.0)}, row_bound=10_000)
    cell = run_query(table, q(dataset="t", epsilon=10), profile).cells[0]
    assert cell.value is not None
    assert cell.value <= 10.0
    unclamped = run_query(table, q(dataset="t", epsilon=10), profile, clamp=False).cells[0]
    assert unclamped.value == 10.0  # the release clips the mean; the noise was calibrated wrongly


def test_filters_and_time_parts_select_rows() -> None:
    table = _table()
    cars = run_query(
        table,
        q(
            aggregate="count",
            column=None,
            epsilon=10,
            group_by=["weekday"],
            filters=[{"dimension": "mode", "values": ["car"]}],
        ),
        PROFILE,
    )
    modes = np.array(table["mode"].to_pylist())
    days = table["at"].to_numpy().astype("datetime64[D]").view("int64")
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
    for cell in cars.cells:
        truth = int(((modes == "car") & (weekday == int(cell.group["weekday"]))).sum())
        assert cell.value == pytest.approx(truth, abs=8)


def test_small_groups_are_suppressed_and_the_threshold_is_configurable() -> None:
    table = _table(n=60)
    strict = run_query(table, q(aggregate="count", column=None, group_by=["area", "hour"]), PROFILE)
    assert all(c.suppressed == "fewer than 10 rows" for c in strict.cells if (c.value or 0) < 10)
    assert sum(c.suppressed is not None for c in strict.cells) > 100  # 120 cells, ~60 rows
    lax = run_query(
        table,
        q(aggregate="count", column=None, group_by=["area"], epsilon=10),
        PROFILE,
        DisclosureRules(min_group_size=1),
    )
    assert {c.group["area"] for c in lax.cells if c.suppressed is None} >= {"1", "2", "3"}


def test_a_sum_one_contributor_could_dominate_is_suppressed() -> None:
    table = pa.table({"km": [1.0] * 30})
    profile = DatasetProfile("t", {"km": (0.0, 100.0)}, row_bound=100)
    cell = run_query(
        table, q(dataset="t", aggregate="sum", epsilon=10), profile, DisclosureRules(1, 0.5)
    ).cells[0]
    # One row may add up to 100 while the total is ~30: the cell would reveal a contributor.
    assert cell.value is None
    assert "more than 50%" in (cell.suppressed or "")


def test_a_contributor_limit_keeps_at_most_max_rows_per_person_and_scales_the_noise() -> None:
    people = ["psn_a"] * 500 + [f"psn_{i}" for i in range(100)]
    table = pa.table({"person": people, "km": [1.0] * 600})
    limited = DatasetProfile(
        "t", {"km": (0.0, 10.0)}, identifiers=(), contributor="person", max_rows=2, row_bound=1000
    )
    rel = run_query(table, q(dataset="t", aggregate="count", column=None, epsilon=10), limited)
    assert rel.cells[0].value == pytest.approx(102, abs=2)  # 2 rows of psn_a + 100 others
    assert rel.contributor_limit == 2
    assert rel.components[0].sensitivity == 2


def test_release_states_mechanisms_epsilon_bounds_and_noise_scale() -> None:
    rel = run_query(_table(), q(group_by=["mode"]), PROFILE).as_dict()
    assert rel["epsilon"] == 1.0
    assert rel["bounds"] == [0.0, 10.0]
    mechs = {m["measures"]: m for m in rel["mechanisms"]}
    assert mechs["count"]["mechanism"] == "geometric"
    assert mechs["count"]["epsilon"] == 0.5
    assert mechs["centred sum"]["mechanism"] == "snapping (Laplace)"
    assert mechs["centred sum"]["scale"] == pytest.approx(5.0 / 0.5)
    assert sum(m["epsilon"] for m in rel["mechanisms"]) == pytest.approx(1.0)
    assert all("stderr" in c or "suppressed" in c for c in rel["cells"])


def test_released_values_are_rounded_to_the_noise() -> None:
    rel = run_query(_table(), q(aggregate="sum", epsilon=0.5), PROFILE)
    value, stderr = rel.cells[0].value, rel.cells[0].stderr
    assert value is not None
    assert stderr is not None
    step = 10 ** (math.floor(math.log10(stderr)) - 1)
    assert abs(value / step - round(value / step)) < 1e-6


def test_privacy_leak_warnings_are_errors() -> None:
    from diffprivlib.tools import mean

    def unbounded_mean() -> None:
        with leaks_are_errors():
            mean(np.arange(10.0), epsilon=1.0)  # no bounds: diffprivlib warns that it leaks

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # pytest's "error" filter must not pre-empt ours
        with pytest.raises(PrivacyLeak):
            unbounded_mean()


def test_model_outputs_get_noise_calibrated_to_their_sensitivity() -> None:
    values = np.zeros((200, 3))
    noisy, comp = privatise_output(values, l1_sensitivity=2.0, epsilon=0.5, bound=1e6)
    assert noisy.shape == values.shape
    assert comp.scale == pytest.approx(4.0)
    assert np.std(noisy) == pytest.approx(4.0 * math.sqrt(2), rel=0.2)
    with pytest.raises(ValueError, match="positive"):
        privatise_output(values, l1_sensitivity=0, epsilon=1, bound=1)


@pytest.mark.parametrize("aggregate", ["count", "sum", "mean", "variance", "histogram"])
@pytest.mark.parametrize("limit", [None, 3])
def test_the_preview_states_the_error_the_answer_then_carries(
    aggregate: str, limit: int | None
) -> None:
    """What the console shows before anything is spent is the error the release reports:
    per cell for counts, sums and histograms, per row of the group for means and variances."""
    from dataclasses import replace

    from privacy import expected_error, published_profile

    profile = replace(PROFILE, contributor="person", max_rows=limit) if limit else PROFILE
    query = q(aggregate=aggregate, group_by=["mode"], epsilon=0.7)
    expected = expected_error(query, profile)
    release = run_query(_table(), query, profile, DisclosureRules(min_group_size=1))
    cells = [c for c in release.cells if c.stderr is not None]
    assert len(cells) >= 2  # bike and car (walk has no rows)
    for cell in cells:
        rows = cell.count if cell.count is not None else 0
        stated = expected.sd / rows if expected.per_row else expected.sd
        assert cell.stderr == pytest.approx(stated, rel=0.06), (aggregate, cell)
    # A consumer reading the published profile previews the same figure.
    published = {
        "columns": [{"name": "km", "lower": 0.0, "upper": 10.0}],
        "dimensions": [{"name": "mode", "values": ["bike", "car", "walk"]}],
        "contributionLimit": limit,
    }
    assert expected_error(query, published_profile("trips", published)) == expected


def test_a_quantile_preview_says_its_error_is_not_known_beforehand() -> None:
    from privacy import expected_error

    assert expected_error(q(aggregate="quantile"), PROFILE).sd is None
