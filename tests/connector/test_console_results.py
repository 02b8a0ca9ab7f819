"""What the console's scenario and result pages are made of, on real model results: forms
generated from each model's schema and read back (errors at their fields), results read in
words and units, district totals, every area as CSV and GeoJSON, and the choropleth classes.
The pages themselves, in a browser: tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import models
from connector.gateway import readable
from connector.gateway.gazetteer import Gazetteer
from connector.settings import load_settings
from connector.web import forms
from connector.web.maps import CLASSES, choropleth, draw
from models import mobility
from models.registry import MODELS
from tests.connector.test_report import PARAMS, _table, _view


def _form(**fields: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_empty_form_is_the_models_default_scenario(name: str) -> None:
    model = models.get(name)
    fields = forms.specs(model, "it")
    assert fields, name
    scalars = [f for f in fields if f.kind == "scalar"]
    for f in scalars:  # every scalar has an Italian label from the card, not the code name
        assert f.label != f.name or name == "mobility-gravity", f.name
    # what a browser sends for an untouched form: blanks, and "false" before each unticked box
    sent = {c.name: ["false"] if c.kind == "boolean" else [""] for f in scalars for c in f.controls}
    for f in fields:
        if f.kind == "scalar" and f.controls[0].kind == "boolean" and f.controls[0].default:
            sent[f.name] = ["false", "true"]  # ticked by default: the box sends "true" too
        if f.kind == "choices":
            sent[forms.LIST_MARK] = [*sent.get(forms.LIST_MARK, []), f.name]
            sent[f.name] = [c.value for c in f.controls if c.checked]
    params, errors = forms.read(model, fields, sent)
    assert errors == {}
    assert params == model.params().model_dump(mode="json")


def test_a_sweep_from_the_form_is_a_range_of_the_chosen_parameter() -> None:
    """The form's sweep (decision 0033): a parameter the model's card lists, a mapping's key
    labelled by its mapping; no parameter chosen, one scenario whatever else is typed; half a
    range refused at the sweep, in the page's language; a re-run shows it back."""
    model = models.get("mobility-ctm")
    fields = forms.specs(model, "it")
    sweep = next(f for f in fields if f.kind == "sweep")
    choice = sweep.controls[0]
    [(group, items)] = choice.options  # the four limits under the mapping's label
    assert group == "Limiti di velocità per classe di strada"
    assert [v for v, _ in items] == list(mobility.SWEEPABLE)
    assert dict(items)["speed_limits.street"] == "street (km/h)"
    flood_choice = next(f for f in forms.specs(models.get("flood-scs-nash"), "it")
                        if f.kind == "sweep").controls[0]  # fmt: skip
    assert all(group == "" for group, _ in flood_choice.options)  # plain parameters
    sent = _form(**{"sweep.parameter": "speed_limits.street", "sweep.start": "20",
                    "sweep.stop": "50", "sweep.step": "10"})  # fmt: skip
    params, errors = forms.read(model, fields, sent, "it")
    assert errors == {}
    assert [p.speed_limits["street"] for p in model.parse(params).points()] == [20, 30, 40, 50]
    params, _ = forms.read(model, fields, _form(**{"sweep.parameter": "", "sweep.start": "20"}))
    assert params["sweep"] is None
    _, errors = forms.read(model, fields, _form(**{"sweep.parameter": "speed_limits.street",
                                                   "sweep.start": "20"}), "it")  # fmt: skip
    assert errors == {"sweep": "servono primo valore, ultimo valore e passo"}
    forms.fill(fields, {"sweep": {"parameter": "speed_limits.boulevard", "start": 30}})
    assert [c.value for c in sweep.controls] == ["speed_limits.boulevard", "30", "", ""]
    assert not [f for f in forms.specs(models.get("mobility-gravity"), "en") if f.kind == "sweep"]


