"""Warnings about runbooks that parse but probably do not do what their author meant.

Errors stop a runbook from running (parse raises them); these do not, but each is a step that
will not run, or will not do what it says: commands left in prose fences, `$ ` prompts pasted
into a step, steps that are only comments, a runbook with nothing to run, a link to a runbook
(or any Markdown file) that is not there, and a step that uses a variable only an earlier step
sets without declaring it in `needs=` (started there with `--from` or `--step`, it would run
with the variable unset).
"""

from __future__ import annotations

import re
from pathlib import Path

from opsbook.errors import FormatProblem
from opsbook.kernel.protocol import STEP_ID_VAR
from opsbook.kernel.state import SPECIAL_VARIABLES
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import Fence, scan_fences
from opsbook.runbook.variables import step_variables
from opsbook.text import rewrite_link_targets

SHELL_PROSE_LANGUAGES = frozenset({"shell", "sh-session", "shell-session", "bash-session", "zsh", "ksh",
                                   "fish", "terminal", "shellsession"})
"""Fence languages that hold commands but are prose for jupytext, so they never run."""

_PROMPT = re.compile(r"^\s*\$ \S")

TARGET_VARIABLES = frozenset({
    # what `opsbook sandbox env` gives every step (tests/runbook/test_lint.py holds this to the sandbox's list)
    "ALERTMANAGER_URL", "APP_ADMIN_TOKEN", "BACKUP_STORE", "BACKUP_STORE_DIR", "BACKUP_STORE_KNOWN_HOSTS",
    "BACKUP_STORE_PORT", "BACKUP_STORE_SSH_KEY", "APP_API_TOKEN", "APP_BLUE_URL", "APP_DB_PASSWORD", "APP_GREEN_URL",
    "APP_GREEN_VERSION", "APP_URL", "APP_VERSION", "COMPOSE", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "DATABASE_ADMIN_URL",
    "DATABASE_URL", "NODE_EXPORTER_URL", "NOTIFICATION_SINK_URL", "OPSBOOK_DEFAULT_APP_VERSION",
    "OPSBOOK_SANDBOX_DIR", "PAGER_TOKEN", "PGBOUNCER_ADMIN_URL", "PGBOUNCER_EXPORTER_URL", "PGBOUNCER_URL", "PGDATABASE",
    "PGHOST", "PGPASSWORD", "PGPORT", "PGUSER",
    "POSTGRES_EXPORTER_URL", "POSTGRES_PASSWORD", "PROMETHEUS_URL", "PROXY_ADMIN_URL", "RECOVERY_DATABASE_URL",
    "REDISCLI_AUTH",
    "REDIS_EXPORTER_URL", "REDIS_PASSWORD", "REDIS_URL", "SLACK_WEBHOOK_TOKEN", "SLACK_WEBHOOK_URL",
    "SMTP_AUTH_PASSWORD", "WORKER_URL", "WORKER_VERSION",
    # what opsbook itself sets for every step
    "OPSBOOK_TARGET", "OPSBOOK_RUNBOOK", STEP_ID_VAR,
    # other targets' usual variables (docs/cli.md, targets)
    "DOCKER_HOST", "KUBECONFIG", "REDIS_HOST", "REDIS_PORT",
})
"""Variables a step finds in its environment whatever step it starts at (`SANDBOX_*_PORT` too)."""

SHELL_VARIABLES = SPECIAL_VARIABLES | frozenset({
    "HOME", "PATH", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PWD", "OLDPWD",
    "IFS", "PS1", "PS2", "PS4", "REPLY", "COLUMNS", "LINES", "EDITOR", "PAGER", "CI", "HOSTNAME", "DISPLAY",
    "XDG_RUNTIME_DIR", "SSH_AUTH_SOCK", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
    "NO_PROXY",
})
"""Variables every shell has, or bash sets itself."""


def _in_environment(name: str) -> bool:
    return (name in TARGET_VARIABLES or name in SHELL_VARIABLES or name.startswith("LC_")
            or (name.startswith("SANDBOX_") and name.endswith("_PORT")))


