"""The runbook format: what parses, and how every kind of mistake is reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jupytext
import pytest

from opsbook.errors import RunbookFormatError
from opsbook.runbook.model import Prose, Retry, Role, Step
from opsbook.runbook.discover import load_runbook
from opsbook.runbook.parse import parse_runbook

HEADER = """\
---
jupyter:
  kernelspec:
    name: opsbook-bash
    display_name: opsbook (bash)
    language: bash
opsbook:
  format: 1
  title: Worker queue backed up
  severity: sev2
  owner: platform
  services: [worker, redis]
  alerts: [WorkerQueueBackedUp]
  scenario: worker-stuck
  params:
    QUEUE: {default: jobs, help: "Redis list the worker consumes"}
    TOKEN: {help: "API token", secret: true}
  verify:
    - case: default
---
"""

GOOD = HEADER + """
# Worker queue backed up

Why this matters.

```bash name="queue-depth" timeout=30 output="^[0-9]+$" role="diagnose"
redis-cli -u "$REDIS_URL" llen "$QUEUE"
```

Good output is a number.

```console
$ example only
```

```bash name="restart-worker" destructive=true retry="3x2s" ci="skip: needs prod" targets=["sandbox"] role="remediate" expect=0 not_output="error"
$COMPOSE restart worker
```

