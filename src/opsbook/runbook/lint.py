"""Warnings about runbooks that parse but probably do not do what their author meant.

Errors stop a runbook from running (parse raises them); these do not, but each is a step that
will not run, or will not do what it says: commands left in prose fences, `$ ` prompts pasted
into a step, steps that are only comments, a runbook with nothing to run, a link to a runbook
(or any Markdown file) that is not there.
"""

from __future__ import annotations

import re
from pathlib import Path

from opsbook.errors import FormatProblem
from opsbook.runbook.model import Runbook
from opsbook.runbook.parse import Fence, scan_fences
from opsbook.text import rewrite_link_targets

SHELL_PROSE_LANGUAGES = frozenset({"shell", "sh-session", "shell-session", "bash-session", "zsh", "ksh",
                                   "fish", "terminal", "shellsession"})
"""Fence languages that hold commands but are prose for jupytext, so they never run."""

_PROMPT = re.compile(r"^\s*\$ \S")


def lint_warnings(text: str, runbook: Runbook) -> list[FormatProblem]:
    """Everything worth a warning in `runbook`, whose file holds `text`, in file order."""
    path = runbook.path
    warnings: list[FormatProblem] = []
    lines = text.lstrip("\ufeff").splitlines()
    step_lines = {step.line for step in runbook.steps}
    fences = scan_fences(lines, 0)
    for fence in fences:
        if fence.line in step_lines:
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
    return sorted(warnings, key=lambda w: w.line)


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
