"""Fixtures of the verification tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.file_sandbox import FileSandbox


@pytest.fixture
def file_sandbox(tmp_path: Path) -> FileSandbox:
    return FileSandbox(tmp_path / "state", {"worker-stuck": {"WorkerQueueBackedUp"}, "quiet-fault": set()})
