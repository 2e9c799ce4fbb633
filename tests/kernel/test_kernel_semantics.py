"""What a step means: errexit and pipefail, exit status, state across steps, closed stdin."""

from __future__ import annotations

import time

import pytest

from opsbook.run.session import KernelSession

pytestmark = pytest.mark.kernel


def test_a_failing_command_fails_the_step_even_if_a_later_one_succeeds(session: KernelSession) -> None:
    result = session.run("false; echo not reached; true", timeout=30)
    assert result.exit_status == 1
    assert "not reached" not in result.stdout


def test_a_failing_command_early_in_a_pipeline_fails_the_step(session: KernelSession) -> None:
    assert session.run("false | true", timeout=30).exit_status == 1
    assert session.run("(exit 7) | cat", timeout=30).exit_status == 7


def test_the_real_exit_status_is_reported(session: KernelSession) -> None:
    assert session.run("true", timeout=30).exit_status == 0
    assert session.run("exit 3", timeout=30).exit_status == 3
    assert session.run("ls /no/such/dir", timeout=30).exit_status == 2
    assert session.run("no-such-command-opsbook", timeout=30).exit_status == 127


def test_exit_fails_the_step_and_keeps_the_state_of_earlier_steps(session: KernelSession) -> None:
    session.run("EARLIER=kept", timeout=30)
    result = session.run("echo before; BEFORE_EXIT=also-kept; exit 3; AFTER_EXIT=never", timeout=30)
    assert (result.exit_status, result.stdout) == (3, "before\n")
    after = session.run('echo "$EARLIER $BEFORE_EXIT ${AFTER_EXIT-unset}"', timeout=30)
    assert after.stdout == "kept also-kept unset\n"


def test_a_failed_step_keeps_the_state_it_had_when_it_stopped(session: KernelSession) -> None:
    session.run("cd /; HALF=done; false; REST=never", timeout=30)
    after = session.run('echo "$PWD $HALF ${REST-unset}"', timeout=30)
    assert after.stdout == "/ done unset\n"


def test_variables_directory_and_functions_carry_over(session: KernelSession, tmp_path) -> None:
    (tmp_path / "work").mkdir()
    setup = """
PLAIN='two words'
export EXPORTED=exported-value
declare -a LIST=(a 'b c' d)
declare -A MAP=([key]=value)
declare -i COUNT=41
MULTILINE=$'line one\\nline "two" $not_expanded'
greet() { echo "hello $1"; }
shout() { echo "LOUD $1"; }
export -f shout
cd work
"""
    assert session.run(setup, timeout=30).exit_status == 0
    check = """
echo "$PLAIN|$EXPORTED|${LIST[1]}|${MAP[key]}|$((COUNT + 1))"
printf '%s\\n' "$MULTILINE"
greet world
bash -c 'echo "child sees $EXPORTED and ${PLAIN:-no plain}"; shout child'
pwd
"""
    result = session.run(check, timeout=30)
    assert result.exit_status == 0, result.stderr
    assert result.stdout.splitlines() == [
        "two words|exported-value|b c|value|42",
        "line one",
        'line "two" $not_expanded',
        "hello world",
        "child sees exported-value and no plain",
        "LOUD child",
        str(tmp_path / "work"),
    ]


def test_unset_and_unexported_variables_stay_that_way(make_session) -> None:
    session = make_session(env={"PATH": "/usr/bin:/bin", "FROM_ENV": "1", "TO_UNEXPORT": "2"})
    session.run("unset FROM_ENV; export -n TO_UNEXPORT", timeout=30)
    result = session.run('echo "${FROM_ENV-unset} $TO_UNEXPORT"; env | grep -c "^TO_UNEXPORT=" || true', timeout=30)
    assert result.stdout == "unset 2\n0\n"


def test_the_steps_own_exit_trap_runs_and_the_state_is_still_saved(session: KernelSession) -> None:
    result = session.run("trap 'echo cleanup ran' EXIT; SAVED=yes; false", timeout=30)
    assert (result.exit_status, result.stdout) == (1, "cleanup ran\n")
    assert session.run('echo "$SAVED"', timeout=30).stdout == "yes\n"


def test_every_step_starts_with_errexit_and_pipefail_again(session: KernelSession) -> None:
    session.run("set +e +o pipefail", timeout=30)
    assert session.run("false; true", timeout=30).exit_status == 1


def test_a_syntax_error_fails_the_step_with_a_message(session: KernelSession) -> None:
    result = session.run("echo ok\nif then fi", timeout=30)
    assert result.exit_status == 2
    assert "syntax error" in result.stderr


def test_stdin_is_closed(session: KernelSession) -> None:
    started = time.monotonic()
    read = session.run("read line", timeout=60)
    cat = session.run("cat; echo cat-returned", timeout=60)
    assert read.exit_status == 1
    assert (cat.exit_status, cat.stdout) == (0, "cat-returned\n")
    assert time.monotonic() - started < 10
    assert not read.timed_out and not cat.timed_out


def test_a_directory_that_disappeared_fails_the_next_step_instead_of_running_elsewhere(session, tmp_path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    session.run(f"cd {gone}", timeout=30)
    gone.rmdir()
    result = session.run("echo ran; touch marker-file", timeout=30)
    assert result.exit_status == 1
    assert "working directory of the previous step is gone" in result.stderr
    assert result.stdout == "" and not (tmp_path / "marker-file").exists()
