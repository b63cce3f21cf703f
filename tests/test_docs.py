"""The model document cannot drift from the code.

- The parameter table in ``docs/model.md`` is exactly what :mod:`sim.config.paramdoc`
  derives from the pydantic schema.
- Every parameter has a unit and a description.
- Every output column (step tables (labs, markets, edges, ledger), lab summary, run summary) and
  every policy lever is documented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.config.paramdoc import (
    COLUMNS,
    parameter_rows,
    parameter_table_markdown,
)
from sim.config.scenario import PolicyConfig
from sim.economy.tables import EDGE_COLUMNS, LAB_COLUMNS, LEDGER_COLUMNS, MARKET_COLUMNS
from tests.builders import build, small_economy_dict

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"
START = "<!-- parameters:start -->"
END = "<!-- parameters:end -->"
REGENERATE = (
    'python -c "from sim.config.paramdoc import parameter_table_markdown; '
    'print(parameter_table_markdown())"'
)


@pytest.fixture(scope="module")
def doc() -> str:
    """The text of docs/model.md."""
    return DOC.read_text(encoding="utf-8")


def _mentioned(doc: str, name: str) -> bool:
    """True if ``name`` appears in the document as a code span (or starts one)."""
    return f"`{name}`" in doc or f"`{name} " in doc or f"`{name}=" in doc


def _section(doc: str, number: int) -> str:
    """The text of the level-2 section ``## <number>. ...`` up to the next level-2 heading."""
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", doc, flags=re.M | re.S)
    assert match, f"docs/model.md has no section '## {number}. ...'"
    return match.group(0)


def test_parameter_table_matches_the_schema(doc: str) -> None:
    lines = doc.splitlines()
    assert lines.count(START) == 1 and lines.count(END) == 1, (
        f"docs/model.md needs exactly one marker line {START} and one {END}"
    )
    pasted = "\n".join(lines[lines.index(START) + 1 : lines.index(END)]).strip()
    assert pasted == parameter_table_markdown(), (
        "the parameter table in docs/model.md is out of date with sim/config/scenario.py; "
        "regenerate it "
        f"with `{REGENERATE}` and paste the output between {START} and {END}"
    )


def test_regeneration_command_is_documented(doc: str) -> None:
    assert REGENERATE in doc


def test_every_parameter_has_unit_and_description() -> None:
    rows = parameter_rows()
    assert rows, "no parameters found"
    assert all(set(row) == set(COLUMNS) for row in rows)
    missing_unit = [row["path"] for row in rows if not row["unit"].strip()]
    missing_text = [row["path"] for row in rows if not row["description"].strip()]
    assert not missing_unit, f"declare a unit (sim.config.scenario.param) for: {missing_unit}"
    assert not missing_text, f"declare a description for: {missing_text}"


def test_paths_are_unique_and_reach_nested_items() -> None:
    paths = [row["path"] for row in parameter_rows()]
    assert len(paths) == len(set(paths))
    for path in ("labs[].cash", "labs[].fleet[].units", "policy.export_controls.max_tpp"):
        assert path in paths


def test_bounds_come_from_the_field_metadata() -> None:
    rows = {row["path"]: row for row in parameter_rows()}
    assert rows["labs[].cash"]["bounds"] == "[0, 1e+14]"
    assert rows["law.kappa"]["bounds"] == "(0, 2]"
    assert rows["projects.waste_fraction"]["bounds"] == "[0, 1)"
    assert rows["labs[].cash"]["unit"] == "USD"
    assert rows["labs[].name"]["default"] == "required"


def test_step_table_columns_are_documented(doc: str) -> None:
    columns = {*LAB_COLUMNS, *MARKET_COLUMNS, *EDGE_COLUMNS, *LEDGER_COLUMNS}
    missing = sorted(c for c in columns if not _mentioned(doc, c))
    assert not missing, f"document these output columns in docs/model.md: {missing}"


def test_summary_columns_are_documented(doc: str) -> None:
    from sim.experiments.runs import run_scenario

    result = run_scenario(build(small_economy_dict(), years=0.25))
    columns = {*result.lab_summary.columns, *result.summary}
    missing = sorted(c for c in columns if not _mentioned(doc, c))
    assert not missing, f"document these summary columns in docs/model.md: {missing}"


def test_every_policy_lever_is_in_the_levers_section(doc: str) -> None:
    levers = _section(doc, 4)
    paths = [row["path"] for row in parameter_rows(PolicyConfig)]
    assert len(paths) >= len(PolicyConfig.model_fields)
    missing = [p for p in paths if f"policy.{p}" not in levers]
    assert not missing, f"add these policy levers to section 4 of docs/model.md: {missing}"
