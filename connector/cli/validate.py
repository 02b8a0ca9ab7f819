"""`gemello validate MODEL`: a model beside the field's reference tool, on the same inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from connector.cli.kit import fail, out

VALIDATED = {
    "flood-scs-nash": "EPA SWMM 5 (pyswmm)",
    "mobility-ctm": "SUMO's mesoscopic model (eclipse-sumo)",
}


def validate(
    model: Annotated[
        str, typer.Argument(help="the model to check: flood-scs-nash or mobility-ctm")
    ],
    start: Annotated[str, typer.Option(help="first day of the period")] = "2023-05-01",
    end: Annotated[str, typer.Option(help="last day of the period")] = "2023-05-31",
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
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Run a model and its reference tool on the same inputs and compare them.

    `flood-scs-nash` beside EPA SWMM 5: the same sub-catchments and hourly rain; per river,
    the Nash–Sutcliffe efficiency of the hydrograph, the peak and the time to peak, and the
    wall time of each tool. Real Bologna rain where the shared folder has it, else the
    synthetic series (said in the output). Prints the table docs/models.md shows.

    `mobility-ctm` beside SUMO's mesoscopic model: the same network and fitted demand (routes
    drawn from the baseline's turning shares); hourly flows on the counted arcs, the GEH pass
    rate against the loop counts, mean speed by hour, and the wall time of each tool."""
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
    if last < first or (last - first).days > 366:
        raise fail("--end must follow --start, within a year")
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
        if as_json:
            import json

            print(json.dumps(compared, indent=1))
        else:
            print("\n".join(ctm_sumo.markdown(compared)))
        return
    from connector.validation import flood_swmm

    out.print(f"[dim]{model} and {VALIDATED[model]} on the same inputs…[/]", highlight=False)
    try:
        result = flood_swmm.validate(real, first, last)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        import json

        print(json.dumps(flood_swmm.as_dict(result), indent=1))
        return
    print("\n".join(flood_swmm.markdown(result)))
