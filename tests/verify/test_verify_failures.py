"""Verification must be able to fail: each broken runbook fails naming the step and what to fix.

Real kernels run the steps; the sandbox is the file-backed stand-in from conftest.py, so
these tests need no docker. tests/verify/test_real_sandbox.py covers the compose sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.file_sandbox import FileSandbox
from tests.support.runbooks import write_runbook
from opsbook.errors import RunbookFormatError
from opsbook.run.events import StepStatus
from opsbook.runbook.discover import load_runbook
from opsbook.verify.verifier import Verifier, VerifySettings
from opsbook.verify.result import RunbookVerification

pytestmark = pytest.mark.kernel

INCIDENT = """
scenario: worker-stuck
alerts: [WorkerQueueBackedUp]
timeout: 20
"""

DIAGNOSE_OK = """
```bash name="confirm-stuck" role="diagnose" output="^stuck: yes$"
if [ -e "$SANDBOX_STATE/fault-worker-stuck" ]; then echo "stuck: yes"; else echo "stuck: no"; fi
```
"""

FIX_ALL = """
```bash name="restart-worker" role="remediate"
rm -f "$SANDBOX_STATE/fault-worker-stuck" "$SANDBOX_STATE/alert-WorkerQueueBackedUp"
echo "restarted"
```
"""


def verify(tmp_path: Path, sandbox: FileSandbox, header: str, body: str, rid: str = "incidents/t") -> RunbookVerification:
    path = write_runbook(tmp_path, rid, header, body)
    runbook = load_runbook(path, tmp_path / "runbooks")
    settings = VerifySettings(root=tmp_path, out=tmp_path / "out", alert_fire_timeout=1, alert_resolve_timeout=1,
                              healthy_timeout=1, symptom_timeout=1)
    return Verifier(sandbox, settings).verify(runbook)


def test_a_good_incident_runbook_passes(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = DIAGNOSE_OK + FIX_ALL + """
```bash name="page-owner" ci="skip: pages a human"
echo never
```

```bash name="show-token" role="verify"
echo "token is $SANDBOX_TOKEN"
```
"""
    v = verify(tmp_path, file_sandbox, INCIDENT, body)
    assert v.passed, v.message
    (case,) = v.cases
    assert [c.name for c in case.checks] == [
        "diagnosis detects worker-stuck",
        "inject scenario worker-stuck",
        "symptom of worker-stuck visible",
        "alert WorkerQueueBackedUp fires",
        "sandbox healthy after the runbook",
        "symptom of worker-stuck gone",
        "alert WorkerQueueBackedUp resolves",
    ]
    assert all(c.passed for c in case.checks)
    assert [(a.fired, a.resolved) for a in case.alerts] == [(True, True)]
    statuses = {s.name: s for s in case.steps}
    assert statuses["page-owner"].status is StepStatus.SKIPPED and "pages a human" in statuses["page-owner"].reason
    assert "tok-9f8e7d6c5b" not in statuses["show-token"].stdout and "***" in statuses["show-token"].stdout
    assert case.notebook == "notebooks/incidents/t.ipynb" and (tmp_path / "out" / case.notebook).is_file()
    assert file_sandbox.calls[:2] == ["reset", "inject worker-stuck"]


def test_wrong_command_names_step_line_status_and_fix(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = """
```bash name="check-version"
echo ok
```

```bash name="restart-worker"
dockre compose restart worker
```

