"""`opsbook new`: a skeleton in the house style that lints, and whose steps fail until they are written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsbook.runbook.discover import load_runbook
from opsbook.runbook.model import Prose, Role
from tests.cli.test_cli_catalogue import opsbook


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "runbooks").mkdir()
    return tmp_path


def test_the_skeleton_lints_and_has_the_house_shape(project: Path) -> None:
    done = opsbook("new", "incidents/disk-full", "--alert", "NodeFilesystemAlmostOutOfSpace", cwd=project)
    assert done.returncode == 0, done.stderr
    path = project / "runbooks" / "incidents" / "disk-full.md"
    assert "wrote runbooks/incidents/disk-full.md" in done.stdout
    lint = opsbook("lint", "--strict", str(path), cwd=project)
    assert lint.returncode == 0, lint.stderr
    book = load_runbook(path, project / "runbooks")
    assert book.id == "incidents/disk-full" and book.title == "Disk full"
    assert book.alerts == ("NodeFilesystemAlmostOutOfSpace",) and book.owner == "TODO"
    assert [(s.name, s.options.role) for s in book.steps] == [
        ("confirm-symptom", Role.DIAGNOSE), ("apply-fix", Role.REMEDIATE), ("confirm-fixed", Role.VERIFY)]
    assert book.step("apply-fix").options.destructive
    text = path.read_text()
    assert "**You are here because** `NodeFilesystemAlmostOutOfSpace` fired" in text
    assert "# scenario: worker-stuck" in text, "the scenario is a commented hint"
    assert "Post in the incident channel" in text.split("## Afterwards", 1)[1]
    for step in book.steps:  # each step is followed by what good output is and what to do if it fails
        after = book.cells[book.cells.index(step) + 1]
        assert isinstance(after, Prose) and "Good output" in after.text and "**If this step fails**" in after.text


def test_every_skeleton_step_fails_until_it_is_written(project: Path) -> None:
    assert opsbook("new", "database/vacuum", "--title", "Vacuum a bloated table", cwd=project).returncode == 0
    book = load_runbook(project / "runbooks" / "database" / "vacuum.md")
    assert book.title == "Vacuum a bloated table"
    for step in book.steps:
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.source],
                              capture_output=True, text=True, timeout=10)
        assert done.returncode != 0, f"step {step.name} passes by doing nothing"
        assert "TODO" in done.stderr


def test_an_existing_runbook_is_never_overwritten(project: Path) -> None:
    mine = project / "runbooks" / "incidents" / "db-down.md"
    mine.parent.mkdir()
    mine.write_text("my runbook\n")
    done = opsbook("new", "incidents/db-down", cwd=project)
    assert done.returncode == 2 and "already exists" in done.stderr
    assert mine.read_text() == "my runbook\n"


@pytest.mark.parametrize("args, message", [
    (["disk-full"], "is not AREA/NAME"),
    (["Incidents/disk-full"], "is not AREA/NAME"),
    (["incidents/disk_full"], "is not AREA/NAME"),
    (["../outside/disk-full"], "is not AREA/NAME"),
    (["incidents//disk-full"], "is not AREA/NAME"),
    (["incidents/disk-full.md"], "is not AREA/NAME"),
    (["incidents/disk-full", "--alert", "1stAlert"], "is not a Prometheus alert name"),
    (["incidents/disk-full", "--alert", "Disk-Full"], "is not a Prometheus alert name"),
    (["incidents/disk-full", "--title", "  "], "--title is empty"),
])
def test_bad_names_are_refused_with_exit_2_and_nothing_written(project: Path, args: list[str], message: str) -> None:
    done = opsbook("new", *args, cwd=project)
    assert done.returncode == 2 and message in done.stderr
    assert list((project / "runbooks").rglob("*.md")) == []
