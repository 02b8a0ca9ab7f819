"""`gemello bench --only SECTION` re-measures one section of docs/benchmarks.md and leaves the
rest of the file as its own run wrote it."""

from __future__ import annotations

import pytest

from connector.bench import replace_section

REPORT = """# Benchmarks

## Models

### A planner's scenario

| a | 1 |

### Sweeps: 32 scenarios in one job (decision 0033)

old figures

## Audit log

kept"""


def test_one_section_is_replaced_up_to_the_next_heading_of_its_level() -> None:
    new = ["### Sweeps: 32 scenarios in one job (decision 0033)", "", "new figures", ""]
    out = replace_section(REPORT, "### Sweeps: 32 scenarios", new)
    assert "new figures" in out
    assert "old figures" not in out
    assert out.index("### A planner's") < out.index("new figures") < out.index("## Audit log")
    assert out.endswith("## Audit log\n\nkept")
    assert out.count("### Sweeps") == 1


def test_a_missing_section_asks_for_the_whole_run() -> None:
    with pytest.raises(ValueError, match="run the whole benchmark first"):
        replace_section("# Benchmarks\n", "### Sweeps: 32 scenarios", ["x"])