```bash name="after"
echo never
```
"""
    v = verify(tmp_path, file_sandbox, "timeout: 20", body)
    assert not v.passed
    assert "step 'restart-worker' (runbooks/incidents/t.md:" in v.message
    assert "exit status 127, expected 0" in v.message
    assert "command: dockre compose restart worker" in v.message
    assert "fix: the command failed" in v.message
    steps = {s.name: s.status for s in v.cases[0].steps}
    assert steps == {"check-version": StepStatus.PASSED, "restart-worker": StepStatus.FAILED,
                     "after": StepStatus.NOT_RUN}


def test_unmet_output_expectation(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = """
```bash name="queue-depth" output="queue depth: [1-9]\\\\d*"
echo "queue depth: 0"
```
"""
    v = verify(tmp_path, file_sandbox, "timeout: 20", body)
    assert not v.passed
    assert "step 'queue-depth'" in v.message and "output did not match" in v.message
    assert "compare the output below with the regex" in v.message


def test_step_that_times_out(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = """
```bash name="wait-forever" timeout=1
sleep 30
```
"""
    v = verify(tmp_path, file_sandbox, "timeout: 20", body)
    assert not v.passed
    assert "step 'wait-forever'" in v.message and "timed out" in v.message
    assert "timeout of 1 s" in v.message
    assert v.cases[0].steps[0].status is StepStatus.TIMED_OUT
    assert v.duration < 20


def test_diagnosis_that_passes_on_a_healthy_sandbox_detects_nothing(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = """
```bash name="look-around" role="diagnose"
ls "$SANDBOX_STATE"
echo "looked"
```
""" + FIX_ALL
    v = verify(tmp_path, file_sandbox, INCIDENT, body)
    assert not v.passed
    assert "diagnosis does not detect scenario 'worker-stuck'" in v.message
    assert "'look-around'" in v.message and "also pass on a healthy sandbox" in v.message
    assert v.cases[0].run is None, "the steps must not run when the control already failed"
    assert "inject worker-stuck" not in file_sandbox.calls


def test_diagnosis_that_misses_the_injected_fault(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = """
```bash name="confirm-db-down" role="diagnose"
test -e "$SANDBOX_STATE/fault-db-down"
```
""" + FIX_ALL
    v = verify(tmp_path, file_sandbox, INCIDENT, body)
    assert not v.passed
    assert v.message.startswith("diagnosis did not detect scenario 'worker-stuck': step 'confirm-db-down'")


def test_scenario_without_a_diagnose_step(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    v = verify(tmp_path, file_sandbox, INCIDENT, FIX_ALL)
    assert not v.passed and 'no step has role="diagnose"' in v.message


def test_alert_that_never_resolves(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    body = DIAGNOSE_OK + """
```bash name="restart-worker" role="remediate"
rm -f "$SANDBOX_STATE/fault-worker-stuck"
```
"""
    v = verify(tmp_path, file_sandbox, INCIDENT, body)
    assert not v.passed
    assert "alert WorkerQueueBackedUp still firing" in v.message
    assert "remediation ('restart-worker') did not remove its cause" in v.message
    (case,) = v.cases
    assert [(a.name, a.fired, a.resolved) for a in case.alerts] == [("WorkerQueueBackedUp", True, False)]
    assert all(s.status is StepStatus.PASSED for s in case.steps), "the steps themselves passed"


def test_alert_that_never_fires(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    header = "scenario: quiet-fault\nalerts: [WorkerQueueBackedUp]\ntimeout: 20"
    body = """
```bash name="confirm" role="diagnose"
test -e "$SANDBOX_STATE/fault-quiet-fault"
```

```bash name="fix" role="remediate"
rm -f "$SANDBOX_STATE/fault-quiet-fault"
```
"""
    v = verify(tmp_path, file_sandbox, header, body)
    assert not v.passed
    assert "alert WorkerQueueBackedUp did not fire" in v.message and "quiet-fault" in v.message


def test_remediation_that_leaves_the_sandbox_unhealthy(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    header = "scenario: quiet-fault\ntimeout: 20"
    body = """
```bash name="confirm" role="diagnose"
test -e "$SANDBOX_STATE/fault-quiet-fault"
```

```bash name="fix" role="remediate"
echo "pretending to fix"
```
"""
    v = verify(tmp_path, file_sandbox, header, body)
    assert not v.passed
    assert "sandbox is not healthy" in v.message and "remediation ('fix')" in v.message


def test_each_case_runs_with_its_params_and_a_failing_case_is_named(tmp_path: Path, file_sandbox: FileSandbox) -> None:
    header = """