def test_a_bad_value_is_reported_at_its_field_and_a_whole_scenario_error_in_general() -> None:
    model = models.get("flood-scs-nash")
    fields = forms.specs(model, "en")
    _, errors = forms.read(model, fields, _form(step_minutes="abc", rain_multiplier="1.5"))
    assert errors == {"step_minutes": "'abc' is not a number"}
    _, errors = forms.read(model, fields, _form(rain_multiplier="5"))
    assert list(errors) == ["rain_multiplier"]
    assert "less than or equal to 3" in errors["rain_multiplier"]
    _, errors = forms.read(model, fields, _form(rain_multiplier="5", dry_hours="x"), "it")
    assert errors == {"dry_hours": "'x' non è un numero"}  # what is not a number, first
    _, errors = forms.read(model, fields, _form(rain_multiplier="5"), "it")
    assert errors == {"rain_multiplier": "deve essere al massimo 3"}
    _, errors = forms.read(model, fields, _form(step_minutes="7"))
    assert errors == {"": "step_minutes must divide an hour"}
    forms.place(fields, {"rain_multiplier": "too wet"})
    shown = {c.name: c.error for f in fields for c in f.controls}
    assert shown["rain_multiplier"] == "too wet"


def test_mappings_records_and_choices_become_the_scenarios_structures() -> None:
    ctm = models.get("mobility-ctm")
    fields = forms.specs(ctm, "it")
    forms.fill(fields, {})
    sent = _form(
        **{
            "speed_limits.street": "30",
            "speed_limits.minor": "30,0",
            "closures.0.street": "VIA IRNERIO",
            "closures.0.lanes": "1",
            "closures.1.street": "",
            "closures.1.lanes": "",
        }  # fmt: skip
    )
    params, errors = forms.read(ctm, fields, sent)
    assert errors == {}
    assert params["speed_limits"] == {"street": 30.0, "minor": 30.0}
    assert params["closures"] == [{"street": "VIA IRNERIO", "lanes": 1}]
    words = forms.summary(ctm, params, "it")
    assert "Limiti di velocità per classe di strada: street 30, minor 30 km/h" in words
    assert forms.summary(ctm, ctm.params().model_dump(mode="json"), "it") == []
    _, errors = forms.read(ctm, fields, _form(**{"speed_limits.street": "500"}))
    assert list(errors) == ["speed_limits"]  # the model's own validator, at the field
    energy = models.get("energy-5r1c")
    fields = forms.specs(energy, "en")
    chosen = _form(**{forms.LIST_MARK: "retrofit_archetypes", "retrofit_archetypes": "1976_1990",
                      "upgrades.1976_1990.u_wall": "0.3"})  # fmt: skip
    params, errors = forms.read(energy, fields, chosen)
    assert errors == {}
    assert params["retrofit_archetypes"] == ["1976_1990"]
    assert params["upgrades"]["1976_1990"]["u_wall"] == 0.3


@pytest.fixture(scope="module")
def flood() -> tuple[readable.Reading, Any, list[Any]]:
    model = models.get("flood-scs-nash")
    tables = {
        "rainfall-daily": _table("cineca", "rainfall-daily"),
        "sub-catchments": _table("unibo", "sub-catchments"),
    }
    view = _view(model, PARAMS, models.run_central(model, tables, PARAMS))
    return readable.read(model.name, view["params"], view["outputs"]), view, []


@pytest.fixture
def areas(home: Path) -> list[Any]:
    return list(Gazetteer.for_settings(load_settings("comune", home)).areas)


def test_a_flood_result_reads_in_words_with_every_area_and_district(
    flood: tuple[readable.Reading, Any, list[Any]], areas: list[Any]
) -> None:
    reading, view, _ = flood
    hours = reading.area("alarm-hours")
    assert hours.label("it").startswith("ore sopra la soglia d'allarme")
    assert hours.unit == "h"
    above = int((hours.scenario > 0).sum())
    assert reading.headline[0].scenario == above == view["summary"]["areas_above_threshold_scen"]
    rows = readable.area_rows(reading, areas)
    assert len(rows) == 90
    assert len({r["name"] for r in rows}) == 90
    districts = readable.by_district(reading, areas)
    assert sum(d["areas"] for d in districts) == 90
    for d in districts:  # a district's hours above the alarm: its worst area's
        mine = [r["alarm-hours.scenario"] for r in rows if r["district"] == d["district"]]
        assert d["alarm-hours.scenario"] == max(mine)
    titles = [c.title("en") for c in reading.charts]
    assert titles[0] == "Rain (baseline)"
    assert "Hydrograph: Reno" in titles
    assert all(len(s.values) == len(c.x) for c in reading.charts for s in c.series)


