"""The CLI reference keeps up with the CLI: every command and option of `--help` is documented."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from tests.support.site import REPO

cli = pytest.importorskip("opsbook.cli.main")


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli.main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _commands(text: str) -> list[str]:
    section = text.split("Commands:", 1)[1] if "Commands:" in text else ""
    return re.findall(r"^  ([a-z][a-z-]*)\s", section, flags=re.MULTILINE)


def test_every_command_and_option_is_in_the_cli_reference():
    reference = (REPO / "docs/cli.md").read_text()
    commands = _commands(_help())
    assert "run" in commands
    for command in commands:
        assert f"## opsbook {command} " in reference, f"docs/cli.md has no section for `opsbook {command}`"
        for option in re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z-]*)", _help(command), flags=re.MULTILINE):
            if option != "--help":
                assert f"`{option}" in reference or f" {option}" in reference, \
                    f"docs/cli.md does not mention `opsbook {command} {option}`"
