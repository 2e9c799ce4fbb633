"""One real sandbox for the whole session (project opsbook-test), removed at the end.

Every test that needs the compose sandbox shares it, and so do the runbooks that `make test`
verifies (`--opsbook-project opsbook-test`): starting a second one costs a minute and doubles
the load on a small machine. A test leaves it as it found it (`sandbox.reset()` heals faults)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from opsbook.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """Brought up once (builds what is missing), torn down at the end unless
    OPSBOOK_KEEP_SANDBOX=1 (handy when iterating on a test)."""
    box = Sandbox(ROOT, os.environ.get("OPSBOOK_TEST_SANDBOX_PROJECT", "opsbook-test"))
    box.up(timeout=900, progress=False)
    try:
        yield box
    finally:
        if os.environ.get("OPSBOOK_KEEP_SANDBOX") != "1":
            box.down()


@pytest.fixture()
def shell_env(sandbox: Sandbox) -> dict[str, str]:
    """The environment a runbook step sees: the caller's plus `opsbook sandbox env`."""
    return {**os.environ, **sandbox.env()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the sandbox fixture must be marked `sandbox`: with several pytest-xdist
    workers (make test) the marked tests go to the worker that owns the sandbox, and another
    worker would start the same compose project a second time."""
    unmarked = [item.nodeid for item in items
                if "sandbox" in getattr(item, "fixturenames", ()) and item.get_closest_marker("sandbox") is None]
    if unmarked:
        raise pytest.UsageError("these tests use the sandbox fixture without the sandbox mark "
                                "(add pytestmark = pytest.mark.sandbox):\n  " + "\n  ".join(unmarked))
