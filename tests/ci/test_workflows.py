"""The GitHub Actions workflows (.github/workflows/), checked here where GitHub cannot run them:
valid against GitHub's schema (check-jsonschema), clean under a static security audit (zizmor),
and every `run:` line a make target or an opsbook command that exists and that this suite
exercises, so a workflow cannot drift from the code."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from opsbook.cli.main import main
from tests.support import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
# What the runners give the steps, and what the workflows set in `env:`: the values a run line
# is checked with (an unknown variable is an error: the test would not know what it checks).
RUNNER_VARIABLES = {"GITHUB_OUTPUT": "/tmp/github-output", "GITHUB_STEP_SUMMARY": "/tmp/github-summary"}
EXAMPLES = {"SHARD": "2", "SHARDS": "4", "TARGET": "production", "VERSION": "1.1.0"}
# The commands a make recipe may run besides opsbook: the suite's own tools, and the set-up that
# `make test` (which .ci/run calls) runs first on every CI machine.
RECIPE_TOOLS = {"pytest", "mypy", "mkdocs", "python3", "pip", "touch", "mkdir", "bash"}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `make setup` installs it (pyproject.toml, extra test)")
    return found


def _steps() -> list[tuple[str, str, dict[str, str], str]]:
    """(workflow, job, env, run) for every step with a run: line."""
    found = []
    for path in WORKFLOWS:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job_name, job in document["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    env = {**document.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                    found.append((path.name, job_name, {k: str(v) for k, v in env.items()}, step["run"]))
    return found


def test_there_are_the_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["backup.yml", "deploy.yml", "runbooks.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_valid_against_githubs_workflow_schema(path: Path) -> None:
    done = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_finding_of_the_static_security_audit() -> None:
    done = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", "--persona", "auditor", *map(str, WORKFLOWS)],
                          capture_output=True, text=True, timeout=120)
    findings = [line for line in done.stdout.splitlines() if re.match(r"^(warning|error|help)\[", line)]
    assert done.returncode == 0 and not findings, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_commit() -> None:
    for path in WORKFLOWS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d", line), f"{path.name}: {line.strip()}"


def test_no_secret_is_expanded_into_a_command_line() -> None:
    """Secrets reach a step through env: (masked by GitHub), never as ${{ secrets.X }} in run:."""
    for workflow, job, _, run in _steps():
        assert "${{" not in run, f"{workflow} {job}: expand values through env:, not in run: ({run!r})"


def _commands(run: str, env: dict[str, str]) -> list[list[str]]:
    values = {**RUNNER_VARIABLES, **EXAMPLES}
    unknown = sorted(set(re.findall(r"\$\{?([A-Z_]+)", run)) - set(values))
    assert not unknown, f"run line uses {unknown}: give them an example value in this test"
    text = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: values[m.group(1)], run)
    commands = []
    for line in re.split(r"\n|&&|;", text):
        if line.strip():
            commands.append(shlex.split(line))
    return commands


def _test_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").rglob("*.py")
                     if p.name != Path(__file__).name)


def _check_opsbook(argv: list[str], where: str, tests: str | None = None) -> None:
    """The command parses with today's CLI, and each of its options is used by some test."""
    try:
        context = main.make_context("opsbook", list(argv[:1]), resilient_parsing=True)
        command = main.get_command(context, argv[0])
        assert command is not None, f"{where}: opsbook has no command {argv[0]!r}"
        command.make_context(argv[0], list(argv[1:]))
    except click.BadParameter as exc:
        if "does not exist" not in str(exc):  # a results folder a job downloads first
            raise AssertionError(f"{where}: {exc.format_message()}") from exc
    except click.ClickException as exc:
        raise AssertionError(f"{where}: `opsbook {' '.join(argv)}`: {exc.format_message()}") from exc
    tests = _test_sources() if tests is None else tests
    for word in [argv[0], *(a.split("=")[0] for a in argv[1:] if a.startswith("--"))]:
        assert f'"{word}"' in tests or f"'{word}'" in tests, f"{where}: no test runs `opsbook ... {word}`"


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", text, re.MULTILINE))


def _recipe(target: str, variables: list[str]) -> list[str]:
    done = subprocess.run(["make", "--no-print-directory", "-n", "-B", "-C", str(REPO), target, *variables],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MAKEFLAGS": "", "TARGET_ENV": "x"})
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("#")]


def test_every_run_line_is_a_make_target_or_an_opsbook_command_the_suite_runs() -> None:
    targets = _make_targets()
    checked = 0
    for workflow, job, env, run in _steps():
        for argv in _commands(run, env):
            where = f"{workflow} job {job}: {' '.join(argv)}"
            name = Path(argv[0]).name
            if name == "opsbook":
                assert argv[0] == ".venv/bin/opsbook", f"{where}: call the project's own (.venv/bin/opsbook)"
                _check_opsbook(argv[1:], where)
            elif name == "make":
                wanted = [a for a in argv[1:] if "=" not in a]
                assert len(wanted) == 1 and wanted[0] in targets, f"{where}: not one target of the Makefile"
                for line in _recipe(wanted[0], [a for a in argv[1:] if "=" in a]):
                    words = [w for w in shlex.split(line) if not re.match(r"^\d?>", w)]  # no redirections
                    tool = Path(words[0]).name
                    if tool == "opsbook":
                        _check_opsbook(words[1:], f"{where} (make: {line})")
                    else:
                        assert tool in RECIPE_TOOLS or line.startswith("NO_MKDOCS_2_WARNING=1 "), \
                            f"{where}: its recipe runs {line!r}"
            else:
                raise AssertionError(f"{where}: a run line calls make or .venv/bin/opsbook, nothing else")
            checked += 1
    assert checked >= 15, checked


def test_the_drift_check_catches_an_option_that_does_not_exist() -> None:
    with pytest.raises(AssertionError, match="(?i)no such option"):
        _check_opsbook(["verify", "--shards", "4"], "example")
    with pytest.raises(AssertionError, match="no test runs `opsbook ... --plan`"):
        _check_opsbook(["verify", "--plan", "2"], "example", tests='"verify"')
