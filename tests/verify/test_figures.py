"""Measured figures (`figure: NAME VALUE UNIT [target T]` lines of a step's output): only such
lines become one, and status.json refuses what is not one (tests/site/test_measured_figures.py:
the page)."""

from __future__ import annotations

import pytest

from opsbook.verify.figures import case_figures, figure_from_entry, figures_in

OUTPUT = """restored in 38.4 s
figure: RTO 41.7 s target 3600
figure: RPO 8 s target 86400
figure: <b>x</b> 1 s
figure: RTO 1e9 s
 figure: indented 3 s
figure: Rows 12 rows extra words
"""


def test_only_well_formed_lines_are_figures() -> None:
    found = figures_in(OUTPUT, "judge")
    assert [(f.name, f.value, f.unit, f.target, f.step) for f in found] == [
        ("RTO", 41.7, "s", 3600.0, "judge"), ("RPO", 8.0, "s", 86400.0, "judge")]


def test_the_last_report_of_a_name_wins_and_over_target_is_flagged() -> None:
    figures = case_figures([("first", "figure: RTO 5 s target 1\n"), ("again", "figure: RTO 0.5 s target 1\n"),
                            ("rpo", "figure: RPO 9 s target 1\n")])
    assert [(f.name, f.step, f.over_target) for f in figures] == [("RTO", "again", False), ("RPO", "rpo", True)]


def test_a_figure_in_status_json_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        figure_from_entry({"name": "<script>", "value": 1, "unit": "s"})
    with pytest.raises(ValueError):
        figure_from_entry({"name": "RTO", "value": "1", "unit": "s"})
