"""`opsbook run` at a terminal (a real pty): the prompts an on-call engineer answers."""

from __future__ import annotations

import pexpect
import pytest

from tests.support.project import Project, finished

pytestmark = pytest.mark.kernel

RUNBOOK = '''
    Why: check first.

    ```bash name="first"
    echo "hello-""first"; X=kept
    ```

    ```bash name="waits"
    echo "step-is-""running"; sleep 60; echo never
    ```

    ```bash name="drop" destructive=true
    echo "dropping with $X"
    ```
'''


def spawn(project: Project, *args: str) -> pexpect.spawn:
    command = project.command(*args)
    return pexpect.spawn(command[0], command[1:], cwd=str(project.root), env=project.env(), encoding="utf-8",
                         timeout=60, dimensions=(40, 160))


def test_run_skip_retry_quit_and_typed_confirmation(project: Project) -> None:
    name = project.runbook("interactive", RUNBOOK)
    rec = project.record()
    child = spawn(project, "run", name, "--target", "local", "--record-dir", str(rec))
    child.expect("Why: check first")
    child.expect("Run this step\\?")
    child.sendline("r")
    child.expect("hello-first")
    child.expect("Run this step\\?")
    child.sendline("")  # the default is run
    child.expect("step-is-running")  # the output, not the echoed command
    child.sendintr()  # Ctrl-C interrupts the step, not opsbook
    child.expect("interrupted")
    child.expect("retry/skip/quit")
    child.sendline("s")
    child.expect("Run this step\\?")
    child.sendline("r")
    child.expect("Type the target name \\(local\\)")
    child.sendline("wrong")
    child.expect("not confirmed")
    child.expect("retry/skip/quit")
    child.sendline("r")
    child.expect("Type the target name")
    child.sendline("local")
    child.expect("dropping with kept")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, "an interrupted step makes the run interrupted"
    statuses = {n: r["status"] for n, r in finished(rec).items()}
    assert statuses == {"first": "passed", "waits": "interrupted", "drop": "passed"}


def test_second_ctrl_c_quits_with_the_record_written(project: Project) -> None:
    name = project.runbook("twice", RUNBOOK)
    rec = project.record()
    child = spawn(project, "run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    child.expect("step-is-running")  # the output, not the echoed command
    child.sendintr()
    child.expect("retry/skip/quit")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    statuses = {n: r["status"] for n, r in finished(rec).items()}
    assert statuses == {"first": "passed", "waits": "interrupted", "drop": "not_run"}
    assert "not run" in (rec / "transcript.md").read_text()


def test_quit_before_a_step_records_the_rest_as_not_run(project: Project) -> None:
    name = project.runbook("quit", RUNBOOK)
    rec = project.record()
    child = spawn(project, "run", name, "--target", "local", "--record-dir", str(rec))
    child.expect("Run this step\\?")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert {r["status"] for r in finished(rec).values()} == {"not_run"}
