"""The shipped targets (opsbook.toml: staging, production) and their env files, as a user meets them.

The declarations are the repository's own; the env file is written into a temporary project that
holds a copy of opsbook.toml (OPSBOOK_ROOT points there), never into the repository. The runs on
`staging` use a tiny runbook and no docker: tests/sandbox/test_staging_target.py runs the deploy
runbook on a real second compose project.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tomllib
from pathlib import Path

import pexpect
import pytest

from opsbook.errors import UsageError
from opsbook.run.targets import example_path, load_target, read_env_file
from opsbook.sandbox.settings import SECRET_ENV_NAMES, SandboxSettings, target_env
from tests.support import REPO
from tests.support.project import Project, events, finished
from tests.support.secrets import TerminalLog, assert_nowhere

SHIPPED = ("staging", "production")
PLACEHOLDER = re.compile(r"CHANGE-ME[A-Za-z0-9-]*")

RUNBOOK = '''
    Looks at staging, then changes it.

    ```bash name="look"
    echo "app at $APP_URL"
    echo "db: $DATABASE_URL"
    printf '%s' "$APP_DB_PASSWORD" | base64
    python3 -c 'import os, urllib.parse as u; print("redis:", u.quote(os.environ["REDIS_URL"], safe=""))'
    ```

    ```bash name="change" destructive=true
    touch changed; echo "changed with $APP_API_TOKEN"
    ```
'''


def shipped() -> dict[str, dict]:
    return tomllib.loads((REPO / "opsbook.toml").read_text())["targets"]


def example_text(name: str) -> str:
    return (REPO / f".env.{name}.example").read_text()


@pytest.fixture()
def staging(tmp_path: Path) -> tuple[Project, dict[str, str]]:
    """A project holding the shipped opsbook.toml and its example, and a .env.staging made from the
    example with a random value for every placeholder (the same placeholder, the same value: the
    password inside DATABASE_URL is APP_DB_PASSWORD's). Returns the project and placeholder → value."""
    shutil.copy(REPO / "opsbook.toml", tmp_path / "opsbook.toml")
    shutil.copy(REPO / ".env.staging.example", tmp_path / ".env.staging.example")
    values: dict[str, str] = {}
    text = PLACEHOLDER.sub(lambda m: values.setdefault(m.group(0), secrets.token_urlsafe(18)), example_text("staging"))
    (tmp_path / ".env.staging").write_text(text)
    return Project(tmp_path), values


# --- the declarations ------------------------------------------------------------------------


def test_staging_and_production_ask_for_confirmation_and_read_an_uncommitted_env_file() -> None:
    targets = shipped()
    assert set(SHIPPED) <= set(targets)
    for name in SHIPPED:
        spec = targets[name]
        assert spec["confirm"] is True, f"{name} must ask for its name before the first step"
        assert spec["env_file"] == f".env.{name}"
        assert example_path(REPO / spec["env_file"]).is_file(), f"{name}: no .env.{name}.example documents it"
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *(f".env.{n}" for n in SHIPPED)], cwd=REPO,
                             capture_output=True, text=True)
    assert ignored.stdout.split() == [f".env.{n}" for n in SHIPPED], "the env files must never be committed"
    examples = subprocess.run(["git", "check-ignore", "--no-index", *(f".env.{n}.example" for n in SHIPPED)],
                              cwd=REPO, capture_output=True, text=True)
    assert examples.stdout == "", "the examples must be committed"


def test_every_credential_a_target_can_hold_is_masked() -> None:
    for name, spec in shipped().items():
        declared = set(spec["secrets"])
        # A staging made of a sandbox project (the test suite's) holds the sandbox's variables.
        assert SECRET_ENV_NAMES <= declared, f"{name}: not secret: {sorted(SECRET_ENV_NAMES - declared)}"
        documented = read_env_file(REPO / f".env.{name}.example")
        credentials = {k for k, v in documented.items()
                       if re.search(r"PASSWORD|TOKEN|SECRET|AUTH", k) or re.search(r"://[^/@\s]+:[^/@\s]+@", v)}
        assert credentials <= declared, f"{name}: credentials not secret: {sorted(credentials - declared)}"


