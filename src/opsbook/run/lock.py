"""One run at a time of a runbook on a target outside the sandbox: a lock file that names its holder.

The lock is an `flock` on `<lock dir>/<target>--<runbook>.lock`, so it is released when the
holding process ends, however it ends; the file keeps who holds it (user, host, pid, start time,
record) so that a refused operator knows whom to ask. The lock folder is `.opsbook/locks` in the
project, or `$OPSBOOK_LOCK_DIR` (point it at a shared folder on a bastion host). The sandbox is
never locked: verification shards each have their own.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from opsbook.errors import UsageError


@dataclass(frozen=True)
class Holder:
    """Who runs a runbook on a target, as the lock file says."""

    user: str
    host: str
    pid: int
    started_at: str
    record: str
    runbook: str
    target: str

    def describe(self) -> str:
        return (f"{self.user}@{self.host} (pid {self.pid}) since {self.started_at}, "
                f"record {self.record or 'none'}")


class RunLocked(UsageError):
    """Another run of the same runbook holds the target."""

    def __init__(self, holder: Holder | None, path: Path) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another opsbook process (its lock file names nobody)"
        super().__init__(f"{path.stem.replace('--', ' on ', 1)}: already running by {who}. Wait for it, or "
                         "coordinate and take over with --break-lock (recorded in the transcript)")


def lock_dir(root: Path) -> Path:
    return Path(os.environ.get("OPSBOOK_LOCK_DIR") or Path(root) / ".opsbook" / "locks")


class TargetLock:
    """Hold the target for one run: `with TargetLock(...) as lock:`; `lock.broken` names an overridden holder."""

    def __init__(self, directory: Path, holder: Holder, *, break_lock: bool = False) -> None:
        self.holder = holder
        self.break_lock = break_lock
        name = f"{holder.target}--{holder.runbook.replace('/', '-')}.lock"
        self.path = Path(directory) / name
        self.broken: Holder | None = None
        self._file: IO[str] | None = None

    def __enter__(self) -> TargetLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            current = _read_holder(handle)
            handle.close()
            if not self.break_lock:
                raise RunLocked(current, self.path) from None
            self.broken = current  # run without the lock: the holder keeps it, the record says so
            return self
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(self.holder)) + "\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def current_holder(user: str, started_at: str, record: Path | None, runbook: str, target: str) -> Holder:
    return Holder(user=user, host=socket.gethostname(), pid=os.getpid(), started_at=started_at,
                  record=str(record or ""), runbook=runbook, target=target)


def _read_holder(handle: IO[str]) -> Holder | None:
    try:
        handle.seek(0)
        data = json.loads(handle.read() or "null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None
