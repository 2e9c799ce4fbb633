"""Find the compose command of this machine: v2 (`docker compose`) when present, else v1."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, Sequence

from opsbook.errors import SandboxError

Probe = Callable[[Sequence[str]], "str | None"]


@dataclass(frozen=True)
class ComposeCommand:
    """The argv prefix that runs compose, and which major version it is."""

    argv: tuple[str, ...]
    version: str

    @property
    def major(self) -> int:
        return 2 if self.argv[:2] == ("docker", "compose") else 1

    def __str__(self) -> str:  # what goes into $COMPOSE
        return " ".join(self.argv)


def run_probe(argv: Sequence[str]) -> str | None:
    """Output of `argv` if it exists and exits 0, else None."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def detect_compose(probe: Probe = run_probe, override: str | None = None) -> ComposeCommand:
    """v2 plugin first (`docker compose version`), then v1 (`docker-compose version`).

    `override` (OPSBOOK_COMPOSE, e.g. "docker-compose") pins one; it must work.
    """
    candidates: list[tuple[str, ...]] = [("docker", "compose"), ("docker-compose",)]
    if override:
        candidates = [tuple(override.split())]
    for argv in candidates:
        out = probe([*argv, "version", "--short"])
        if out is not None:
            return ComposeCommand(argv=argv, version=out.splitlines()[0].strip().lstrip("v") if out else "unknown")
    if override:
        raise SandboxError(f"OPSBOOK_COMPOSE={override!r} does not run (`{override} version` failed)")
    raise SandboxError("docker compose is not installed: neither `docker compose` (v2) nor `docker-compose` (v1) "
                       "runs. Install it with scripts/setup-host.sh (Debian: apt-get install docker-compose)")


_detected: ComposeCommand | None = None


def compose_command() -> ComposeCommand:
    """Detected once per process (each probe starts a process)."""
    global _detected
    if _detected is None:
        _detected = detect_compose(override=os.environ.get("OPSBOOK_COMPOSE") or None)
    return _detected