def test_every_area_downloads_as_csv_and_geojson_with_names_and_units(
    flood: tuple[readable.Reading, Any, list[Any]], areas: list[Any]
) -> None:
    reading, _, _ = flood
    table = list(csv.reader(io.StringIO(readable.to_csv(reading, areas, "en"))))
    assert table[0][:3] == ["code", "area", "district"]
    assert any("(h)" in h and "change" in h for h in table[0])
    assert len(table) == 91
    geo = json.loads(readable.geojson_text(reading, areas, "it"))
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 90
    first = geo["features"][0]
    assert first["geometry"]["type"] == "MultiPolygon"
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    assert 11.1 < lon < 11.5
    assert 44.3 < lat < 44.7
    assert {"code", "name", "district"} <= set(first["properties"])
    assert any(k.startswith("ore sopra la soglia") for k in first["properties"])


def test_a_district_mean_speed_is_its_vehicle_km_over_its_vehicle_hours(areas: list[Any]) -> None:
    model = models.get("mobility-ctm")
    tables = {d: _table("comune", d) for d in model.datasets}
    params = {"hours": 2, "speed_limits": {"street": 30}, "calibrate": False}
    result = models.run_central(model, tables, params)
    view = _view(model, params, result)
    reading = readable.read(model.name, view["params"], view["outputs"])
    assert [f.key for f in reading.areas] == ["speed", "vht", "vkm", "tt_centre", "tt_out"]
    for d in readable.by_district(reading, areas):
        assert d["speed.scenario"] == pytest.approx(d["vkm.scenario"] / d["vht.scenario"])
    # a district's travel time to the centre is the mean of its areas' (a time, not a sum)
    tt = reading.area("tt_centre")
    codes = {a.code - 1 for a in areas if a.district == "Navile"}
    navile = next(d for d in readable.by_district(reading, areas) if d["district"] == "Navile")
    assert navile["tt_centre.scenario"] == pytest.approx(
        float(np.nanmean(tt.scenario[sorted(codes)]))
    )
    assert navile["tt_centre.scenario"] > navile["tt_centre.baseline"] > 0  # 30 km/h: slower
    speed = reading.headline[2]
    assert speed.unit == "km/h"
    assert speed.scenario == pytest.approx(view["summary"]["mean_speed_kmh_scen"], abs=0.06)


def test_a_choropleth_puts_each_area_in_a_class_of_its_value(home: Path) -> None:
    city = draw(Gazetteer.for_settings(load_settings("comune", home)))
    codes = [a.code for a in city.areas]
    values: dict[int, float | None] = {c: float(c) for c in codes}
    values[codes[0]] = None
    seq = choropleth(city, values, "h", diverging=False)
    shades = {a.code: a.shade for a in seq.areas}
    assert shades[codes[0]] == "none"
    assert shades[codes[1]] == "q0"
    assert shades[max(codes)] == f"q{CLASSES - 1}"
    assert len(seq.legend) == CLASSES
    change = choropleth(city, {c: float(c - 45) for c in codes}, "km/h", diverging=True)
    by_code = {a.code: a for a in change.areas}
    assert by_code[45].shade == f"d{CLASSES // 2}"  # no change: the middle, white class
    assert by_code[1].shade == "d0"
    assert by_code[45].value == "+0 km/h"
    assert np.isfinite([float(v) for v in values.values() if v is not None]).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_speaks_of_itself_in_both_languages(name: str) -> None:
    from models.cards import CARDS

    card = CARDS[name]
    words = [card.title, card.method, *card.assumptions, *card.limits, *card.fields.values(),
             *card.helps.values()]  # fmt: skip
    assert card.example is not None
    words.append(card.example)
    assert card.assumptions
    assert card.limits
    for w in words:
        assert w.it.strip(), w
        assert w.en.strip(), w
    fields = set(models.get(name).params.model_fields)
    assert set(card.fields) <= fields
    assert set(card.helps) <= fields


def test_a_sweep_table_writes_each_column_with_one_number_of_decimals() -> None:
    """A column whose values are all whole has none; any other has two, on every row (179
    beside 173.1 once read as a different kind of number)."""
    from connector.web.runs import _sweep_table

    summary = {"sweep_curve": [
        {"speed_limits.street": 20.0, "vehicle-km, thousand": 179.0, "to the centre, min": None},
        {"speed_limits.street": 30.0, "vehicle-km, thousand": 173.1, "to the centre, min": 6.5},
    ]}  # fmt: skip
    table = _sweep_table(summary, "it")
    assert table is not None
    assert table["rows"] == [["20", "179,00", "—"], ["30", "173,10", "6,50"]]
    assert _sweep_table(summary, "en")["rows"][1] == ["30", "173.10", "6.50"]  # type: ignore[index]
