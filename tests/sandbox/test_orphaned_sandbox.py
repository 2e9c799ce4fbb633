"""A sandbox whose env file is gone (a fresh clone on a machine that ran one before) leaves
volumes whose database knows other passwords: `up` removes them before it makes new secrets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from opsbook.sandbox.containers import docker, docker_available, project_volumes
from opsbook.sandbox.driver import Sandbox

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.sandbox


class _Said:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, text: str) -> None:
        self.lines.append(text)


def test_volumes_of_a_sandbox_without_settings_are_removed_and_the_user_told() -> None:
    if docker_available() is not None:
        pytest.skip("no docker engine")
    project = f"opsbook-orphan-{uuid.uuid4().hex[:8]}"
    box = Sandbox(ROOT, project)
    assert not box.env_file.exists()
    # One volume compose.yaml declares, one an older compose.yaml may have had.
    for name in ("pgdata", "retired"):
        made = docker("volume", "create", "--label", f"com.docker.compose.project={project}", f"{project}_{name}")
        assert made.returncode == 0, made.stderr
    try:
        assert len(project_volumes(project)) == 2
        said = _Said()
        box._remove_orphaned_sandbox(said)
        assert project_volumes(project) == []
        assert any("earlier sandbox" in line and "2 volumes" in line for line in said.lines), said.lines
        assert not box.env_file.exists(), "removing the old sandbox must not write settings"
    finally:
        docker("volume", "rm", "-f", f"{project}_pgdata", f"{project}_retired")


def test_a_project_with_nothing_left_behind_is_left_alone() -> None:
    if docker_available() is not None:
        pytest.skip("no docker engine")
    said = _Said()
    Sandbox(ROOT, f"opsbook-orphan-{uuid.uuid4().hex[:8]}")._remove_orphaned_sandbox(said)
    assert said.lines == []
