"""`needs=`, `--from`/`--step` and `--state-from` end to end: `opsbook run` with a real kernel."""

from __future__ import annotations

import json

import pytest

from opsbook.record.writer import load_record
from opsbook.run.runner import recorded_state
from tests.support.project import Project, events, finished

pytestmark = pytest.mark.kernel

DEPLOY = '''
```bash name="pre-deploy-checks"
export PREVIOUS_VERSION=1.0.0
DB_COPY="postgres://app:$LOCAL_SECRET@db/app"
echo "current version: $PREVIOUS_VERSION"
```

```bash name="roll-out"
test -f rolled-out
```

```bash name="rollback-if-unhealthy" needs=["PREVIOUS_VERSION"]
echo "rolling back to $PREVIOUS_VERSION"
bash -c 'echo "child sees $PREVIOUS_VERSION"'
```
'''


def run(project: Project, name: str, *args: str):  # type: ignore[no-untyped-def]
    return project.opsbook("run", name, "--target", "local", "--yes", *args)


def test_from_without_the_state_a_step_needs_refuses_before_running_anything(project: Project) -> None:
    name = project.runbook("deploy", DEPLOY)
    rec = project.record()
    done = run(project, name, "--from", "rollback-if-unhealthy", "--record-dir", str(rec))
    assert done.returncode == 2, done.stdout + done.stderr
    error = " ".join(done.stderr.split())
    assert "--from rollback-if-unhealthy starts at step 3" in error
    assert "$PREVIOUS_VERSION, needed by step `rollback-if-unhealthy` (runbooks/deploy.md:" in error
    assert "set by step `pre-deploy-checks`, which does not run before it" in error
    assert "--param PREVIOUS_VERSION=VALUE" in error and "--state-from RECORD_DIR" in error
    assert not rec.exists(), "nothing ran, so no record was started"
    only = run(project, name, "--step", "rollback-if-unhealthy")
    assert only.returncode == 2 and "--step rollback-if-unhealthy runs only that step" in " ".join(only.stderr.split())