timeout: 20
params:
  VERSION: {help: version}
verify:
  - case: good
    params: {VERSION: "1.1.0"}
  - case: broken
    params: {VERSION: broken}
"""
    body = """
```bash name="deploy" output="^deployed 1\\\\."
echo "deployed $VERSION"
```
"""
    v = verify(tmp_path, file_sandbox, header, body, rid="deployment/d")
    assert [c.passed for c in v.cases] == [True, False]
    assert v.message.startswith("[broken] step 'deploy'")
    assert v.cases[1].params == (("VERSION", "broken"),)
    assert {c.notebook for c in v.cases} == {"notebooks/deployment/d--good.ipynb", "notebooks/deployment/d--broken.ipynb"}


def test_a_remediation_that_does_nothing_fails_even_where_the_sandbox_stays_healthy(tmp_path: Path) -> None:
    """A runaway process: every service answers, no alert is named, the runbook's own checks are
    lenient. Only the fault's symptom tells the no-op remediation from the real one."""
    sandbox = FileSandbox(tmp_path / "state", {"quiet-fault": set()}, healthy_despite=frozenset({"quiet-fault"}))
    header = "scenario: quiet-fault\ntimeout: 20"
    diagnose = """
```bash name="find-runaway" role="diagnose"
test -e "$SANDBOX_STATE/fault-quiet-fault"
```
"""
    no_op = diagnose + """
```bash name="kill-runaway" role="remediate"
echo "killed it (not really)"
```
"""
    v = verify(tmp_path, sandbox, header, no_op)
    assert not v.passed
    failed = [c for c in v.cases[0].checks if not c.passed]
    assert [c.name for c in failed] == ["symptom of quiet-fault gone"]
    assert "the symptom of scenario 'quiet-fault' is still there" in v.message
    assert "'kill-runaway'" in v.message

    real = diagnose + """
```bash name="kill-runaway" role="remediate"
rm "$SANDBOX_STATE/fault-quiet-fault"
```
"""
    assert verify(tmp_path, sandbox, header, real).passed


def test_each_case_proves_the_alerts_its_own_fault_fires(tmp_path: Path) -> None:
    sandbox = FileSandbox(tmp_path / "state", {"db-down": {"DatabaseConnectionLost", "HealthCheckFailing"},
                                               "app-down": {"ApplicationDown"}})
    header = """alerts: [ApplicationDown, DatabaseConnectionLost, HealthCheckFailing]
timeout: 20
verify:
  - case: app-process-down
    scenario: app-down
    alerts: [ApplicationDown]
  - case: database-down
    scenario: db-down
    alerts: [DatabaseConnectionLost, HealthCheckFailing]"""
    body = """
```bash name="which" role="diagnose"
ls "$SANDBOX_STATE" | grep -q '^fault-'
```

```bash name="fix" role="remediate"
rm -f "$SANDBOX_STATE"/fault-* "$SANDBOX_STATE"/alert-*
```
"""
    v = verify(tmp_path, sandbox, header, body)
    assert v.passed, v.message
    fired = {c.case: [(a.name, a.fired, a.resolved) for a in c.alerts] for c in v.cases}
    assert fired == {"app-process-down": [("ApplicationDown", True, True)],
                     "database-down": [("DatabaseConnectionLost", True, True), ("HealthCheckFailing", True, True)]}


def test_a_case_naming_an_alert_the_runbook_does_not_answer_is_a_format_error(tmp_path: Path) -> None:
    header = """alerts: [ApplicationDown]
verify:
  - case: db
    scenario: db-down
    alerts: [DatabaseConnectionLost]"""
    path = write_runbook(tmp_path, "incidents/t", header, "\n```bash name=\"x\"\ntrue\n```\n")
    with pytest.raises(RunbookFormatError) as raised:
        load_runbook(path, tmp_path / "runbooks")
    assert "verify case `db` names DatabaseConnectionLost" in str(raised.value)
    assert "t.md:" in str(raised.value)
