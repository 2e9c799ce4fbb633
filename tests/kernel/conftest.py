"""Fixtures for tests that start real opsbook kernels through KernelSession / nbclient."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbook.run.session import KernelSession

KILL_GRACE = 1.0


@pytest.fixture
def make_session(tmp_path: Path) -> Iterator[Callable[..., KernelSession]]:
    """Start sessions (shut down after the test); keyword arguments go to KernelSession."""
    sessions: list[KernelSession] = []

    def make(**kwargs: Any) -> KernelSession:
        kwargs.setdefault("env", dict(os.environ))
        kwargs.setdefault("cwd", tmp_path)
        kwargs.setdefault("kill_grace", KILL_GRACE)
        session = KernelSession(**kwargs)
        session.start()
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.shutdown()


@pytest.fixture
def session(make_session: Callable[..., KernelSession]) -> KernelSession:
    return make_session()


@pytest.fixture
def marker() -> str:
    """A unique process name: `exec -a MARKER sleep 600` makes it findable with ps."""
    return f"opsbook-test-{uuid.uuid4().hex[:12]}"


def processes_named(marker: str) -> list[str]:
    """Command lines of live (non-zombie) processes whose command line contains marker."""
    out = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if marker in line and not line.lstrip().startswith("Z")]


def kernel_pid(session: KernelSession) -> int:
    pid = session._kernel_pid
    assert pid is not None
    return pid
