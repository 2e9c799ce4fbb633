"""The database guide's index strategy holds on the real schema: every recommended index is
created by the default release's migrations, and, on the sandbox's seeded year of data, the
query the guide gives for it is planned with that index. A recommendation whose index was never
written, or whose query the planner answers another way, fails here with its row number."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from opsbook.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "database.md"
MIGRATIONS = ROOT / "sandbox" / "app" / "migrations"
DEFAULT_RELEASE = ROOT / "sandbox" / "app" / "releases" / "1.0.0.json"
ROW = re.compile(r"^\| *(\d+) *\| *`([a-z0-9_]+)` *\| *`([^`]+)`[^|]*\| *`([^`]+)` *\|$")


@dataclass(frozen=True)
class Recommendation:
    number: int
    index: str
    table: str
    query: str


def recommendations() -> list[Recommendation]:
    found = []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            number, index, on, query = match.groups()
            found.append(Recommendation(int(number), index, on.split()[0], query))
    return found


def declared_indexes() -> dict[str, str]:
    """Index name -> table, from the default release's migrations: CREATE [UNIQUE] INDEX, and
    the indexes PostgreSQL names itself for PRIMARY KEY (<table>_pkey) and a column's UNIQUE
    (<table>_<column>_key)."""
    names = json.loads(DEFAULT_RELEASE.read_text())["migrations"]
    indexes: dict[str, str] = {}
    for name in names:
        text = re.sub(r"--[^\n]*", "", (MIGRATIONS / f"{name}.sql").read_text(encoding="utf-8"))
        for index, table in re.findall(r"create\s+(?:unique\s+)?index\s+(?:if\s+not\s+exists\s+)?(\w+)\s+on\s+(\w+)",
                                       text, re.IGNORECASE):
            indexes[index] = table
        for table, body in re.findall(r"create\s+table\s+(\w+)\s*\((.*?)\);", text, re.IGNORECASE | re.DOTALL):
            for column, constraints in re.findall(r"^\s*(\w+)\s+\w+[^,\n]*?((?:primary key|unique)[^,\n]*)?,?\s*$",
                                                  body, re.IGNORECASE | re.MULTILINE):
                if re.search(r"primary key", constraints, re.IGNORECASE):
                    indexes[f"{table}_pkey"] = table
                elif re.search(r"\bunique\b", constraints, re.IGNORECASE):
                    indexes[f"{table}_{column}_key"] = table
    return indexes


def plan_indexes(node: dict[str, Any]) -> Iterator[str]:
    if "Index Name" in node:
        yield node["Index Name"]
    for child in node.get("Plans", []):
        yield from plan_indexes(child)


def test_the_guide_recommends_at_least_twenty_indexes_each_created_by_a_migration() -> None:
    found = recommendations()
    assert len(found) >= 20, f"{GUIDE}: {len(found)} index recommendations, at least 20 expected"
    assert [r.number for r in found] == list(range(1, len(found) + 1)), "rows are numbered 1, 2, ..."
    declared = declared_indexes()
    missing = [f"#{r.number} {r.index}" for r in found if r.index not in declared]
    assert not missing, f"recommended in {GUIDE.name} but created by no migration of the default release: {missing}"
    wrong_table = [f"#{r.number} {r.index}: guide says {r.table}, migration {declared[r.index]}"
                   for r in found if declared[r.index] != r.table]
    assert not wrong_table, wrong_table


@pytest.mark.sandbox
def test_each_recommended_query_is_planned_with_its_index(sandbox: Sandbox) -> None:
    sandbox.reset()
    env = sandbox.env()
    present = set(subprocess.run(
        ["psql", env["DATABASE_ADMIN_URL"], "-XAtc", "select indexname from pg_indexes where schemaname = 'public'"],
        capture_output=True, text=True, check=True, timeout=30).stdout.split())
    counts = dict(line.split("|") for line in subprocess.run(
        ["psql", env["DATABASE_ADMIN_URL"], "-XAtc",
         "select relname, count_estimate from (select relname, reltuples::bigint as count_estimate from pg_class"
         " where relnamespace = 'public'::regnamespace and relname in ('jobs', 'job_results', 'users')) t"],
        capture_output=True, text=True, check=True, timeout=30).stdout.split())
    # The seeded volume is there, as the planner sees it: a plan on empty tables proves nothing.
    assert int(counts["job_results"]) >= 250_000 and int(counts["jobs"]) >= 90_000 and int(counts["users"]) >= 20_000
    wrong = []
    for r in recommendations():
        assert r.index in present, f"#{r.number} {r.index} is not in the sandbox's database after a reset"
        done = subprocess.run(["psql", env["DATABASE_ADMIN_URL"], "-XAt", "-v", "ON_ERROR_STOP=1",
                               "-c", f"explain (format json) {r.query}"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"#{r.number}: the guide's query does not run: {done.stderr.strip()}"
        used = set(plan_indexes(json.loads(done.stdout)[0]["Plan"]))
        if r.index not in used:
            wrong.append(f"#{r.number} {r.index}: planned with {sorted(used) or 'no index'}: {r.query}")
    assert not wrong, "queries not planned with their recommended index:\n" + "\n".join(wrong)
