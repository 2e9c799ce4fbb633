"""What a runbook nobody here wrote can do to a terminal: nothing. Escapes, markup, paths outside the
runbooks folder, one broken file among good ones, and a reader that stops reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.runbooks import HEADER

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
# ESC sequences a hostile file would use: OSC 0 sets the window title, OSC 52 writes the clipboard,
# CSI moves the cursor; C1 CSI (U+009B) is the 8-bit form; BEL rings.
HOSTILE = "\x1b]0;pwned\x07Title \x1b]52;c;ZXZpbCBjb21tYW5k\x07\x1b[2J\x9b31m\x07 [bold red]markup[/]"


def opsbook(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {**os.environ, "COLUMNS": "200", "OPSBOOK_ROOT": str(cwd), **env}
    return subprocess.run([*OPSBOOK, *args], cwd=cwd, env=environ, capture_output=True, timeout=60)


def write(path: Path, title: str, body: str, extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(title=title, extra=extra) + body, encoding="utf-8")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    quoted = json.dumps(HOSTILE)  # YAML reads JSON escapes (\u001b) in double quotes
    write(tmp_path / "runbooks" / "incidents" / "hostile.md", quoted,
          f"\nProse with {HOSTILE}.\n\n```bash name=\"check\"\necho '{HOSTILE}'\n```\n",
          extra=f"  summary: {quoted}\n  owner: {quoted}\n  services: [{quoted}]\n")
    (tmp_path / "outside.md").write_text("not a runbook: secret notes\n")
    (tmp_path / "README.md").write_text("# project readme\n")
    return tmp_path


@pytest.mark.parametrize("command", [["show", "incidents/hostile"], ["list"], ["search", "Title"]])
@pytest.mark.parametrize("force_colour", [False, True])
def test_no_escape_sequence_from_a_runbook_reaches_the_terminal(project: Path, command: list[str],
                                                                 force_colour: bool) -> None:
    env = {"FORCE_COLOR": "1", "TERM": "xterm-256color"} if force_colour else {"NO_COLOR": "1"}
    done = opsbook(*command, cwd=project, **env)
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "Title" in out
    for dangerous in ("]0;", "]52;", "\x07", "\x1b[2J", "\x9b", "pwned\x07"):
        assert dangerous not in out, f"{dangerous!r} reached the terminal"
    if not force_colour:
        assert "\x1b" not in out
    # Rich markup in a title is shown as it was written, not interpreted.
    assert "[bold red]markup[/]" in out


@pytest.mark.parametrize("ref", ["../outside", "../README", "../../etc/passwd", "/etc/passwd", "incidents/../../outside"])
def test_an_id_never_leaves_the_runbooks_folder(project: Path, ref: str) -> None:
    for command in (["show", ref], ["run", ref, "--yes"]):
        done = opsbook(*command, cwd=project)
        assert done.returncode == 2, (command, done.stdout.decode(), done.stderr.decode())
        assert b"secret notes" not in done.stdout and b"project readme" not in done.stdout
        assert b"no runbook" in done.stderr


def test_a_path_to_a_markdown_file_is_still_accepted(project: Path) -> None:
    done = opsbook("show", str(project / "runbooks" / "incidents" / "hostile.md"), cwd=project)
    assert done.returncode == 0 and b"Title" in done.stdout


def test_one_broken_runbook_does_not_hide_the_others(project: Path) -> None:
    write(project / "runbooks" / "database" / "broken.md", "Broken", "\n```bash\necho no name\n```\n",
          extra="  severity: nope\n")
    for command in (["list"], ["search", "Title"]):
        done = opsbook(*command, cwd=project)
        assert done.returncode == 2, command
        assert b"incidents/hostile" in done.stdout, "the readable runbook is listed"
        assert b"broken.md:" in done.stderr and b"could not be read" in done.stderr


def test_a_reader_that_stops_early_is_not_an_error(project: Path) -> None:
    long_body = "".join(f"\n```bash name=\"step-{i}\"\necho {i}\n```\n" for i in range(400))
    write(project / "runbooks" / "long.md", "Long", long_body)
    done = subprocess.run(["bash", "-o", "pipefail", "-c", " ".join([*map(repr, OPSBOOK), "show", "long", "| head -n 3"])],
                          cwd=project, env={**os.environ, "OPSBOOK_ROOT": str(project)}, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr
