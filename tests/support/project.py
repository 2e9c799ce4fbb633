"""A throw-away opsbook project, and `opsbook` run in it as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.support.runbooks import HEADER


@dataclass
class Project:
    root: Path

    def runbook(self, name: str, body: str, *, extra: str = "", title: str = "Test runbook") -> str:
        path = self.root / "runbooks" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER.format(title=title, extra=textwrap.indent(textwrap.dedent(extra), "  ")) + textwrap.dedent(body))
        return name

    def opsbook(self, *args: str, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=self.root, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", "from opsbook.cli.main import entry; entry()", *args]

    def env(self) -> dict[str, str]:
        return {**os.environ, "OPSBOOK_ROOT": str(self.root), "COLUMNS": "160", "LOCAL_ONLY_VAR": "from-target"}

    def record(self, name: str = "rec") -> Path:
        return self.root / name


def events(record: Path) -> list[dict]:
    return [json.loads(line) for line in (record / "events.jsonl").read_text().splitlines() if line.strip()]


def finished(record: Path) -> dict[str, dict]:
    """Step name → last StepFinished result in the record."""
    out: dict[str, dict] = {}
    for e in events(record):
        if e["event"] == "step_finished":
            out[e["result"]["name"]] = e["result"]
    return out