def test_from_with_the_variable_as_a_param_runs(project: Project) -> None:
    name = project.runbook("deploy", DEPLOY)
    rec = project.record()
    done = run(project, name, "--from", "rollback-if-unhealthy", "--param", "PREVIOUS_VERSION=0.9.0",
               "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout + done.stderr
    assert finished(rec)["rollback-if-unhealthy"]["stdout"] == "rolling back to 0.9.0\nchild sees 0.9.0\n"
    unknown = run(project, name, "--param", "NOT_NEEDED=1")
    assert unknown.returncode == 2 and "variables steps need: PREVIOUS_VERSION" in unknown.stderr


def test_state_from_a_failed_run_gives_the_step_the_variable_and_never_a_secret(project: Project) -> None:
    name = project.runbook("deploy", DEPLOY)
    first = project.record("first")
    failed = run(project, name, "--record-dir", str(first))
    assert failed.returncode == 1, "roll-out fails: the earlier run stopped at a failing step"
    secret = "hunter2-local-secret"
    for path in first.iterdir():
        assert secret not in path.read_text(), f"{path.name} holds the secret in clear"
    states = [e["state"] for e in events(first) if e["event"] == "step_finished" and e.get("state")]
    assert len(states) == 2, "both steps that ran, the passed one and the failed one, leave their state"
    assert states[0]["values"] == [["PREVIOUS_VERSION", "1.0.0"]] and states[1]["values"] == [], \
        "a value is stored when it changes, not again at every step"
    state = recorded_state(load_record(first))
    assert state is not None and state.values == (("PREVIOUS_VERSION", "1.0.0"),)
    assert state.exported == ("PREVIOUS_VERSION",) and state.withheld == ("DB_COPY",)

    second = project.record("second")
    done = run(project, name, "--from", "rollback-if-unhealthy", "--state-from", str(first),
               "--record-dir", str(second))
    assert done.returncode == 0, done.stdout + done.stderr
    assert finished(second)["rollback-if-unhealthy"]["stdout"] == "rolling back to 1.0.0\nchild sees 1.0.0\n"
    notes = [e["notes"] for e in events(second) if e["event"] == "run_started"][0]
    assert any("--state-from" in n and "$PREVIOUS_VERSION" in n for n in notes), notes
    given = run(project, name, "--from", "rollback-if-unhealthy", "--state-from", str(first),
                "--param", "PREVIOUS_VERSION=0.8.0")
    assert given.returncode == 0 and "rolling back to 0.8.0" in given.stdout, "--param wins over the record"


def test_a_needed_secret_is_never_taken_from_a_record_and_must_be_given(project: Project) -> None:
    name = project.runbook("secretive", '''
        ```bash name="connect"
        DB_COPY="postgres://app:$LOCAL_SECRET@db/app"
        ```

        ```bash name="use" needs=["DB_COPY"]
        echo "using ${#DB_COPY} characters"
        ```
    ''')
    first = project.record("first")
    assert run(project, name, "--step", "connect", "--record-dir", str(first)).returncode == 0
    refused = run(project, name, "--from", "use", "--state-from", str(first))
    assert refused.returncode == 2
    error = " ".join(refused.stderr.split())
    assert f"its value in {first} is a secret, which a record never keeps: give it with --param DB_COPY=VALUE" in error
    rec = project.record("given")
    given = run(project, name, "--from", "use", "--state-from", str(first), "--param",
                "DB_COPY=postgres://app:given-secret-value@db", "--record-dir", str(rec))
    assert given.returncode == 0, given.stdout + given.stderr
    assert "given-secret-value" not in (rec / "events.jsonl").read_text(), \
        "a value given for a variable the record withheld as secret is masked like a secret"


def test_state_from_needs_a_record_and_not_resume(project: Project) -> None:
    name = project.runbook("deploy", DEPLOY)
    missing = run(project, name, "--state-from", str(project.root / "nowhere"))
    assert missing.returncode == 2 and "no run record there" in missing.stderr
    rec = project.record()
    run(project, name, "--record-dir", str(rec))
    both = run(project, name, "--resume", str(rec), "--state-from", str(rec))
    assert both.returncode == 2 and "leave out --state-from" in both.stderr


def test_resuming_after_the_step_that_sets_a_variable_finds_it_in_the_saved_state(project: Project) -> None:
    name = project.runbook("deploy", DEPLOY)
    rec = project.record()
    assert run(project, name, "--record-dir", str(rec)).returncode == 1
    (project.root / "rolled-out").write_text("")
    resumed = run(project, name, "--resume", str(rec))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert finished(rec)["rollback-if-unhealthy"]["stdout"].startswith("rolling back to 1.0.0")
    assert json.loads((rec / "events.jsonl").read_text().splitlines()[-1])["event"] == "run_finished"


def test_the_record_folds_changes_and_unsets_into_the_last_state(project: Project) -> None:
    name = project.runbook("changes", '''
        ```bash name="one"
        A=1; B=2; C=3
        ```

        ```bash name="two"
        A=10; unset B
        ```

        ```bash name="three" needs=["A", "C"]
        echo "$A ${B-unset} $C"
        ```
    ''')
    first = project.record("first")
    assert run(project, name, "--step", "one", "--record-dir", str(first)).returncode == 0
    second = project.record("second")
    assert run(project, name, "--step", "two", "--state-from", str(first), "--record-dir", str(second)).returncode == 0
    state = recorded_state(load_record(second))
    assert state is not None and state.values == (("A", "10"), ("C", "3")), "carried in, changed, unset"
    third = project.record("third")
    assert run(project, name, "--from", "three", "--state-from", str(second), "--record-dir", str(third)).returncode == 0
    assert finished(third)["three"]["stdout"] == "10 unset 3\n"
