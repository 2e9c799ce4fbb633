"""Portable state: saved atomically without secrets, and a new session resumes from it."""

from __future__ import annotations

import os
import stat

import pytest

from opsbook.errors import UsageError

pytestmark = pytest.mark.kernel


def test_save_state_leaves_out_secrets_and_the_unchanged_environment(make_session, tmp_path) -> None:
    env = {**os.environ, "API_TOKEN": "from-env-secret", "REGION": "eu-west-1"}
    session = make_session(env=env, secret_names=("API_TOKEN", "DB_PASSWORD"))
    step = "export DB_PASSWORD=s3cret-value; API_TOKEN=changed-secret; RELEASE=v42; helper() { echo help; }; cd /tmp"
    assert session.run(step, timeout=30).exit_status == 0
    dest = tmp_path / "records" / "state.sh"
    session.save_state(dest)
    text = dest.read_text()
    assert "s3cret-value" not in text and "changed-secret" not in text and "from-env-secret" not in text
    assert 'RELEASE="v42"' in text and "helper ()" in text and "/tmp" in text
    assert "REGION" not in text and "HOME=" not in text  # unchanged environment is not copied
    assert stat.S_IMODE(dest.stat().st_mode) & 0o077 == 0
    assert [p.name for p in dest.parent.iterdir()] == ["state.sh"]  # no temporary file left


def test_a_new_session_resumes_from_a_saved_state(make_session, tmp_path) -> None:
    first = make_session(env={**os.environ, "GONE": "x"})
    first.run("RELEASE=v42; declare -a HOSTS=(a b); greet() { echo hi $1; }; unset GONE; cd /tmp", timeout=30)
    saved = tmp_path / "state.sh"
    first.save_state(saved)
    first.shutdown()
    resumed = make_session(env={**os.environ, "GONE": "x", "NEW_RUN": "1"}, restore_state=saved)
    result = resumed.run('echo "$RELEASE ${HOSTS[1]} ${GONE-unset} $NEW_RUN $PWD"; greet you', timeout=30)
    assert result.stdout == "v42 b unset 1 /tmp\nhi you\n"


def test_resuming_from_a_missing_state_is_a_usage_error(make_session, tmp_path) -> None:
    with pytest.raises(UsageError):
        make_session(restore_state=tmp_path / "nope.sh")
