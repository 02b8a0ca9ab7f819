"""`gemello validate MODEL`: a model beside the field's reference tool, on the same inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from connector.cli.kit import fail, out

VALIDATED = {
    "flood-scs-nash": "EPA SWMM 5 (pyswmm)",
    "mobility-ctm": "SUMO's mesoscopic model (eclipse-sumo)",
    "energy-5r1c": "a published typology of Italy's building stock (MODERATE D3.2, EURAC)",
}


def validate(
    model: Annotated[
        str,
        typer.Argument(help="the model to check: flood-scs-nash, mobility-ctm or energy-5r1c"),
    ],
    start: Annotated[
        str, typer.Option(help="first day of the period (energy-5r1c: its year is the first)")
    ] = "2023-05-01",
    end: Annotated[
        str, typer.Option(help="last day of the period (energy-5r1c: its year is the last)")
    ] = "2023-05-31",
    shared: Annotated[
        Path | None, typer.Option(help="the shared folder (default: ../shared beside the code)")
    ] = None,
    hours: Annotated[
        int, typer.Option(min=1, max=24, help="mobility-ctm: hours of the day simulated")
    ] = 24,
    keep: Annotated[
        Path | None,
        typer.Option(help="mobility-ctm: keep SUMO's network, routes and .sumocfg in this folder"),
    ] = None,
    sumo_model: Annotated[
        str,
        typer.Option(help="mobility-ctm: SUMO's meso model, ltm (kinematic waves) or queue"),
    ] = "ltm",
    buildings: Annotated[
        int | None,
        typer.Option(
            min=100,
            help="energy-5r1c: at most this many buildings of each archetype "
            "(a quicker check; default: all)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Run a model and its reference tool on the same inputs and compare them.

    `flood-scs-nash` beside EPA SWMM 5: the same sub-catchments and hourly rain; per river,
    the Nash–Sutcliffe efficiency of the hydrograph, the peak and the time to peak, and the
    wall time of each tool. Real Bologna rain where the shared folder has it, else the
    synthetic series (said in the output). Prints the table docs/models.md shows.

    `mobility-ctm` beside SUMO's mesoscopic model: the same network and fitted demand (routes
    drawn from the baseline's turning shares); hourly flows on the counted arcs, the GEH pass
    rate against the loop counts, mean speed by hour, and the wall time of each tool.

    `energy-5r1c` beside the useful heating demand per construction period of Italy's
    residential stock (MODERATE D3.2, EURAC 2023): per archetype, the model's kWh/m²·yr on the
    building stock, and on the same buildings with the reference's U-values, averaged over the
    weather years from --start's to --end's (e.g. --start 2001-01-01 --end 2024-12-31)."""
    from connector.settings import source_root

    if model not in VALIDATED:
        raise fail(
            f"no validation for '{model}' yet; validated: "
            + ", ".join(f"{m} (against {ref})" for m, ref in VALIDATED.items())
        )
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise fail(f"--start/--end: {exc} (write YYYY-MM-DD)") from None
    if last < first:
        raise fail("--end must follow --start")
    if model != "energy-5r1c" and (last - first).days > 366:
        raise fail("--end must be within a year of --start")
    bologna = (shared or source_root().parent / "shared") / "data" / "bologna"
    real = bologna if (bologna / "SOURCES.md").is_file() else None
    if model == "mobility-ctm":
        from connector.validation import ctm_sumo

        out.print(f"[dim]{model} and {VALIDATED[model]}, {hours} h…[/]", highlight=False)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        try:
            if sumo_model not in ctm_sumo.SUMO_MODELS:
                raise ValueError(f"--sumo-model is one of {', '.join(ctm_sumo.SUMO_MODELS)}")
            compared = ctm_sumo.validate(real, hours, keep, sumo_model)
        except (RuntimeError, ValueError) as exc:
            raise fail(str(exc)) from None
        _show(as_json, compared, ctm_sumo.markdown(compared))
        return
    if model == "energy-5r1c":
        from connector.validation import energy_typology

        if not 2001 <= first.year <= last.year <= 2025:
            raise fail("energy-5r1c: the weather years are 2001 to 2025 (ERG5's daily series)")
        years = list(range(first.year, last.year + 1))
        out.print(f"[dim]{model} beside {VALIDATED[model]}, {len(years)} weather year(s)…[/]",
                  highlight=False)  # fmt: skip
        try:
            checked = energy_typology.validate(real, years, buildings)
        except ValueError as exc:
            raise fail(str(exc)) from None
        _show(as_json, energy_typology.as_dict(checked), energy_typology.markdown(checked))
        return
    from connector.validation import flood_swmm

    out.print(f"[dim]{model} and {VALIDATED[model]} on the same inputs…[/]", highlight=False)
    try:
        result = flood_swmm.validate(real, first, last)
    except ValueError as exc:
        raise fail(str(exc)) from None
    _show(as_json, flood_swmm.as_dict(result), flood_swmm.markdown(result))


def _show(as_json: bool, data: Any, table: list[str]) -> None:
    """A comparison as JSON (`--json`) or as the markdown table docs/models.md shows."""
    if as_json:
        import json

        print(json.dumps(data, indent=1))
    else:
        print("\n".join(table))