def test_the_examples_hold_placeholders_and_document_every_variable_the_runbooks_read() -> None:
    sandbox = target_env(SandboxSettings.generate("x", 20000), compose_file=Path("compose.yaml"),
                         compose_command="docker compose", sandbox_dir=Path("sandbox"))
    referenced = set()  # read by a runbook that never sets it itself (WORKER_VERSION=... is a step's own)
    for path in (REPO / "runbooks").rglob("*.md"):
        text = path.read_text()
        referenced |= set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text)) - set(re.findall(r"\b([A-Z_][A-Z0-9_]*)=", text))
    # What a runbook reads from its target: the variables the sandbox target provides, less the
    # sandbox's own (its folder, its default version, its notification sink).
    from_target = {n for n in referenced & set(sandbox)
                   if not n.startswith(("OPSBOOK_", "SANDBOX_")) and "NOTIFICATION_SINK" not in n}
    for name in SHIPPED:
        documented = read_env_file(REPO / f".env.{name}.example")
        assert from_target <= set(documented), f".env.{name}.example lacks {sorted(from_target - set(documented))}"
        for key, value in documented.items():
            assert value, f".env.{name}.example: {key} has no placeholder value"
            if key in shipped()[name]["secrets"]:
                assert "CHANGE-ME" in value, f".env.{name}.example: {key} must be a placeholder, not {value!r}"
        commented = False  # each variable's paragraph (up to a blank line) says what it is
        for line in example_text(name).splitlines():
            if not line.strip():
                commented = False
            elif line.startswith("#"):
                commented = True
            else:
                assert commented, f".env.{name}.example: {line.split('=')[0]} has no comment"


def test_a_misspelt_key_is_an_error_not_an_unmasked_secret(tmp_path: Path) -> None:
    (tmp_path / "opsbook.toml").write_text('[targets.staging]\nsecret = ["DATABASE_URL"]\n')
    with pytest.raises(UsageError, match=r"\[targets.staging\]: unknown key `secret` \(known: confirm, env_file, secrets"):
        load_target("staging", tmp_path)
    (tmp_path / "opsbook.toml").write_text('[targets.staging]\nconfirm = "yes"\n')
    with pytest.raises(UsageError, match="`confirm` must be a boolean"):
        load_target("staging", tmp_path)


def test_env_file_lines(tmp_path: Path) -> None:
    path = tmp_path / ".env.staging"
    path.write_text("# comment\n\nexport A=1\nB='two words'\nC=\"x=y\"\n  D = spaced  \n")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "x=y", "D": "spaced"}
    path.write_text("A=1\nnot a line\n")
    with pytest.raises(UsageError, match=r"\.env\.staging:2: expected KEY=value"):
        read_env_file(path)


# --- runs on staging -------------------------------------------------------------------------


def test_a_missing_env_file_names_it_and_says_to_copy_the_example(staging: tuple[Project, dict[str, str]]) -> None:
    project, _ = staging
    (project.root / ".env.staging").unlink()
    name = project.runbook("look", RUNBOOK)
    done = project.opsbook("run", name, "--target", "staging", "--yes")
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert f"env file {project.root / '.env.staging'} of target staging does not exist" in message
    assert "copy .env.staging.example to .env.staging" in message and "never commit it" in message
    (project.root / ".env.staging.example").unlink()
    done = project.opsbook("run", name, "--target", "staging", "--yes")
    assert done.returncode == 2 and "create it with a KEY=value line" in " ".join(done.stderr.split())


def test_an_env_file_lacking_a_documented_variable_is_named_before_the_run(
        staging: tuple[Project, dict[str, str]]) -> None:
    project, _ = staging
    env_file = project.root / ".env.staging"
    env_file.write_text("\n".join(line for line in env_file.read_text().splitlines()
                                  if not line.startswith(("WORKER_URL=", "NODE_EXPORTER_URL="))) + "\nAPP_URL=\n")
    target = load_target("staging", project.root)
    assert target.warning == (".env.staging lacks APP_URL, WORKER_URL, NODE_EXPORTER_URL, which .env.staging.example "
                              "lists: steps that read them will fail")
    env_file.write_text(example_text("staging"))  # every variable, placeholders and all
    assert load_target("staging", project.root).warning == ""


pty = pytest.mark.kernel


@pty
def test_staging_without_a_terminal_fails_closed_before_the_first_step(staging: tuple[Project, dict[str, str]]) -> None:
    project, _ = staging
    name = project.runbook("look", RUNBOOK)
    rec = project.record()
    asked = project.opsbook("run", name, "--target", "staging", "--record-dir", str(rec))
    assert asked.returncode == 2 and "no terminal to ask on" in asked.stderr
    yes = project.opsbook("run", name, "--target", "staging", "--yes", "--record-dir", str(rec))
    assert yes.returncode == 2
    assert "target staging asks for confirmation and there is no terminal to give it" in yes.stderr
    assert not (project.root / "changed").exists()
    assert not (rec / "events.jsonl").exists() or not [e for e in events(rec) if e["event"] == "step_started"]


