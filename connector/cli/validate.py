"""`gemello validate MODEL`: a model beside the field's reference tool, on the same inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from connector.cli.kit import fail, out

VALIDATED = {"flood-scs-nash": "EPA SWMM 5 (pyswmm)"}


def validate(
    model: Annotated[str, typer.Argument(help="the model to check: flood-scs-nash")],
    start: Annotated[str, typer.Option(help="first day of the period")] = "2023-05-01",
    end: Annotated[str, typer.Option(help="last day of the period")] = "2023-05-31",
    shared: Annotated[
        Path | None, typer.Option(help="the shared folder (default: ../shared beside the code)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Run a model and its reference tool on the same inputs and compare them.

    `flood-scs-nash` beside EPA SWMM 5: the same sub-catchments and hourly rain; per river,
    the Nash–Sutcliffe efficiency of the hydrograph, the peak and the time to peak, and the
    wall time of each tool. Real Bologna rain where the shared folder has it, else the
    synthetic series (said in the output). Prints the table docs/models.md shows."""
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
    from connector.validation import flood_swmm

    out.print(f"[dim]{model} and {VALIDATED[model]} on the same inputs…[/]", highlight=False)
    try:
        result = flood_swmm.validate(
            bologna if (bologna / "SOURCES.md").is_file() else None, first, last
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        import json

        print(json.dumps(flood_swmm.as_dict(result), indent=1))
        return
    print("\n".join(flood_swmm.markdown(result)))
