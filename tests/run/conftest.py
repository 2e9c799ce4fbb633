"""A throw-away opsbook project with a `local` target, for the tests that run `opsbook`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.project import Project


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    (tmp_path / "opsbook.toml").write_text(textwrap.dedent("""\
        [targets.local]
        confirm = false
        pass_env = ["LOCAL_ONLY_VAR"]
        secrets = ["LOCAL_SECRET"]
        [targets.local.env]
        LOCAL_SECRET = "hunter2-local-secret"
        [targets.guarded]
        confirm = true
    """))
    return Project(tmp_path)
