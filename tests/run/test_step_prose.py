"""`opsbook run` shows a step's own prose with that step: after it passes, and its "If this step fails"
text when it fails, before the retry/skip/quit prompt; never under the next step's header."""

from __future__ import annotations

import pexpect
import pytest

from tests.support.project import Project, finished

pytestmark = pytest.mark.kernel

OSC_TITLE = "\x1b]0;pwned\x07"

RUNBOOK = f'''
    # Restart

    FIRST-INTRO before the first step.

    ```bash name="first"
    echo "first-""ran"
    ```

    FIRST-GOOD output is `first-ran`.

    **If this step fails** FIRST-FAILS-HELP.

    ## 2. Break

    SECOND-INTRO before the second step.

    ```bash name="second"
    echo "second-""ran"; exit 3
    ```

    Good output: none, this step always fails.

    **If this step fails** SECOND-FAILS-HELP{OSC_TITLE}: look at the logs.

    ## 3. Last

    THIRD-INTRO before the third step.

    ```bash name="third"
    echo "third-""ran"
    ```
'''


def spawn(project: Project, *args: str) -> pexpect.spawn:
    command = project.command(*args)
    return pexpect.spawn(command[0], command[1:], cwd=str(project.root), env=project.env(), encoding="utf-8",
                         timeout=60, dimensions=(40, 160))


def test_a_failed_step_shows_its_own_failure_text_before_the_prompt(project: Project) -> None:
    name = project.runbook("prose", RUNBOOK)
    rec = project.record()
    child = spawn(project, "run", name, "--target", "local", "--record-dir", str(rec))
    child.expect("FIRST-INTRO")
    child.expect("Run this step\\?")
    child.sendline("r")
    child.expect("first-ran")
    child.expect("FIRST-GOOD")  # the step's own prose, once it passed ...
    child.expect("Step 2/3")  # ... and before the next step's header
    child.expect("Run this step\\?")
    under_second = child.before
    assert "SECOND-INTRO" in under_second
    assert "FIRST-" not in under_second, "the first step's prose is shown under the second step's header"
    child.sendline("r")
    child.expect("second-ran")
    child.expect("exit 3")
    child.expect("retry/skip/quit")
    failure = child.before
    assert "SECOND-FAILS-HELP" in failure and "look at the logs" in failure
    assert "FIRST-FAILS-HELP" not in failure and "THIRD-INTRO" not in failure
    assert "]0;" not in failure and "pwned" not in failure, "an escape sequence from the runbook reached the terminal"
    child.sendline("s")
    child.expect("Step 3/3")
    child.expect("Run this step\\?")
    under_third = child.before
    assert "THIRD-INTRO" in under_third and "SECOND-" not in under_third
    child.sendline("r")
    child.expect("third-ran")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert {n: r["status"] for n, r in finished(rec).items()} == {"first": "passed", "second": "failed",
                                                                   "third": "passed"}


def test_without_a_terminal_the_failure_text_is_printed_after_the_failed_step(project: Project) -> None:
    name = project.runbook("prose-yes", RUNBOOK)
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(project.record()))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert out.index("second-ran") < out.index("SECOND-FAILS-HELP") < out.index("look at the logs")
    assert "FIRST-FAILS-HELP" not in out and "\x1b" not in out and "pwned" not in out
