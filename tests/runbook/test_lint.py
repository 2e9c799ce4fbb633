"""Runbooks that parse but would not do what their author meant: lint warns; what jupytext would read
differently is an error; folders, links and non-runbook files are walked the way a user expects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsbook.errors import RunbookFormatError
from opsbook.runbook.discover import find_runbooks, load_runbook, resolve_runbook, runbook_files, runbooks_dir
from opsbook.runbook.lint import lint_warnings
from tests.support.runbooks import HEADER

OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def runbook(path: Path, body: str, extra: str = "", title: str = "Test") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(title=title, extra=extra) + body, encoding="utf-8")
    return path


def warnings_of(path: Path) -> list[str]:
    return [w.message for w in lint_warnings(path.read_text(encoding="utf-8-sig"), load_runbook(path))]


def test_commands_in_shell_prose_fences_are_warned_about(tmp_path: Path) -> None:
    path = runbook(tmp_path / "a.md", '\n```shell\nkubectl get pods\n```\n\n```\n$ redis-cli ping\nPONG\n```\n\n'
                   '```console\n$ an example that must not run\n```\n\n```bash name="real"\ntrue\n```\n')
    found = warnings_of(path)
    assert any("```shell holds commands but is prose" in w for w in found)
    assert any("a fence with no language holds commands" in w for w in found)
    assert not any("console" in w for w in found), "```console is the documented way to keep an example"


def test_prompts_and_comment_only_steps_and_no_steps_are_warned_about(tmp_path: Path) -> None:
    path = runbook(tmp_path / "b.md", '\n```bash name="pasted"\n$ redis-cli llen jobs\n(integer) 12\n```\n\n'
                   '```bash name="todo"\n# restart the worker here\n```\n')
    found = warnings_of(path)
    assert any("step `pasted` has `$ ` prompts" in w for w in found)
    assert any("step `todo` is only comments" in w for w in found)
    empty = runbook(tmp_path / "c.md", "\nJust prose.\n")
    assert any("no steps" in w for w in warnings_of(empty))


def test_an_invalid_escape_in_an_option_is_warned_about_with_its_line(tmp_path: Path) -> None:
    path = runbook(tmp_path / "esc.md", '\n```bash name="pool" output="^pool \\w+: \\d"\necho pool a: 1\n```\n\n'
                   '```bash name="fine" output="^ok \\\\d+\\n"\necho ok 1\n```\n')
    found = lint_warnings(path.read_text(encoding="utf-8"), load_runbook(path))
    assert [(w.line, w.message) for w in found] == [(12, "`\\w` in a quoted option is not a valid escape")]
    assert "\\\\w" in found[0].hint


def test_a_myst_notebook_is_named_as_such(tmp_path: Path) -> None:
    path = runbook(tmp_path / "myst.md", "\n```{code-cell} bash\necho hi\n```\n")
    found = warnings_of(path)
    assert any("MyST code cell" in w for w in found) and any("no steps" in w for w in found)


def test_a_link_to_a_runbook_that_is_not_there_is_warned_about_with_its_line(tmp_path: Path) -> None:
    runbook(tmp_path / "runbooks" / "database" / "db.md", '\n```bash name="x"\ntrue\n```\n')
    path = runbook(tmp_path / "runbooks" / "incidents" / "app.md",
                   "\nFollow the [database runbook](../database/db.md#step-x), not [this one](../database/gone.md).\n"
                   "A `[code span](missing.md)` is text.\n\n```bash name=\"x\"\necho '[in a step](missing.md)'\n```\n\n"
                   "[ref]: ../nowhere/ref.md\n[site]: https://example.com/page.md\n")
    found = lint_warnings(path.read_text(encoding="utf-8"), load_runbook(path))
    assert [(w.line, w.message) for w in found] == [
        (12, "link to ../database/gone.md: there is no such file"),
        (19, "link to ../nowhere/ref.md: there is no such file"),
    ]
    assert "relative to this file" in found[0].hint


def test_a_clean_runbook_has_no_warning(tmp_path: Path) -> None:
    path = runbook(tmp_path / "ok.md", '\n```bash name="check"\ncurl -fsS "$APP_URL/api/health"\n```\n')
    assert warnings_of(path) == []


def test_lint_prints_warnings_and_fails_on_them_only_with_strict(tmp_path: Path) -> None:
    runbook(tmp_path / "runbooks" / "w.md", '\n```bash name="todo"\n# nothing yet\n```\n')
    env = {**os.environ, "OPSBOOK_ROOT": str(tmp_path)}
    plain = subprocess.run([*OPSBOOK, "lint"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and "w.md:" in plain.stderr and "warning: step `todo` is only comments" in plain.stderr
    strict = subprocess.run([*OPSBOOK, "lint", "--strict"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert strict.returncode == 1


def test_a_capitalised_language_is_an_error_because_jupytext_would_not_run_it(tmp_path: Path) -> None:
    path = runbook(tmp_path / "cap.md", '\n```Bash name="check"\ntrue\n```\n')
    with pytest.raises(RunbookFormatError, match=r"languages are lower case") as caught:
        load_runbook(path)
    assert caught.value.line == 12


def test_an_alert_name_prometheus_would_refuse_is_an_error(tmp_path: Path) -> None:
    path = runbook(tmp_path / "alert.md", '\n```bash name="check"\ntrue\n```\n',
                   extra='  alerts: [Good_one, "bad name\\"><script>"]\n')
    with pytest.raises(RunbookFormatError, match="is not a Prometheus alert name"):
        load_runbook(path)


def test_a_byte_order_mark_before_the_header_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff".encode() + (HEADER.format(title="BOM", extra="") + '\n```bash name="a"\ntrue\n```\n').encode())
    assert load_runbook(path).title == "BOM"


def test_symlinked_folders_are_followed_once_and_loops_are_named(tmp_path: Path) -> None:
    books = tmp_path / "runbooks"
    runbook(tmp_path / "shared" / "db.md", '\n```bash name="a"\ntrue\n```\n')
    books.mkdir()
    (books / "database").symlink_to(tmp_path / "shared", target_is_directory=True)
    (books / "database" / "again").symlink_to(books, target_is_directory=True)  # a loop back up
    problems: list = []
    files = runbook_files([books], problems=problems)
    assert [f.relative_to(books).as_posix() for f in files] == ["database/db.md"]
    assert len(problems) == 1 and "already searched" in problems[0].message and "again" in str(problems[0].path)


def test_files_that_are_not_runbooks_are_left_out_and_the_project_says_which(tmp_path: Path) -> None:
    books = tmp_path / "runbooks"
    runbook(books / "incidents" / "real.md", '\n```bash name="a"\ntrue\n```\n')
    (books / "README.md").write_text("# About these runbooks\n")
    (books / "incidents" / "_index.md").write_text("---\ntitle: Incidents\n---\n")
    (books / "drafts").mkdir()
    (books / "drafts" / "wip.md").write_text("half written\n")
    default = find_runbooks(books)
    assert [rb.id for rb in default.runbooks] == ["incidents/real"]
    assert {p.path.name for p in default.problems} == {"wip.md"}
    configured = find_runbooks(books, ["README.md", "_index.md", "drafts/*"])
    assert [rb.id for rb in configured.runbooks] == ["incidents/real"] and not configured.problems


def test_the_runbooks_folder_comes_from_the_project_then_the_site(tmp_path: Path) -> None:
    assert runbooks_dir(tmp_path) == tmp_path / "runbooks"
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nextra:\n  opsbook:\n    runbooks_dir: playbooks\n"
                                         "markdown_extensions:\n  - pymdownx.emoji:\n"
                                         "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n")
    assert runbooks_dir(tmp_path) == tmp_path / "playbooks"
    (tmp_path / "opsbook.toml").write_text('runbooks_dir = "ops/runbooks"\n')
    assert runbooks_dir(tmp_path) == tmp_path / "ops" / "runbooks"
    runbook(tmp_path / "ops" / "runbooks" / "db" / "restore.md", '\n```bash name="a"\ntrue\n```\n')
    assert resolve_runbook("db/restore", tmp_path).id == "db/restore"
