"""`opsbook run` end to end with a real kernel: exit codes, options, records, masking, safety."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from tests.support.project import Project, events, finished

pytestmark = pytest.mark.kernel


def ps_has(marker: str) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any(marker in line and "ps -eo" not in line for line in out.splitlines())


def test_passing_run_writes_a_complete_record(project: Project) -> None:
    name = project.runbook("ok", '''
        Prose before.

        ```bash name="first"
        GREETING=hello
        echo "$GREETING from $LOCAL_ONLY_VAR"
        ```

        ```bash name="second" output="^hello again$"
        echo "$GREETING again"
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {n: r["status"] for n, r in finished(rec).items()} == {"first": "passed", "second": "passed"}
    transcript = (rec / "transcript.md").read_text()
    assert "hello from from-target" in transcript and "echo \"$GREETING again\"" in transcript
    notebook = nbformat.read(rec / "executed.ipynb", as_version=4)
    nbformat.validate(notebook)
    outputs = [o["text"] for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs == ["hello from from-target\n", "hello again\n"]


def test_failure_stops_the_run_and_later_steps_are_not_run(project: Project) -> None:
    name = project.runbook("fail", '''
        ```bash name="breaks"
        echo before
        false | true
        echo never
        ```

        ```bash name="after"
        echo should not run
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 1
    results = finished(rec)
    assert results["breaks"]["status"] == "failed" and results["breaks"]["exit_status"] == 1
    assert "never" not in results["breaks"]["stdout"]
    assert results["after"]["status"] == "not_run"
    assert "should not run" not in (rec / "transcript.md").read_text().split("```bash")[0]
    assert "not run" in (rec / "transcript.md").read_text()


def test_expect_output_and_not_output_are_enforced(project: Project) -> None:
    name = project.runbook("expect", '''
        ```bash name="exits-three" expect=3
        exit 3
        ```

        ```bash name="state-survives" output="^kept$"
        echo kept
        ```

        ```bash name="forbidden" not_output="ERROR"
        echo "all fine"; echo "ERROR: disk full" >&2
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 1
    results = finished(rec)
    assert results["exits-three"]["status"] == "passed" and results["exits-three"]["exit_status"] == 3
    assert results["forbidden"]["status"] == "failed"
    assert "not_output=/ERROR/: ERROR: disk full" in results["forbidden"]["reason"]
    assert results["forbidden"]["stderr"] == "ERROR: disk full\n" and results["forbidden"]["stdout"] == "all fine\n"


def test_timeout_kills_the_whole_process_group(project: Project) -> None:
    name = project.runbook("slow", '''
        ```bash name="hangs" timeout=2
        sleep 600.4242 &
        sleep 600.4343
        ```
    ''')
    rec = project.record()
    started = time.monotonic()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 1
    assert time.monotonic() - started < 60
    result = finished(rec)["hangs"]
    assert result["status"] == "timed_out" and "timed out after 2 s" in result["reason"]
    time.sleep(0.5)
    assert not ps_has("sleep 600.4242") and not ps_has("sleep 600.4343")


def test_retry_runs_until_it_passes(project: Project) -> None:
    name = project.runbook("retry", '''
        ```bash name="flaky" retry={"attempts": 4, "delay": 0.2}
        n=$(cat counter 2>/dev/null || echo 0); echo $((n+1)) > counter
        echo "attempt $((n+1))"
        [ "$((n+1))" -ge 3 ]
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout
    result = finished(rec)["flaky"]
    assert result["status"] == "passed" and result["attempts"] == 3
    starts = [e for e in events(rec) if e["event"] == "step_started"]
    assert [e["attempt"] for e in starts] == [1, 2, 3]


def test_secrets_are_masked_everywhere(project: Project) -> None:
    secret = "s3cr3t-value-for-test"
    name = project.runbook("secret", '''
        ```bash name="leaks"
        echo "token=$TOKEN"
        printf '%s' "$TOKEN" | base64
        echo "target secret: $LOCAL_SECRET"
        ```
    ''', extra='''
        params:
          TOKEN: {help: "api token", secret: true}
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--param", f"TOKEN={secret}",
                           "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout
    b64 = base64.b64encode(secret.encode()).decode()
    for text in (done.stdout, done.stderr, *(p.read_text() for p in rec.iterdir() if p.is_file())):
        assert secret not in text and b64 not in text and "hunter2-local-secret" not in text
    assert "token=***" in (rec / "transcript.md").read_text()


def test_destructive_step_outside_the_sandbox_fails_closed_without_a_terminal(project: Project) -> None:
    name = project.runbook("destroy", '''
        ```bash name="drop-everything" destructive=true
        touch dropped
        ```
    ''')
    rec = project.record()
    done = project.opsbook("run", name, "--target", "local", "--yes", "--record-dir", str(rec))
    assert done.returncode == 1
    assert not (project.root / "dropped").exists()
    assert "no terminal: refused" in finished(rec)["drop-everything"]["reason"]


def test_target_asking_for_confirmation_refuses_without_a_terminal(project: Project) -> None:
    name = project.runbook("guarded", '''
        ```bash name="anything"
        touch ran
        ```
    ''')
    done = project.opsbook("run", name, "--target", "guarded", "--yes", "--record-dir", str(project.record()))
    assert done.returncode == 2 and "asks for confirmation" in done.stderr
    assert not (project.root / "ran").exists()


def test_step_and_from_select_steps(project: Project) -> None:
    name = project.runbook("select", '''
        ```bash name="one"
        echo one
        ```

        ```bash name="two"
        echo two
        ```

        ```bash name="three"
        echo three
        ```
    ''')
    rec = project.record("only")
    assert project.opsbook("run", name, "--target", "local", "--yes", "--step", "two", "--record-dir", str(rec)).returncode == 0
    assert {n: r["status"] for n, r in finished(rec).items()} == {"one": "skipped", "two": "passed", "three": "skipped"}
    rec = project.record("from")
    assert project.opsbook("run", name, "--target", "local", "--yes", "--from", "two", "--record-dir", str(rec)).returncode == 0
    assert {n: r["status"] for n, r in finished(rec).items()} == {"one": "skipped", "two": "passed", "three": "passed"}
    bad = project.opsbook("run", name, "--target", "local", "--yes", "--step", "nine")
    assert bad.returncode == 2 and "no such step" in bad.stderr


def test_resume_continues_with_shell_state_but_not_secrets(project: Project) -> None:
    name = project.runbook("resume", '''
        ```bash name="prepare"
        export PREPARED=yes-prepared
        cd sub
        remember() { echo "function kept"; }
        echo "token is $TOKEN"
        ```

        ```bash name="needs-flag"
        test -f ../flag
        ```

        ```bash name="uses-state" output="yes-prepared in .*/sub"
        echo "$PREPARED in $(pwd)"; remember; echo "token still $TOKEN"
        ```
    ''', extra='''
        params:
          TOKEN: {help: "api token", secret: true}
    ''')
    (project.root / "sub").mkdir()
    rec = project.record()
    first = project.opsbook("run", name, "--target", "local", "--yes", "--param", "TOKEN=first-token-value",
                            "--record-dir", str(rec))
    assert first.returncode == 1
    assert "first-token-value" not in (rec / "state.sh").read_text()
    (project.root / "flag").write_text("")
    missing = project.opsbook("run", name, "--target", "local", "--yes", "--resume", str(rec))
    assert missing.returncode == 2 and "TOKEN" in missing.stderr, "secret params must be given again"
    second = project.opsbook("run", name, "--target", "local", "--yes", "--resume", str(rec),
                             "--param", "TOKEN=second-token-value")
    assert second.returncode == 0, second.stdout + second.stderr
    results = finished(rec)
    assert results["uses-state"]["status"] == "passed"
    assert "function kept" in results["uses-state"]["stdout"]
    sessions = [e for e in events(rec) if e["event"] == "run_started"]
    assert len(sessions) == 2, "the resumed run appends to the same record"
    starts = [e["name"] for e in events(rec) if e["event"] == "step_started"]
    assert starts.count("prepare") == 1, "steps that passed are not run again"


def test_killing_opsbook_mid_step_leaves_a_valid_record(project: Project) -> None:
    name = project.runbook("killed", '''
        ```bash name="done-first"
        echo finished step
        ```

        ```bash name="long"
        echo started long; sleep 30
        ```
    ''')
    rec = project.record()
    proc = subprocess.Popen(project.command("run", name, "--target", "local", "--yes", "--record-dir", str(rec)),
                            cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (rec / "events.jsonl").exists() and "started long" in (rec / "events.jsonl").read_text():
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert finished(rec)["done-first"]["status"] == "passed"
    transcript = (rec / "transcript.md").read_text()
    assert "finished step" in transcript and "long" in transcript
    nbformat.validate(nbformat.read(rec / "executed.ipynb", as_version=4))


def test_ctrl_c_interrupts_the_step_and_exits_130(project: Project) -> None:
    name = project.runbook("interrupt", '''
        ```bash name="waits"
        echo waiting; sleep 600.5151
        ```

        ```bash name="later"
        echo later
        ```
    ''')
    rec = project.record()
    proc = subprocess.Popen(project.command("run", name, "--target", "local", "--yes", "--record-dir", str(rec)),
                            cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ps_has("sleep 600.5151"):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole foreground group
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    results = finished(rec)
    assert results["waits"]["status"] == "interrupted" and results["later"]["status"] == "not_run"
    assert not ps_has("sleep 600.5151")