def lint_warnings(text: str, runbook: Runbook) -> list[FormatProblem]:
    """Everything worth a warning in `runbook`, whose file holds `text`, in file order."""
    path = runbook.path
    warnings: list[FormatProblem] = []
    lines = text.lstrip("\ufeff").splitlines()
    step_lines = {step.line for step in runbook.steps}
    fences = scan_fences(lines, 0)
    for fence in fences:
        if fence.line in step_lines:
            warnings.extend(_invalid_escapes(fence.info, fence.line, path))
            continue
        language = fence.language.lower()
        if not language and fence.info.startswith("{code-cell"):
            warnings.append(FormatProblem(path, fence.line, "MyST code cell: opsbook reads only Markdown fences, "
                                          "so this never runs",
                                          "convert the file with `jupytext --to md` (```bash fences)"))
        elif language in SHELL_PROSE_LANGUAGES or (not language and _has_prompts(fence.body)):
            shown = f"```{fence.language}" if fence.language else "a fence with no language"
            warnings.append(FormatProblem(path, fence.line, f"{shown} holds commands but is prose: it never runs",
                                          "write ```bash to make it a step, or ```console to keep it an example"))
    for step in runbook.steps:
        body = [line for line in step.source.splitlines() if line.strip()]
        if body and all(line.lstrip().startswith("#") for line in body):
            warnings.append(FormatProblem(path, step.line, f"step `{step.name}` is only comments: it does nothing "
                                          "and always passes", "write the command, or make it prose"))
        elif _has_prompts(step.source):
            warnings.append(FormatProblem(path, step.line, f"step `{step.name}` has `$ ` prompts: bash runs `$` as a "
                                          "command, and pasted output as commands too",
                                          "remove the prompts; put output you expect in a ```text block or an "
                                          'output="..." check'))
    if not runbook.steps:
        warnings.append(FormatProblem(path, 1, "no steps: nothing in this runbook runs",
                                      "steps are ```bash fences with a name, e.g. ```bash name=\"check-health\""))
    warnings.extend(_dangling_links(lines, fences, path))
    warnings.extend(undeclared_needs(runbook))
    return sorted(warnings, key=lambda w: w.line)


# A backslash in a quoted option value is a Python/JSON escape: `\\d` is a backslash and a d,
# `\d` is read the same today but is an invalid escape Python warns about and will refuse.
_INVALID_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\([^\\'\"abfnrtvx0-7NuU\n])")


def _invalid_escapes(info: str, line: int, path: Path) -> list[FormatProblem]:
    found = _INVALID_ESCAPE.search(info)
    if not found:
        return []
    escape = "\\" + found.group(1)
    return [FormatProblem(path, line, f"`{escape}` in a quoted option is not a valid escape",
                          f"write `\\{escape}` (a backslash in a quoted value is written twice)")]


def undeclared_needs(runbook: Runbook) -> list[FormatProblem]:
    """Steps that read a variable only an earlier step sets, not declared in their `needs=`: run
    with `--from` or `--step`, such a step would see the variable unset. Params, the target's
    variables and the shell's own are always there; a step that sets a variable before using it,
    or gives it a default (`${NAME:-x}`), needs nothing."""
    params = {p.name for p in runbook.params}
    set_by: dict[str, list[str]] = {}  # variable → the steps so far that set it
    problems = []
    for step in runbook.steps:
        scan = step_variables(step.source)
        missing: dict[str, int] = {}  # variable → line of the file where the step reads it
        for use in scan.needs_from_before():
            if use.name in set_by and use.name not in params and use.name not in step.options.needs \
                    and not _in_environment(use.name):
                missing.setdefault(use.name, step.line + use.line)
        if missing:
            uses = "; ".join(f"${name} (line {line}, set by {_step_list(set_by[name])})"
                             for name, line in missing.items())
            declared = ", ".join(f'"{name}"' for name in (*step.options.needs, *missing))
            problems.append(FormatProblem(
                runbook.path, step.line,
                f"step `{step.name}` uses {uses}, and does not say it needs "
                f"{'it' if len(missing) == 1 else 'them'}: started with --from or --step it runs with "
                f"{'it' if len(missing) == 1 else 'them'} unset",
                f"add needs=[{declared}] to the fence: `opsbook run --from {step.name}` then asks for "
                f"{'it' if len(missing) == 1 else 'them'} (--param NAME=VALUE or --state-from RECORD_DIR)"))
        for name in scan.sets:
            set_by.setdefault(name, []).append(step.name)
    return problems


def _step_list(names: list[str]) -> str:
    shown = [f"`{n}`" for n in names]
    return "step " + shown[0] if len(shown) == 1 else "steps " + ", ".join(shown)


def _dangling_links(lines: list[str], fences: list[Fence], path: Path) -> list[FormatProblem]:
    """Links in the prose to a `.md` file, relative to the runbook, that does not exist: "follow the
    database runbook" must lead somewhere. Links in fences and code spans are text, not links."""
    fenced = {n for fence in fences for n in range(fence.line, fence.end + 1)}
    problems = []
    for number, line in enumerate(lines, 1):
        if number in fenced or "](" not in line and "]:" not in line:
            continue
        targets: list[str] = []

        def collect(target: str) -> str:
            targets.append(target)
            return target

        rewrite_link_targets(line, collect)
        for target in targets:
            file = target.split("#", 1)[0]
            if not file.endswith(".md") or "://" in file or file.startswith(("/", "mailto:")):
                continue
            if not (path.parent / file).is_file():
                problems.append(FormatProblem(path, number, f"link to {file}: there is no such file",
                                              "links are relative to this file (`../database/backup-restore.md`); "
                                              "fix the path, or write the runbook it names"))
    return problems


def _has_prompts(body: str) -> bool:
    return any(_PROMPT.match(line) for line in body.splitlines())
