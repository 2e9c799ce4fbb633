"""`make target-env TARGET=NAME`: a pipeline's secret becomes the target's env file, private,
without a value on the terminal (the deploy and backup workflows run it)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from opsbook.run.targets import read_env_file
from tests.support import REPO

SECRET = "s3cr3t-Pa55-for-the-test"


def _make(work: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (work / "scripts").mkdir(exist_ok=True)
    shutil.copy(REPO / "scripts" / "target-env.sh", work / "scripts" / "target-env.sh")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TARGET")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(work), "-f", str(REPO / "Makefile"),
                           "target-env", *args], capture_output=True, text=True, env={**clean, **env}, timeout=60)


def test_the_env_file_and_the_store_key_are_written_private_and_nothing_is_shown(tmp_path: Path) -> None:
    done = _make(tmp_path, "TARGET=production", TARGET_ENV=f"APP_URL=https://app.example.com\nAPP_DB_PASSWORD={SECRET}",
                 TARGET_SSH_KEY=f"-----BEGIN KEY-----\n{SECRET}-key\n-----END KEY-----")
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert SECRET not in shown and "wrote .env.production" in shown
    env_file = tmp_path / ".env.production"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = read_env_file(env_file)
    assert values["APP_DB_PASSWORD"] == SECRET and values["APP_URL"] == "https://app.example.com"
    key = Path(values["BACKUP_STORE_SSH_KEY"])
    assert key.read_text().startswith("-----BEGIN KEY-----") and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".env.production.*")), "no temporary file left"


def test_no_content_or_a_bad_name_writes_nothing_and_says_why(tmp_path: Path) -> None:
    empty = _make(tmp_path, "TARGET=production")
    assert empty.returncode != 0 and "TARGET_ENV is empty" in empty.stderr
    bad = _make(tmp_path, "TARGET=../etc", TARGET_ENV="A=b")
    assert bad.returncode != 0 and "give the target's name" in bad.stderr
    assert not list(tmp_path.glob(".env*"))