@pty
def test_a_pipeline_confirms_with_the_targets_name_and_the_record_says_so(
        staging: tuple[Project, dict[str, str]]) -> None:
    project, values = staging
    name = project.runbook("look", RUNBOOK)
    wrong = project.opsbook("run", name, "--target", "staging", "--yes", "--confirm-target", "production",
                            "--record-dir", str(project.record("wrong")))
    assert wrong.returncode == 2, wrong.stderr
    assert "--confirm-target 'production' is not the target's name (staging): nothing ran" in wrong.stderr
    assert not (project.root / "changed").exists()

    rec = project.record("ci")
    summary = project.root / "step-summary.md"
    summary.write_text("an earlier step's summary\n")
    given = project.opsbook("run", name, "--target", "staging", "--yes", "--confirm-target", "staging",
                            "--record-dir", str(rec), "--summary", str(summary))
    assert given.returncode == 0, given.stdout + given.stderr
    assert (project.root / "changed").exists(), "the destructive step ran, confirmed by the name given"
    assert finished(rec)["change"]["status"] == "passed"
    transcript = (rec / "transcript.md").read_text()
    assert "target staging confirmed with --confirm-target, not typed at a terminal" in transcript
    # The pipeline's page: appended to what was there, the steps as a table, the transcript fenced, masked.
    page = summary.read_text()
    assert page.startswith("an earlier step's summary\n### opsbook run look on staging: passed")
    assert "| look | passed |" in page and "| change | passed |" in page
    assert "```text\n" in page and "changed with ***" in page
    assert_nowhere(values, {"summary": page})


def spawn(project: Project, *args: str) -> pexpect.spawn:
    command = project.command(*args)
    return pexpect.spawn(command[0], command[1:], cwd=str(project.root), env=project.env(), encoding="utf-8",
                         timeout=60, dimensions=(40, 200))


@pty
def test_staging_at_a_terminal_wants_its_name_typed_and_again_for_a_destructive_step(
        staging: tuple[Project, dict[str, str]]) -> None:
    project, values = staging
    name = project.runbook("look", RUNBOOK)

    wrong_target = spawn(project, "run", name, "--target", "staging", "--yes", "--record-dir", str(project.record("a")))
    wrong_target.expect("Target staging asks for confirmation\\.\\S* Type the target name \\(staging\\) to go on:")
    wrong_target.sendline("production")
    wrong_target.expect("target staging not confirmed; nothing ran")
    wrong_target.expect(pexpect.EOF)
    wrong_target.close()
    assert wrong_target.exitstatus == 2

    # --yes runs the steps without asking, but not the destructive one: its name is asked again.
    refused = spawn(project, "run", name, "--target", "staging", "--yes", "--record-dir", str(project.record("b")))
    refused.expect("Type the target name \\(staging\\)")
    refused.sendline("staging")
    refused.expect("Step change is destructive\\.\\S* Type the target name \\(staging\\) to go on:")
    refused.sendline("stagign")
    refused.expect(pexpect.EOF)
    refused.close()
    assert refused.exitstatus == 1
    assert not (project.root / "changed").exists()
    result = finished(project.record("b"))
    assert result["look"]["status"] == "passed"
    assert result["change"]["status"] == "failed" and "the target name was not typed" in result["change"]["reason"]

    rec = project.record("c")
    confirmed = spawn(project, "run", name, "--target", "staging", "--yes", "--record-dir", str(rec))
    terminal: list[str] = []
    confirmed.logfile_read = TerminalLog(terminal)
    confirmed.expect("Type the target name \\(staging\\)")
    confirmed.sendline("staging")
    confirmed.expect("Step change is destructive")
    confirmed.sendline("staging")
    confirmed.expect(pexpect.EOF)
    confirmed.close()
    assert confirmed.exitstatus == 0, "".join(terminal)
    assert (project.root / "changed").exists()
    transcript = (rec / "transcript.md").read_text()
    assert "db: ***" in transcript and "changed with ***" in transcript

    texts = {"terminal": "".join(terminal)}
    for record in (project.record("b"), rec):
        texts.update({str(p): p.read_text() for p in record.rglob("*") if p.is_file()})
    assert_nowhere(values, texts)

