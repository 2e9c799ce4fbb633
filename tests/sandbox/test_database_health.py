"""The database health check finds what it claims to (its healthy case is verified with the
library): a transaction left open, and a WAL archive that stopped. And the backup script's
retention deletes what is old beyond the newest it must keep, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opsbook.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
HEALTH = "runbooks/database/health-check.md"


def run_step(sandbox: Sandbox, tmp_path: Path, step: str, *params: str) -> subprocess.CompletedProcess[str]:
    args = [*OPSBOOK, "run", HEALTH, "--step", step, "--yes", "--project", sandbox.project,
            "--record-dir", str(tmp_path / step)]
    for param in params:
        args += ["--param", param]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-XAtc", sql], capture_output=True, text=True, check=True, timeout=30).stdout


@pytest.mark.sandbox
def test_the_health_check_names_an_open_transaction_and_a_stalled_archive(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    env = sandbox.env()
    assert run_step(sandbox, tmp_path, "archiving-and-replication").returncode == 0
    sandbox.inject("lock-chain")
    store = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={sandbox.project}",
                            "--filter", "label=com.docker.compose.service=backup-store"],
                           capture_output=True, text=True, check=True).stdout.split()
    try:
        subprocess.run(["docker", "stop", "--time", "1", *store], capture_output=True, check=True, timeout=60)
        time.sleep(3)
        held = run_step(sandbox, tmp_path, "long-transactions", "LONG_TRANSACTION_SECONDS=2")
        assert held.returncode != 0, held.stdout
        assert "idle in transaction" in held.stdout and "UPDATE agents" in held.stdout, held.stdout
        # The next segment (closed now, instead of at archive_timeout) cannot reach the store: the
        # archiver says so.
        psql(env["DATABASE_ADMIN_URL"], "select pg_switch_wal()")
        deadline = time.monotonic() + 30
        while psql(env["DATABASE_ADMIN_URL"], "select coalesce(last_failed_time > coalesce(last_archived_time,"
                   " '-infinity'), false) from pg_stat_archiver").strip() != "t":
            assert time.monotonic() < deadline, "archive_command never failed with the store stopped"
            time.sleep(1)
        stalled = run_step(sandbox, tmp_path, "archiving-and-replication")
        assert stalled.returncode != 0 and "archiving: failing" in stalled.stdout, stalled.stdout
    finally:
        subprocess.run(["docker", "start", *store], capture_output=True, timeout=60)
        sandbox.reset()
    # Once the store is back, the archiver catches up on its own: nothing is lost.
    deadline = time.monotonic() + 60
    while run_step(sandbox, tmp_path, "archiving-and-replication").returncode != 0:
        assert time.monotonic() < deadline, "archiving did not recover once the store was back"
        time.sleep(2)


@pytest.mark.sandbox
def test_the_backup_cleanup_deletes_old_backups_beyond_the_newest_three(sandbox: Sandbox, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    ages = {"opsbook-20261202T020000Z.dump": 1, "opsbook-20261123T020000Z.dump": 10,
            "opsbook-20261122T020000Z.dump": 11, "opsbook-20261121T020000Z.dump": 12,
            "opsbook-20261120T020000Z.dump": 13, "other-20261101T020000Z.dump": 30}
    now = time.time()
    for name, days in ages.items():
        for path in (folder / name, folder / f"{name}.counts"):
            path.write_text("an older backup\n")
            os.utime(path, (now - days * 86400, now - days * 86400))
    done = subprocess.run(["scripts/backup-database.sh", "-d", str(folder), "-r", "7", "-k", "3"], cwd=ROOT,
                          env={**os.environ, **sandbox.env()}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    deleted = sorted(line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("deleted"))
    # Kept: the new one and the next two newest (1 and 10 days old, the 10-day one past the limit but
    # among the three kept); deleted: the older ones of this database; another database's: untouched.
    assert deleted == ["opsbook-20261120T020000Z.dump", "opsbook-20261121T020000Z.dump",
                       "opsbook-20261122T020000Z.dump"], done.stdout
    left = sorted(p.name for p in folder.iterdir())
    new = [n for n in left if n.endswith(".dump") and n not in ages]
    assert len(new) == 1
    assert left == sorted([new[0], f"{new[0]}.counts", "opsbook-20261202T020000Z.dump",
                           "opsbook-20261202T020000Z.dump.counts", "opsbook-20261123T020000Z.dump",
                           "opsbook-20261123T020000Z.dump.counts", "other-20261101T020000Z.dump",
                           "other-20261101T020000Z.dump.counts"])
    assert "backups kept: 3" in done.stdout and "deleted: 3" in done.stdout