Done.
"""


def parse(text: str) -> object:
    return parse_runbook(text, Path("rb.md"), "incidents/rb")


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(RunbookFormatError) as caught:
        parse(text)
    return [(p.line, p.message) for p in caught.value.problems]


def test_good_runbook_becomes_frozen_model() -> None:
    rb = parse(GOOD)
    assert rb.title == "Worker queue backed up" and rb.severity == "SEV2"
    assert rb.alerts == ("WorkerQueueBackedUp",) and rb.scenario == "worker-stuck"
    assert [p.name for p in rb.params] == ["QUEUE", "TOKEN"] and rb.params[1].secret and rb.params[1].default is None
    first, second = rb.steps
    assert (first.name, first.line, first.options.timeout, first.options.role) == ("queue-depth", 26, 30, Role.DIAGNOSE)
    assert first.source == 'redis-cli -u "$REDIS_URL" llen "$QUEUE"'
    assert second.options.retry == Retry(3, 2.0) and second.options.destructive
    assert (second.options.ci, second.options.ci_reason, second.options.targets) == ("skip", "needs prod", ("sandbox",))
    assert "```console" in second.prose, "console fences stay prose"
    assert isinstance(rb.cells[0], Prose) and isinstance(rb.cells[-1], Prose) and rb.cells[-1].text == "Done."
    with pytest.raises(AttributeError):
        first.name = "x"  # type: ignore[misc]


def test_options_round_trip_through_jupytext_ipynb() -> None:
    notebook = jupytext.reads(GOOD, fmt="md")
    back = jupytext.writes(jupytext.reads(jupytext.writes(notebook, fmt="ipynb"), fmt="ipynb"), fmt="md")
    assert [s.options for s in parse(back).steps] == [s.options for s in parse(GOOD).steps]
    assert [s.name for s in parse(back).steps] == ["queue-depth", "restart-worker"]


def test_json_info_string_is_read_like_key_value() -> None:
    text = HEADER + '\n```bash {"name": "a", "timeout": 5}\ntrue\n```\n'
    (step,) = parse(text).steps
    assert (step.name, step.options.timeout) == ("a", 5)


def test_text_console_and_bare_fences_never_run() -> None:
    text = HEADER + "\n```text\nrm -rf /\n```\n\n```\nreboot\n```\n\n```console\n$ halt\n```\n"
    assert parse(text).steps == ()


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ('```bash name=restart\ntrue\n```\n', 22, "cannot read step options `name=restart`"),
        ('```bash name="Bad_Name"\ntrue\n```\n', 22, "invalid step name"),
        ('```bash\ntrue\n```\n', 22, "has no name"),
        ('```bash name="a" timeout=-1\ntrue\n```\n', 22, "`timeout` must be a positive number"),
        ('```bash name="a" output="("\ntrue\n```\n', 22, "not a valid regular expression"),
        ('```bash name="a" retry="lots"\ntrue\n```\n', 22, "cannot read `retry`"),
        ('```bash name="a" role="fixer"\ntrue\n```\n', 22, "unknown role"),
        ('```bash name="a" ci="maybe"\ntrue\n```\n', 22, "`ci` must be"),
        ('```bash name="a" expect=300\ntrue\n```\n', 22, "exit status 0-255"),
        ('```bash name="a" colour="red"\ntrue\n```\n', 22, "unknown key `colour` in step options"),
        ('```sh name="a"\ntrue\n```\n', 22, "```sh fence"),
        ('```python name="a"\nprint(1)\n```\n', 22, "```python fence"),
        ('```bash name="a"\n```\n', 22, "has no command"),
    ],
)
def test_step_problems_name_the_fence_line(body: str, line: int, fragment: str) -> None:
    found = problems(HEADER + "\n" + body)
    assert any(ln == line and fragment in msg for ln, msg in found), found


def test_duplicate_step_names_point_at_both() -> None:
    text = HEADER + '\n```bash name="a"\ntrue\n```\n\n```bash name="a"\ntrue\n```\n'
    assert (26, "duplicate step name `a` (first on line 22)") in problems(text)


@pytest.mark.parametrize(
    ("change", "line", "fragment"),
    [
        (("  owner: platform", "  owner: no"), 11, "`no` is read as a boolean by YAML 1.1"),
        (("  format: 1", "  format: 2"), 8, "runbook format 2 is newer than this opsbook reads"),
        (("  severity: sev2", "  severity: high"), 10, "unknown severity"),
        (("  owner: platform", "  owner: platform\n  colour: blue"), 12, "unknown key `colour`"),
        (("  title: Worker queue backed up", "  title: [unclosed"), 9, "malformed YAML header"),
        (("    QUEUE:", "    queue:"), 16, "not an environment variable name"),
        (("  services: [worker, redis]", "  services: {a: 1}"), 12, "`services` must be a list"),
        (("  format: 1\n", ""), 7, "missing `format:`"),
        (("  owner: platform", "  owner: platform\n  owner: sre"), 12, "duplicate key `owner`"),
    ],
)
def test_header_problems_name_the_line(change: tuple[str, str], line: int, fragment: str) -> None:
    found = problems(GOOD.replace(*change, 1))
    assert any(ln == line and fragment in msg for ln, msg in found), found


def test_all_problems_are_reported_at_once() -> None:
    text = GOOD.replace("  severity: sev2", "  severity: high").replace('role="diagnose"', 'role="fixer"')
    assert len(problems(text)) == 2


def test_quoted_no_is_text() -> None:
    assert parse(GOOD.replace("  owner: platform", '  owner: "no"')).owner == "no"


def test_missing_header_is_explained() -> None:
    assert problems("# just markdown\n") == [(1, "no YAML header: a runbook starts with a `---` line and an `opsbook:` block")]


def test_load_runbook_derives_id_from_root(tmp_path: Path) -> None:
    path = tmp_path / "runbooks" / "incidents" / "db-down.md"
    path.parent.mkdir(parents=True)
    path.write_text(GOOD)
    assert load_runbook(path, tmp_path / "runbooks").id == "incidents/db-down"


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[2].joinpath("runbooks").rglob("*.md")),
                         ids=lambda p: p.stem)
def test_real_runbooks_read_exactly_as_jupytext_reads_them(path: Path) -> None:
    text = path.read_text()
    cells = [c for c in jupytext.reads(text, fmt="md").cells if c.cell_type == "code"]
    steps = load_runbook(path).steps
    assert [s.source for s in steps] == [c.source for c in cells]
    assert [s.name for s in steps] == [c.metadata["name"] for c in cells]
    assert [s.options.timeout for s in steps] == [c.metadata.get("timeout") for c in cells]
